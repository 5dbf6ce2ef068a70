"""The `eudoxus` command line: outputs, stdout/stderr split and exit codes."""

from __future__ import annotations

import json

import pytest

from eudoxus.agent.cli import main
from eudoxus.memory import Lab, Store
from tests.conftest import campaign_holding_lock


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def filled_lab(lab: Lab) -> Lab:
    with Store.open(lab) as store:
        store.start_run("r1", seed=3, config={"preset": "paper"})
        family = store.upsert_family("exp", template="a4*exp(a3*x) + a0",
                                     parameters=["a0", "a3", "a4"], ranges={})
        hypothesis = store.add_hypothesis("r1", kind="form", statement="c0*exp(c1*x)+c2*x+c3",
                                          family_id=family.family_id)
        store.add_evidence(hypothesis.hypothesis_id, "regression", 2, predictor=["a4/a3", "a4"],
                           r2=[0.999, 0.41], slope=[1.0, 0.2], intercept=[0.0, 1.0])
        store.add_rule(kind="form", integrand="a4*exp(a3*x) + a0",
                       statement="a4/a3*exp(a3*x) + a0*x - a4/a3",
                       latex=r"\frac{a_{4} e^{a_{3} x}}{a_{3}} + a_{0} x - \frac{a_{4}}{a_{3}}",
                       srepr="...", run_id="r1", hypothesis_id=hypothesis.hypothesis_id,
                       family_id=family.family_id, conditions=["a3 != 0"], n_falsification=40,
                       max_error=2e-7, audit_passed=True)
    return lab


def test_version(capsys) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith("eudoxus ")


def test_db_path_follows_home_option_and_environment(capsys, lab, monkeypatch, tmp_path) -> None:
    code, out, _ = run_cli(capsys, "db", "path", "--home", str(lab.home))
    assert code == 0 and out.strip() == str(lab.db_path)
    code, out, _ = run_cli(capsys, "--home", str(lab.home), "db", "path")
    assert out.strip() == str(lab.db_path)
    monkeypatch.setenv("EUDOXUS_HOME", str(tmp_path / "env-lab"))
    code, out, _ = run_cli(capsys, "db", "path")
    assert out.strip() == str(tmp_path / "env-lab" / "eudoxus.duckdb")


def test_empty_store_works_and_says_so(capsys, lab) -> None:
    code, out, err = run_cli(capsys, "rules", "list", "--home", str(lab.home))
    assert code == 0 and out == "" and "No rules discovered yet" in err
    code, out, err = run_cli(capsys, "rules", "list", "--json", "--home", str(lab.home))
    assert code == 0 and json.loads(out) == []
    code, out, err = run_cli(capsys, "runs", "list", "--home", str(lab.home))
    assert code == 0 and "No runs yet" in err
    assert not lab.home.exists()  # reading never creates a lab


def test_db_migrate_status_snapshot_backup(capsys, lab, tmp_path) -> None:
    home = str(lab.home)
    code, out, _ = run_cli(capsys, "db", "migrate", "--home", home)
    assert code == 0 and "schema version 2" in out and "run segments" in out
    code, out, _ = run_cli(capsys, "db", "status", "--json", "--home", home)
    status = json.loads(out)
    assert code == 0 and status["schema_version"] == status["latest_version"] == 2
    assert status["table_rows"]["rules"] == 0
    code, out, _ = run_cli(capsys, "db", "snapshot", "--home", home)
    assert code == 0 and lab.snapshot_path.exists()
    code, out, _ = run_cli(capsys, "db", "backup", str(tmp_path / "b.duckdb"), "--home", home)
    assert code == 0 and (tmp_path / "b.duckdb").exists()
    code, _, err = run_cli(capsys, "db", "backup", str(tmp_path), "--home", home)
    assert code == 2 and "is a directory" in err


