"""Steering a campaign between steps: pause, single step, stop, retrain now."""

from __future__ import annotations

import threading

import pytest

from eudoxus.agent import events as ev
from eudoxus.agent.campaign import Campaign
from eudoxus.agent.config import load_config
from eudoxus.agent.control import RunControl
from eudoxus.memory import Lab, Store

SMALL = dict(families=("poly0", "poly1"), workers=0, falsify_n=8)


def _turn_in_thread(control: RunControl) -> tuple[threading.Thread, list[bool]]:
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(control.wait_for_turn(0.01)))
    thread.start()
    return thread, got


def test_a_running_control_gives_every_turn() -> None:
    control = RunControl()
    assert control.wait_for_turn() and control.wait_for_turn()


def test_pause_holds_and_a_single_step_lets_exactly_one_through() -> None:
    control = RunControl()
    control.pause()
    thread, got = _turn_in_thread(control)
    thread.join(0.2)
    assert thread.is_alive() and got == []  # held
    control.step_once()
    thread.join(2)
    assert got == [True]
    thread, got = _turn_in_thread(control)  # still paused after its one step
    thread.join(0.2)
    assert thread.is_alive()
    control.resume()
    thread.join(2)
    assert got == [True] and not control.paused


def test_stop_releases_a_paused_campaign_with_a_no() -> None:
    control = RunControl()
    control.pause()
    thread, got = _turn_in_thread(control)
    control.request_stop()
    thread.join(2)
    assert got == [False] and control.stop.is_set()


def test_toggle_and_retrain_requests_are_taken_once() -> None:
    control = RunControl()
    assert control.toggle_pause() is True and control.toggle_pause() is False
    assert not control.take_retrain()
    control.request_retrain()
    assert control.take_retrain() and not control.take_retrain()


def test_a_stopped_campaign_is_interrupted_and_resumes_to_the_same_rules(lab: Lab) -> None:
    config = load_config("smoke").with_overrides(**SMALL)
    control = RunControl()
    with Store.open(lab) as store:
        campaign = Campaign(store, lab, config)
        campaign.bus.subscribe(lambda e: isinstance(e, ev.RuleAccepted)
                               and control.request_stop())
        first = campaign.run(control=control)
        assert first.status == "interrupted" and first.counters["rules_accepted"] == 1
        done = Campaign.resume(store, lab, first.run_id).run()
        rules = {r.family: r.statement for r in store.list_rules(run_id=first.run_id)}
    assert done.status == "completed"
    assert rules == {"poly0": "a0*x", "poly1": "a0*x + a1*x**2/2"}


def test_retrain_now_is_ignored_without_an_intuition(lab: Lab) -> None:
    config = load_config("smoke").with_overrides(**SMALL)  # model_seconds = 0
    control = RunControl()
    control.request_retrain()
    with Store.open(lab) as store:
        outcome = Campaign(store, lab, config).run(control=control)
        tools = {e.tool for e in store.list_experiments(outcome.run_id)}
    assert outcome.status == "completed" and "retrain" not in tools


def test_retrain_now_makes_the_next_step_a_training(lab: Lab) -> None:
    pytest.importorskip("torch")
    # retrain_after is out of reach, so the only training before the end is the requested one
    config = load_config("smoke").with_overrides(
        **SMALL, model_seconds=1.0, model_pairs=200, model_test=5, retrain_after=99,
        model_guesses=1)
    control = RunControl()
    with Store.open(lab) as store:
        campaign = Campaign(store, lab, config)
        campaign.bus.subscribe(lambda e: isinstance(e, ev.RuleAccepted) and e.rule_id == 1
                               and control.request_retrain())
        outcome = campaign.run(control=control)
        retrains = [e for e in store.list_experiments(outcome.run_id) if e.tool == "retrain"]
    assert retrains[0].params["why"] == "requested by the user"
    assert retrains[0].params["rules"] == 1
