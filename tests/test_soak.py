"""Soak mode and `bench soak`: a campaign that keeps exploring, and the curve it leaves."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from eudoxus.agent.config import load_config
from eudoxus.agent.planner import LabState, next_action
from eudoxus.agent.soak import SOAK_KIND, summarize
from tests.test_cli import run_cli


def test_soak_mode_keeps_exploring_the_least_explored_family_once_all_is_closed() -> None:
    config = load_config("smoke").with_overrides(families=("poly0", "poly1"))
    from eudoxus.agent.planner import Line
    from eudoxus.tools.families import get_family

    lines = {name: Line(get_family(name), i, explorations=n, rule=object())
             for i, (name, n) in enumerate((("poly0", 3), ("poly1", 2)))}
    state = LabState(lines=lines)
    assert next_action(state, config) is None  # a normal campaign is done
    action = next_action(state, config.with_overrides(keep_exploring=True))
    assert action.kind == "explore" and action.family == "poly1"
    assert action.n == config.random_batch


def test_summary_compares_like_with_like() -> None:
    rows = [{"step": i, "elapsed_s": float(i), "kind": SOAK_KIND, "family": fam,
             "step_seconds": t, "rss_mb": 100.0 + i, "db_mb": 1.0, "functions": i}
            for i, (fam, t) in enumerate([("a", 1.0), ("b", 10.0)] * 10)]
    summary = summarize(rows)
    assert summary["round_s_start"] == 11.0 and summary["round_growth"] == 1.0
    assert summary["rss_mb_start"] == 100.5 and summary["rss_mb_end"] == 118.5


def test_bench_soak_writes_the_curve_and_a_summary(capsys, tmp_path: Path) -> None:
    curve, document = tmp_path / "soak.csv", tmp_path / "soak.json"
    code, out, err = run_cli(capsys, "bench", "soak", "--preset", "smoke", "--seconds", "3",
                             "--random-batch", "4", "--csv", str(curve), "--json",
                             str(document))
    assert code == 0 and "RSS (MB)" in out and "soak round (s)" in out
    rows = list(csv.DictReader(curve.open()))
    assert rows and {r["kind"] for r in rows} >= {"explore", "search", "falsify"}
    assert all(float(r["rss_mb"]) > 0 for r in rows)
    result = json.loads(document.read_text())
    assert result["status"] == "budget_exhausted" and result["config"]["keep_exploring"]
    assert result["summary"]["steps"] == len(rows)


def test_bench_soak_rejects_a_non_positive_duration(capsys) -> None:
    code, _, err = run_cli(capsys, "bench", "soak", "--seconds", "0")
    assert code == 2 and "seconds must be positive" in err


def test_the_planner_counts_from_experiment_aggregates_what_the_samples_say(tmp_path) -> None:
    from eudoxus.agent.campaign import Campaign
    from eudoxus.memory import Lab, Store

    lab = Lab(tmp_path / "lab")
    config = load_config("smoke").with_overrides(families=("poly0", "exp"), workers=0,
                                                 falsify_n=8)
    with Store.open(lab) as store:
        campaign = Campaign(store, lab, config, report=False)
        outcome = campaign.run(max_steps=5)
        campaign._register_families()
        state = campaign.observe()
        counters = store.run_counters(outcome.run_id)
    assert state.functions == counters["functions"] > 0
    assert state.tool_calls == counters["tool_calls"]
    assert sum(line.explorations for line in state.lines.values()) == 2  # explore each family