def test_rules_list_show_and_export(capsys, filled_lab, tmp_path) -> None:
    home = str(filled_lab.home)
    code, out, _ = run_cli(capsys, "rules", "list", "--json", "--home", home)
    (rule,) = json.loads(out)
    assert code == 0
    assert rule["family"] == "exp" and rule["integral"] == "a4/a3*exp(a3*x) + a0*x - a4/a3"
    assert rule["conditions"] == ["a3 != 0"] and rule["audit_passed"] is True
    assert rule["evidence"]["falsification"] == 40 and rule["run_id"] == "r1"
    code, out, _ = run_cli(capsys, "rules", "show", str(rule["id"]), "--home", home)
    assert code == 0 and "a4/a3*exp(a3*x)" in out and "a4/a3" in out and "0.999" in out
    code, _, err = run_cli(capsys, "rules", "show", "999", "--home", home)
    assert code == 2 and "no rule with id 999" in err
    for fmt, marker in (("markdown", "| 1 | exp |"), ("latex", r"\int_0^x"),
                        ("csv", "id,family,integrand"), ("json", '"integral"')):
        code, out, _ = run_cli(capsys, "rules", "export", "-f", fmt, "--home", home)
        assert code == 0 and marker in out, fmt
    target = tmp_path / "rules.md"
    code, out, err = run_cli(capsys, "rules", "export", "-f", "markdown", "--out", str(target),
                             "--home", home)
    assert code == 0 and out == "" and "a4/a3*exp" in target.read_text()


def test_query_outputs_and_refuses_writes(capsys, filled_lab) -> None:
    home = str(filled_lab.home)
    code, out, _ = run_cli(capsys, "query", "SELECT run_id, seed FROM runs", "--json",
                           "--home", home)
    assert code == 0 and json.loads(out) == [{"run_id": "r1", "seed": 3}]
    code, out, _ = run_cli(capsys, "query", "SELECT run_id, seed FROM runs", "--csv",
                           "--home", home)
    assert out.splitlines() == ["run_id,seed", "r1,3"]
    code, out, err = run_cli(capsys, "query", "DELETE FROM runs", "--home", home)
    assert code == 2 and out == "" and "read-only" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "query", "SELEC nonsense", "--home", home)
    assert code == 2 and "SQL error" in err
    with Store.open_read_only(filled_lab) as store:
        assert len(store.list_runs()) == 1  # nothing was deleted


def test_bad_usage_is_exit_code_2(capsys) -> None:
    code, _, _ = run_cli(capsys, "query", "--no-such-option")
    assert code == 2


def test_locked_store_without_snapshot_is_exit_code_3(capsys, lab) -> None:
    with campaign_holding_lock(lab, snapshot=False):
        code, out, err = run_cli(capsys, "rules", "list", "--home", str(lab.home))
    assert code == 3 and out == "" and "no snapshot" in err


def test_locked_store_with_snapshot_reads_it_and_says_so(capsys, lab) -> None:
    with campaign_holding_lock(lab, snapshot=True):
        code, out, err = run_cli(capsys, "runs", "list", "--json", "--home", str(lab.home))
    assert code == 0 and "snapshot" in err
    assert [r["run"]["run_id"] for r in json.loads(out)] == ["held"]


# ---- campaign commands ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def campaign_lab(tmp_path_factory) -> tuple[Lab, str]:
    """A lab where a small campaign (poly0, poly1) ran through the CLI."""
    lab = Lab(tmp_path_factory.mktemp("cli") / "lab")
    code = main(["run", "--preset", "smoke", "--families", "poly0,poly1", "--workers", "0",
                 "--home", str(lab.home)])
    assert code == 0
    with Store.open_read_only(lab.home) as store:
        return lab, store.list_runs()[0].run.run_id


def test_run_prints_the_rules_it_found(tmp_path, capsys) -> None:
    code, out, err = run_cli(capsys, "run", "--preset", "smoke", "--families", "poly0",
                             "--workers", "0", "--home", str(tmp_path / "lab"))
    assert code == 0
    assert "a0*x" in out and "Discovered rules" in out
    assert "completed" in err


