"""The headless views of a campaign, and the process pool that fans regressions out."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from eudoxus.agent import events as ev
from eudoxus.agent.executor import LocalExecutor, regress_curves
from eudoxus.agent.live import LiveView, PlainView

EVENTS = [
    ev.RunStarted(run_id="r", strategy="adaptive", seed=3),
    ev.Progress(run_id="r", stage="explore", done=0, total=100, message="explore exp n=7"),
    ev.ExperimentDone(run_id="r", experiment_id=1, tool="regress", family="exp", n_items=7,
                      seconds=1.5),
    ev.HypothesisProposed(run_id="r", hypothesis_id=5, hypothesis_kind="coefficient",
                          family="exp", statement="a0*x + a4*exp(a3*x)/a3 - a4/a3"),
    ev.HypothesisChanged(run_id="r", hypothesis_id=5, from_status="testing",
                         to_status="accepted", reason="24/24 fresh functions predicted"),
    ev.RuleAccepted(run_id="r", rule_id=1, family="exp",
                    statement="a0*x + a4*exp(a3*x)/a3 - a4/a3"),
    ev.RunEnded(run_id="r", status="completed", reason="done",
                totals={"functions": 31, "rules_accepted": 1, "wall_seconds": 2.0}),
]


def test_plain_view_prints_a_line_per_notable_event() -> None:
    out = io.StringIO()
    view = PlainView(out)
    for event in EVENTS:
        view(event)
    lines = out.getvalue().splitlines()
    assert lines[0] == "run r started: strategy adaptive, seed 3"
    assert "RULE #1 (exp): a0*x + a4*exp(a3*x)/a3 - a4/a3" in lines
    assert lines[-1] == "run completed: done; 31 functions, 1 rules, 2.0 s"


def test_live_view_shows_open_hypotheses_and_rules() -> None:
    buffer = io.StringIO()
    view = LiveView(Console(file=buffer, force_terminal=True, width=120), 100)
    for event in EVENTS[:4]:
        view(event)
    assert 5 in view.open and view.current == "explore exp n=7"
    for event in EVENTS[4:6]:
        view(event)
    view.close()
    assert 5 not in view.open and view.rules == ["#1 exp: a0*x + a4*exp(a3*x)/a3 - a4/a3"]
    assert "accepted rules" in buffer.getvalue()


def test_process_pool_gives_the_in_process_results_in_order() -> None:
    x = np.linspace(0, 4, 2001)
    curves = np.stack([a * x**2 / 2 + b * x for a, b in ((1, 2), (3, -1), (-2, 5), (0.5, 0.5))])
    noises = np.full(len(curves), 1e-9)
    local = regress_curves("grammar", x, curves, noises)
    pool = LocalExecutor(2)
    try:
        fanned = pool.map_chunks(regress_curves, len(curves),
                                 lambda part: ("grammar", x, curves[part], noises[part]))
    finally:
        pool.close()
    assert [f.expression for f in fanned] == [f.expression for f in local]
    assert fanned[1].expression == "1.5*x**2 - x"
