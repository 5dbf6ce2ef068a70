"""The morning report: finished and interrupted runs, both formats, and never a failed run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from eudoxus.agent.campaign import Campaign
from eudoxus.agent.config import load_config
from eudoxus.agent.report import render
from eudoxus.agent.report_data import gather
from eudoxus.memory import Lab, Store
from tests.test_cli import run_cli

SMALL = dict(families=("poly0", "poly1"), workers=0, falsify_n=8)


def _campaign(lab: Lab, max_steps: int | None = None, **overrides):
    config = load_config("smoke").with_overrides(**{**SMALL, **overrides})
    with Store.open(lab) as store:
        return Campaign(store, lab, config).run(max_steps=max_steps)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Lab, str]:
    lab = Lab(tmp_path_factory.mktemp("report") / "lab")
    return lab, _campaign(lab).run_id


def test_a_finished_run_writes_both_reports_into_its_folder(finished) -> None:
    lab, run_id = finished
    markdown = (lab.run_dir(run_id) / "report.md").read_text()
    page = (lab.run_dir(run_id) / "report.html").read_text()
    for text in (markdown, page):
        assert "Discovered rules" in text and "How the budget was spent" in text
        assert "a0*x + a1*x**2/2" in text  # the rule, as math
        assert "Efficiency over time" in text and "Time per tool" in text
    assert "**completed**" in markdown and "| #2 | poly1 |" in markdown
    assert "Falsification evidence (first 8 of 8 fresh functions)" in markdown
    assert "| c1 | a1 |" in markdown  # the coefficient regression behind poly1's rule
    assert "$$ a_{0} x + \\frac{a_{1} x^{2}}{2} $$" in markdown


def test_the_html_report_embeds_plots(finished) -> None:
    pytest.importorskip("matplotlib")
    lab, run_id = finished
    page = (lab.run_dir(run_id) / "report.html").read_text()
    assert page.count("<svg") == 3  # falsification, time per tool, efficiency (no model)
    assert "<script" not in page


def test_without_matplotlib_the_html_says_so(finished, monkeypatch) -> None:
    from eudoxus.agent import report_plots

    monkeypatch.setattr(report_plots, "available", lambda: False)
    lab, run_id = finished
    with Store.open_read_only(lab) as store:
        page = render(gather(store, run_id), "html")
    assert "<svg" not in page and "Plots need matplotlib" in page


def test_an_interrupted_run_reports_what_is_open_and_how_to_resume(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab")
    outcome = _campaign(lab, max_steps=2)  # explore, search: a rule proposed, not yet tested
    assert outcome.status == "interrupted"
    markdown = (lab.run_dir(outcome.run_id) / "report.md").read_text()
    assert "**interrupted**" in markdown
    assert f"eudoxus run --resume {outcome.run_id}" in markdown
    assert "Still open when the run stopped" in markdown
    assert "a0\\*x" in markdown.split("Still open when the run stopped")[1]


def test_refuted_hypotheses_are_reported_with_their_reason(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab")
    outcome = _campaign(lab, max_steps=3)
    with Store.open(lab) as store:
        poly1 = store.get_family("poly1").family_id
        wrong = store.add_hypothesis(outcome.run_id, kind="coefficient", target="integral",
                                     statement="a0*x + a1*x**2/3", reason="injected by a test",
                                     family_id=poly1)
        store.set_hypothesis_status(wrong.hypothesis_id, "refuted", "3 of 8 predictions passed")
        markdown = render(gather(store, outcome.run_id), "markdown")
    assert "Refuted, and why" in markdown
    assert (f"| #{wrong.hypothesis_id} | coefficient | poly1 | a0\\*x + a1\\*x\\*\\*2/3 |"
            in markdown)
    assert "3 of 8 predictions passed" in markdown


def test_a_report_that_fails_never_fails_the_campaign(tmp_path: Path, monkeypatch,
                                                      caplog) -> None:
    from eudoxus.agent import report

    def broken(*args, **kwargs):
        raise RuntimeError("the plotting library is on fire")

    monkeypatch.setattr(report, "write_reports", broken)
    lab = Lab(tmp_path / "lab")
    with caplog.at_level(logging.ERROR, logger="eudoxus.campaign"):
        outcome = _campaign(lab, families=("poly0",))
    assert outcome.status == "completed" and outcome.counters["rules_accepted"] == 1
    assert "could not write the report" in caplog.text
    assert not (lab.run_dir(outcome.run_id) / "report.md").exists()


def test_report_command_prints_markdown_or_writes_html(finished, capsys, tmp_path) -> None:
    lab, run_id = finished
    code, out, _ = run_cli(capsys, "--home", str(lab.home), "report", run_id)
    assert code == 0 and out.startswith(f"# Morning report: {run_id}")
    target = tmp_path / "out" / "r.html"
    code, out, err = run_cli(capsys, "--home", str(lab.home), "report", run_id, "--format",
                             "html", "--out", str(target))
    assert code == 0 and out == "" and "wrote" in err
    assert target.read_text().startswith("<!doctype html>")


def test_report_command_rejects_an_unknown_run_or_format(finished, capsys) -> None:
    lab, run_id = finished
    code, _, err = run_cli(capsys, "--home", str(lab.home), "report", "no-such-run")
    assert code == 2 and "no run 'no-such-run'" in err
    code, _, err = run_cli(capsys, "--home", str(lab.home), "report", run_id, "--format", "pdf")
    assert code == 2 and "unknown format 'pdf'" in err


def test_model_accuracy_history_is_tabled_and_plotted(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    lab = Lab(tmp_path / "lab")
    outcome = _campaign(lab, families=("poly0",))
    with Store.open(lab) as store:
        for poly, other in ((40.0, 10.0), (75.5, 20.0)):
            store.add_model_run(run_id=outcome.run_id, device="cpu", n_params=1_400_000,
                                config={}, label_source="rules", seconds=12.0, n_train=900,
                                metrics={"metrics": {"polynomial": {"correct": poly},
                                                     "non-polynomial": {"correct": other}}})
        data = gather(store, outcome.run_id)
    markdown, page = render(data, "markdown"), render(data, "html")
    assert "| 2 | 12 | cpu | 1400000 | 900 | 75.5 | 20 |" in markdown
    assert page.count("<svg") == 4 and "Model accuracy history" in page
