"""The intuition in the loop: retraining inside a campaign, guesses judged by areas, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from eudoxus.agent.campaign import Campaign  # noqa: E402
from eudoxus.agent.cli import main  # noqa: E402
from eudoxus.agent.config import load_config  # noqa: E402
from eudoxus.memory import Lab, Store  # noqa: E402

# A few seconds of training: the model learns next to nothing, so its guesses must be refuted.
MODEL = dict(families=("poly0", "poly1", "exp"), workers=0, falsify_n=8, model_seconds=2.0,
             model_pairs=300, model_test=10, retrain_after=2, model_guesses=3)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("intuition") / "lab")
    config = load_config("smoke").with_overrides(**MODEL)
    with Store.open(lab) as store:
        outcome = Campaign(store, lab, config).run()
        trainings = store.list_model_runs(outcome.run_id)
        hypotheses = store.list_hypotheses(outcome.run_id)
        guesses = [h for h in hypotheses if h.kind == "model"]
        evidence = {h.hypothesis_id: store.evidence(h.hypothesis_id, "falsification")
                    for h in guesses}
        experiments = store.list_experiments(outcome.run_id)
    return lab, outcome, trainings, guesses, evidence, experiments


def test_campaign_retrains_when_rules_come_in_and_at_the_end(campaign) -> None:
    _, outcome, trainings, _, _, experiments = campaign
    assert outcome.status == "completed" and outcome.counters["rules_accepted"] == 3
    retrains = [e for e in experiments if e.tool == "retrain"]
    assert [e.params["rules"] for e in retrains] == [2, 3]  # after poly0+poly1, then at the end
    assert len(trainings) == 2
    last = trainings[-1]
    assert last.label_source.startswith("the lab's accepted rules") and "no CAS" in (
        last.label_source)
    assert last.n_test == 20 and last.n_train > 0
    assert set(last.metrics["metrics"]) >= {"polynomial", "non-polynomial", "all"}
    assert (Path(last.checkpoint_path) / "model.safetensors").is_file()


def test_wrong_guesses_are_refuted_by_measured_areas(campaign) -> None:
    _, _, _, guesses, evidence, experiments = campaign
    assert [e.family_id for e in experiments if e.tool == "guess"]  # exp was guessed
    assert len(guesses) == 3
    for hypothesis in guesses:
        assert hypothesis.family_id is not None and hypothesis.target  # f, as text
        rows = evidence[hypothesis.hypothesis_id]
        if hypothesis.status == "accepted":  # only ever on the area's word
            assert rows and all(r.passed for r in rows)
        else:
            assert hypothesis.status == "refuted"
            assert not rows or not any(r.passed for r in rows)
    # Two seconds of training cannot integrate e^(bx): every guess fell to the instruments.
    assert all(h.status == "refuted" for h in guesses)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_model_commands(campaign, capsys, tmp_path) -> None:
    lab = campaign[0]
    home = str(lab.home)
    code, out, err = run_cli(capsys, "model", "train", "--home", home, "--seconds", "2",
                             "--pairs", "200", "--test-per-split", "10", "--threads", "1",
                             "--d-model", "32", "--layers", "1", "--json")
    assert code == 0, err
    trained = json.loads(out)
    assert "3 accepted rules" in err and trained["metrics"]["all"]["n"] == 20
    code, out, _ = run_cli(capsys, "model", "list", "--home", home, "--json")
    assert code == 0 and len(json.loads(out)) == 3
    code, out, _ = run_cli(capsys, "model", "predict", "--home", home, "--json", "3*x + 1")
    (row,) = json.loads(out)
    assert code == 0 and row["f"] == "1.00+3.00*x" and row["verdict"] in ("accepted", "refuted")
    code, out, _ = run_cli(capsys, "model", "eval", "--home", home, "--json")
    assert code == 0 and json.loads(out)["metrics"] == trained["metrics"]  # its held-out set
    code, out, _ = run_cli(capsys, "model", "eval", "--home", home, "--seed", "3",
                           "--test-per-split", "5", "--json")
    assert code == 0 and json.loads(out)["metrics"]["all"]["n"] == 10
    code, _, err = run_cli(capsys, "model", "predict", "--home", home, "sin(")
    assert code == 2 and err.count("\n") == 1 and "error" in err
    code, _, err = run_cli(capsys, "model", "predict", "--home", str(tmp_path), "x")
    assert code == 2 and "no trained model" in err


def test_bench_seq2seq_writes_a_table_and_json(campaign, capsys, tmp_path) -> None:
    out_file = tmp_path / "bench.json"
    code, out, err = run_cli(capsys, "bench", "seq2seq", "--home", str(campaign[0].home),
                             "--seconds", "2", "--pairs", "200", "--test-per-split", "10",
                             "--threads", "1", "--d-model", "32", "--layers", "1",
                             "--json", str(out_file))
    assert code == 0, err
    assert "GPT-Neo 350M" in out and "ours (cpu)" in out
    document = json.loads(out_file.read_text())
    assert document["metrics"]["polynomial"]["n"] == 10
    assert document["config"]["data"]["label_source"].endswith("no CAS")
    assert document["ms_per_function_batched"] > 0 and document["n_params"] > 0
    assert document["config"]["autocast"] == "fp32"  # auto: bf16 on CUDA only


def test_bench_seq2seq_with_symbolic_targets_says_so(campaign, capsys, tmp_path) -> None:
    out_file = tmp_path / "bench.json"
    code, out, err = run_cli(capsys, "bench", "seq2seq", "--home", str(campaign[0].home),
                             "--seconds", "2", "--pairs", "200", "--test-per-split", "10",
                             "--threads", "1", "--d-model", "32", "--layers", "1",
                             "--target", "symbolic", "--json", str(out_file))
    assert code == 0, err
    assert "ours (cpu, symbolic targets)" in out and "worked out exactly" in err
    assert json.loads(out_file.read_text())["config"]["data"]["spec"]["target"] == "symbolic"
    code, _, err = run_cli(capsys, "model", "train", "--home", str(campaign[0].home),
                           "--target", "roman")
    assert code == 2 and "unknown target format 'roman'" in err


def test_a_symbolic_intuition_learns_spelled_laws_and_guesses_settled(tmp_path) -> None:
    from eudoxus.agent.config import ConfigError
    from eudoxus.agent.intuition import target_of
    from eudoxus.tools.expr import ExprError
    from eudoxus.tools.pairs import settle

    lab = Lab(tmp_path / "lab")
    config = load_config("smoke").with_overrides(**{**MODEL,
                                                    "model_target": "symbolic"})
    with Store.open(lab) as store:
        outcome = Campaign(store, lab, config).run()
        (training, *_) = store.list_model_runs(outcome.run_id)
        guesses = [h for h in store.list_hypotheses(outcome.run_id) if h.kind == "model"]
    assert outcome.status == "completed" and target_of(training) == "symbolic"
    assert training.metrics["metrics"]["polynomial"]["n"] == 10
    assert guesses
    for guess in guesses:  # worked out before they were judged: a division left over must be
        if "/" in guess.statement:  # one that could not be worked out at all
            with pytest.raises((ExprError, ValueError, TypeError)):
                settle(guess.statement)
    with pytest.raises(ConfigError, match="unknown model_target 'roman'"):
        load_config("smoke").with_overrides(model_target="roman")


def test_trainings_are_announced_on_the_event_log(campaign) -> None:
    from eudoxus.agent import events as ev
    from eudoxus.agent.narrate import describe

    lab, outcome = campaign[:2]
    trained = [e for e in ev.read_events(lab.events_path(outcome.run_id))
               if isinstance(e, ev.ModelTrained)]
    assert len(trained) == 2 and "polynomial" in trained[-1].metrics
    assert describe(trained[-1]).startswith(f"MODEL #{trained[-1].model_run_id} trained")
