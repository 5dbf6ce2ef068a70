"""`eudoxus bench sr`: built-in cases, external case files, JSON report, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from eudoxus.agent.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_builtin_cases_write_table_and_json(capsys, tmp_path: Path) -> None:
    target = tmp_path / "bench.json"
    code, out, err = run_cli(capsys, "bench", "sr", "--families", "poly1,cos", "--n", "2",
                             "--json", str(target))
    assert code == 0 and "poly1" in out and "% correct" in out and "sympy.integrate" in err
    document = json.loads(target.read_text())
    assert {"config", "truth", "families", "totals", "cases"} <= set(document)
    assert len(document["cases"]) == 4
    case = document["cases"][0]
    assert {"id", "family", "engine", "recovered", "correct", "approx_correct", "seconds",
            "truth_source"} <= set(case)
    assert case["truth_source"] == "cas"
    totals = {t["family"]: t for t in document["totals"]}
    assert totals["all"]["n"] == 4 and totals["all"]["pct_correct"] == 100.0


def test_case_file_round_trip(capsys, tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        '{"id": "s1", "family": "sin", "f": "2.5*sin(1.3*x) + 4", '
        '"g": "-2.5/1.3*cos(1.3*x) + 4*x + 2.5/1.3"}\n'
        "\n"
        '{"id": "q1", "family": "mine", "f": "3*x^2"}\n'
    )
    target = tmp_path / "out.json"
    code, out, err = run_cli(capsys, "bench", "sr", "--cases", str(cases), "--json", str(target))
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(target.read_text())["cases"]}
    assert rows["s1"]["truth_source"] == "case-file" and rows["s1"]["correct"] is True
    # Without g: judged against a high-accuracy numeric integral, approximate verdict only.
    assert rows["q1"]["truth_source"] == "numeric" and rows["q1"]["correct"] is None
    assert rows["q1"]["approx_correct"] is True and rows["q1"]["recovered"] == "x**3"


def test_malformed_case_lines_name_the_line(capsys, tmp_path: Path) -> None:
    for body, expected in (
        ('{"id": "a", "f": "x"}\nnot json\n', ":2:"),
        ('{"id": "a", "f": "__import__(\'os\')"}\n', ":1:"),
        ('{"f": "x"}\n', ":1:"),
    ):
        cases = tmp_path / "bad.jsonl"
        cases.write_text(body)
        code, out, err = run_cli(capsys, "bench", "sr", "--cases", str(cases))
        assert code == 2 and out == "" and expected in err
        assert len(err.strip().splitlines()) == 1


def test_unknown_engine_and_integrator_are_bad_input(capsys) -> None:
    assert run_cli(capsys, "bench", "sr", "--engine", "nope")[0] == 2
    assert run_cli(capsys, "bench", "sr", "--integrator", "nope")[0] == 2