def test_runs_show_json_counts_what_was_spent(campaign_lab, capsys) -> None:
    lab, run_id = campaign_lab
    code, out, _ = run_cli(capsys, "runs", "show", run_id, "--json", "--home", str(lab.home))
    document = json.loads(out)
    counters = document["counters"]
    assert code == 0 and document["status"] == "completed"
    assert counters["functions"] > 0 and counters["sr_calls"] > 0
    assert counters["rules_accepted"] == 2 and counters["wall_seconds"] > 0
    assert {r["family"] for r in document["rules"]} == {"poly0", "poly1"}


def test_rules_list_json_has_what_a_scientist_needs(campaign_lab, capsys) -> None:
    lab, run_id = campaign_lab
    code, out, _ = run_cli(capsys, "rules", "list", "--json", "--home", str(lab.home))
    rule = next(r for r in json.loads(out) if r["family"] == "poly1")
    assert rule["integrand"] == "a0 + a1*x" and rule["integral"] == "a0*x + a1*x**2/2"
    assert rule["run_id"] == run_id and rule["audit_passed"] is True
    assert rule["evidence"]["falsification"] == 12 and rule["evidence"]["max_error"] < 1e-5


def test_rules_show_has_regressions_and_falsification(campaign_lab, capsys) -> None:
    lab, _ = campaign_lab
    with Store.open_read_only(lab.home) as store:
        rule_id = next(r.rule_id for r in store.list_rules() if r.family == "poly1")
    code, out, _ = run_cli(capsys, "rules", "show", str(rule_id), "--json", "--home",
                           str(lab.home))
    document = json.loads(out)
    assert code == 0 and len(document["falsification"]) == 12
    assert document["coefficient_laws"] and document["coefficient_laws"][0]["regressions"]


def test_integrate_answers_from_rules_with_provenance(campaign_lab, capsys) -> None:
    lab, _ = campaign_lab
    code, out, err = run_cli(capsys, "integrate", "3*x + 2", "--json", "--home", str(lab.home))
    document = json.loads(out)
    assert code == 0 and document["covered"]
    assert document["integral"] in ("3*x**2/2 + 2*x", "2*x + 3*x**2/2")
    assert document["steps"] and all(s["rule_id"] for s in document["steps"])
    assert document["check"]["eq1_error"] < 1e-6


def test_integrate_says_plainly_when_no_rule_covers(campaign_lab, capsys) -> None:
    lab, _ = campaign_lab
    code, out, _ = run_cli(capsys, "integrate", "tanh(x)", "--home", str(lab.home))
    assert code == 1 and "No accepted rule covers" in out and "tanh(x)" in out
    code, _, err = run_cli(capsys, "integrate", "__import__('os')", "--home", str(lab.home))
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "must not be negative"),
    (["--families", "poly0,nope"], "unknown family nope"),
    (["--resume", "no-such-run"], "no run"),
    (["--preset", "nope"], "unknown preset"),
])
def test_run_refuses_bad_input_in_one_line(tmp_path, capsys, args, message) -> None:
    code, _, err = run_cli(capsys, "run", *args, "--home", str(tmp_path / "lab"))
    assert code == 2 and message in err and err.count("\n") == 1


def test_a_run_out_of_budget_resumes_with_a_larger_one(tmp_path, capsys) -> None:
    home = str(tmp_path / "lab")
    code, _, err = run_cli(capsys, "run", "--preset", "smoke", "--families", "poly0,poly1",
                           "--workers", "0", "--functions", "10", "--home", home)
    assert code == 0 and "budget_exhausted" in err
    with Store.open_read_only(home) as store:
        run_id = store.list_runs()[0].run.run_id
    code, out, err = run_cli(capsys, "run", "--resume", run_id, "--functions", "400", "--home",
                             home)
    assert code == 0 and "a0*x + a1*x**2/2" in out
    with Store.open_read_only(home) as store:
        assert store.get_run(run_id).status == "completed"
