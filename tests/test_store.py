"""The lab store: migrations, typed round trips, bulk inserts, snapshots and read-only use."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from eudoxus.memory import Lab, ReadOnlyViolation, Store, StoreError, StoreUnavailable
from eudoxus.memory.migrations import LATEST_VERSION, TABLES
from eudoxus.memory.records import Evidence, Hypothesis, Rule, Run
from tests.conftest import campaign_holding_lock

EXPECTED_COLUMNS = {
    "runs": {"run_id", "preset", "strategy", "seed", "config", "status", "started_at",
             "ended_at", "end_reason", "eudoxus_version", "host"},
    "families": {"family_id", "name", "template", "parameters", "ranges", "constraints",
                 "domain", "source", "created_at"},
    "experiments": {"experiment_id", "run_id", "step", "tool", "tool_version", "family_id",
                    "design", "params", "seed", "n_items", "ok", "error", "seconds",
                    "created_at"},
    "samples": {"sample_id", "experiment_id", "family_id", "params", "integrand", "accepted",
                "reject_reason", "area_at_t", "area_error"},
    "observations": {"observation_id", "sample_id", "experiment_id", "engine", "rank",
                     "expression", "skeleton", "coefficients", "fit_error", "complexity",
                     "seconds", "accepted"},
    "hypotheses": {"hypothesis_id", "run_id", "kind", "family_id", "parent_id", "target",
                   "statement", "status", "score", "details", "created_at", "updated_at"},
    "hypothesis_events": {"event_id", "hypothesis_id", "from_status", "to_status", "reason",
                          "experiment_id", "changed_at"},
    "evidence": {"evidence_id", "hypothesis_id", "experiment_id", "sample_id", "kind",
                 "predictor", "r2", "slope", "intercept", "predicted", "measured", "error",
                 "passed"},
    "rules": {"rule_id", "run_id", "hypothesis_id", "family_id", "kind", "integrand",
              "statement", "latex", "srepr", "conditions", "status", "n_support",
              "n_falsification", "max_error", "audit_passed", "audit_detail", "provenance",
              "accepted_at"},
    "rule_edges": {"src_rule_id", "dst_rule_id", "relation"},
    "model_runs": {"model_run_id", "run_id", "started_at", "seconds", "device", "n_params",
                   "config", "n_train", "n_valid", "n_test", "label_source", "metrics",
                   "checkpoint_path"},
}


def _columns(lab: Lab) -> dict[str, set[str]]:
    con = duckdb.connect(str(lab.db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main'"
        ).fetchall()
    finally:
        con.close()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


def _seed_run(store: Store) -> tuple[Run, int, int]:
    run = store.start_run("r1", seed=11, config={"families": ["poly2"], "budget": 10})
    family = store.upsert_family("poly2", template="a2*x**2 + a1*x + a0",
                                 parameters=["a0", "a1", "a2"],
                                 ranges={"a0": [-10, 10], "a1": [-10, 10], "a2": [-10, 10]})
    experiment = store.add_experiment("r1", step=0, tool="sample", tool_version="1",
                                      ok=True, family_id=family.family_id, design="random",
                                      params={"n": np.int64(4)}, seed=5, n_items=4)
    return run, family.family_id, experiment.experiment_id


def test_blank_database_migrates_to_expected_columns(lab: Lab) -> None:
    Store.open(lab).close()
    columns = _columns(lab)
    assert set(TABLES) | {"_migrations"} == set(columns)
    for table, expected in EXPECTED_COLUMNS.items():
        assert columns[table] == expected, table


def test_rerunning_migrations_changes_nothing(lab: Lab) -> None:
    with Store.open(lab) as store:
        first = store.applied_migrations()
        assert store.schema_version() == LATEST_VERSION == len(first)
    before = _columns(lab)
    with Store.open(lab) as store:
        assert store.applied_migrations() == first
        assert store.schema_version() == LATEST_VERSION
    assert _columns(lab) == before


def test_run_family_experiment_round_trip(store: Store) -> None:
    run, family_id, experiment_id = _seed_run(store)
    assert store.get_run("r1") == run
    assert run.config == {"families": ["poly2"], "budget": 10} and run.status == "running"
    family = store.get_family("poly2")
    assert family.family_id == family_id and family.parameters == ["a0", "a1", "a2"]
    assert family.ranges["a2"] == [-10, 10]
    # Upsert keeps the id and replaces the definition, but never the parameter list.
    again = store.upsert_family("poly2", template="a2*x**2", parameters=["a0", "a1", "a2"],
                                ranges={})
    assert again.family_id == family_id and again.template == "a2*x**2"
    with pytest.raises(StoreError, match="already exists with parameters"):
        store.upsert_family("poly2", template="a2*x**2", parameters=["a2"], ranges={})
    (experiment,) = store.list_experiments("r1")
    assert experiment.experiment_id == experiment_id and experiment.params == {"n": 4}
    assert store.last_step("r1") == 0 and store.last_step("other") == -1
    ended = store.end_run("r1", "interrupted", "ctrl-c")
    assert ended.status == "interrupted" and ended.ended_at is not None
    assert store.resume_run("r1").ended_at is None
    (summary,) = store.list_runs()
    assert summary.run.run_id == "r1" and summary.n_experiments == 1


def test_samples_and_observations_bulk_round_trip(store: Store) -> None:
    _, family_id, experiment_id = _seed_run(store)
    params = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    ids = store.add_samples(experiment_id, family_id, params, integrand=["f1", "f2"],
                            accepted=np.array([True, False]),
                            reject_reason=[None, "overflow"])
    assert list(ids) == [1, 2]
    obs = store.add_observations(experiment_id, ids, engine="grammar",
                                 expression=["x", "2*x"], skeleton="c0*x",
                                 coefficients=np.array([[1.0], [2.0]]),
                                 fit_error=np.array([0.0, 1e-9]), complexity=3,
                                 accepted=True)
    rows = store.query("SELECT s.params, s.reject_reason, o.coefficients FROM samples s "
                       "JOIN observations o USING (sample_id) ORDER BY sample_id").rows
    assert rows == [([1.0, 2.0, 3.0], None, [1.0]), ([4.0, 5.0, 6.0], "overflow", [2.0])]
    assert len(obs) == 2


def test_hypothesis_lifecycle_is_recorded_and_enforced(store: Store) -> None:
    _, family_id, experiment_id = _seed_run(store)
    hypothesis = store.add_hypothesis("r1", kind="coefficient", statement="a3' = a2/3",
                                      family_id=family_id, target="a3'", score=0.99,
                                      details={"predictor": "a2"})
    assert isinstance(hypothesis, Hypothesis) and hypothesis.status == "proposed"
    store.set_hypothesis_status(hypothesis.hypothesis_id, "testing", "designing a test")
    accepted = store.set_hypothesis_status(hypothesis.hypothesis_id, "accepted",
                                           "predicted 50 fresh areas",
                                           experiment_id=experiment_id, score=1.0)
    assert accepted.status == "accepted" and accepted.score == 1.0
    events = store.hypothesis_events(hypothesis.hypothesis_id)
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "proposed"), ("proposed", "testing"), ("testing", "accepted")]
    assert events[-1].experiment_id == experiment_id
    with pytest.raises(ValueError, match="cannot go from accepted to proposed"):
        store.set_hypothesis_status(hypothesis.hypothesis_id, "proposed", "no")
    assert [h.status for h in store.list_hypotheses("r1")] == ["accepted"]


def test_bulk_insert_of_100k_evidence_rows(store: Store) -> None:
    _seed_run(store)
    hypothesis = store.add_hypothesis("r1", kind="form", statement="c*x**3")
    n = 100_000
    predicted = np.linspace(0.0, 1.0, n)
    ids = store.add_evidence(hypothesis.hypothesis_id, "falsification", n,
                             predicted=predicted, measured=predicted + 1e-9,
                             error=np.full(n, 1e-9), passed=np.ones(n, dtype=bool))
    assert len(ids) == n and ids[0] + n - 1 == ids[-1]
    count, total, passed = store.query(
        "SELECT count(*), sum(predicted), bool_and(passed) FROM evidence").rows[0]
    assert count == n and passed and total == pytest.approx(predicted.sum())
    first = store.evidence(hypothesis.hypothesis_id, "falsification")[0]
    assert isinstance(first, Evidence) and first.predicted == 0.0 and first.kind == "falsification"


def test_rules_edges_and_lineage(store: Store) -> None:
    _, family_id, _ = _seed_run(store)
    specific = store.add_rule(kind="coefficient", integrand="a2*x**2",
                              statement="a2/3*x**3", latex=r"\frac{a_{2} x^{3}}{3}",
                              srepr="Mul(...)", run_id="r1", family_id=family_id,
                              conditions=["a2 != 0"], n_falsification=50, max_error=1e-6,
                              audit_passed=True, provenance={"experiments": [1]})
    general = store.add_rule(kind="meta", integrand="x**n", statement="x**(n+1)/(n+1)",
                             latex="...", srepr="...", run_id="r1")
    assert isinstance(specific, Rule) and specific.family == "poly2"
    assert specific.conditions == ["a2 != 0"] and specific.provenance == {"experiments": [1]}
    store.supersede_rule(specific.rule_id, general.rule_id)
    assert store.get_rule(specific.rule_id).status == "superseded"
    assert [r.rule_id for r in store.list_rules(status="accepted")] == [general.rule_id]
    assert [r.rule_id for r in store.list_rules(family="poly2")] == [specific.rule_id]
    from eudoxus.memory.lineage import lineage_graph

    graph = lineage_graph(store.list_rules(), store.rule_edges())
    assert graph.has_edge(general.rule_id, specific.rule_id)
    assert graph.edges[general.rule_id, specific.rule_id]["relation"] == "supersedes"


def test_model_run_round_trip(store: Store) -> None:
    _seed_run(store)
    model_run = store.add_model_run(device="cpu", n_params=1_390_000, config={"d_model": 128},
                                    label_source="sr-fits", run_id="r1", seconds=600.0,
                                    n_train=20_000, metrics={"poly": {"correct": 0.9}})
    assert store.list_model_runs("r1") == [model_run]
    assert model_run.metrics == {"poly": {"correct": 0.9}}


def test_transaction_rolls_back_everything_on_error(store: Store) -> None:
    _seed_run(store)
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.add_experiment("r1", step=1, tool="regress", tool_version="1", ok=True)
        store.add_hypothesis("r1", kind="form", statement="c*x")
        raise RuntimeError("boom")
    assert store.last_step("r1") == 0
    assert store.list_hypotheses() == []


def test_query_refuses_writes_and_file_access(store: Store, lab: Lab) -> None:
    _seed_run(store)
    store.close()
    with Store.open_read_only(lab) as reader:
        assert reader.query("SELECT run_id FROM runs").rows == [("r1",)]
        for sql in ("DELETE FROM runs", "INSERT INTO runs (run_id) VALUES ('x')",
                    "DROP TABLE runs", "SELECT 1; UPDATE runs SET seed = 0",
                    "COPY runs TO 'leak.csv'", f"ATTACH '{lab.home / 'other.db'}'",
                    "CREATE TABLE t (i INT)"):
            with pytest.raises(ReadOnlyViolation, match="refused"):
                reader.query(sql)
        with pytest.raises(ReadOnlyViolation, match="refused"):
            reader.query("SELECT * FROM read_csv('/etc/hostname')")
        with pytest.raises(StoreError, match="SQL error"):
            reader.query("SELEC 1")
        with pytest.raises(ReadOnlyViolation):
            reader.start_run("r2", seed=1, config={})
    assert not (lab.home / "other.db").exists()
    with Store.open_read_only(lab) as reader:
        assert reader.query("SELECT count(*) FROM runs").rows == [(1,)]


def test_reader_of_missing_lab_sees_empty_schema_without_creating_files(lab: Lab) -> None:
    with Store.open_read_only(lab) as reader:
        assert reader.source == "missing"
        assert reader.list_rules() == [] and reader.list_runs() == []
    assert not lab.home.exists()


def test_reader_falls_back_to_snapshot_while_another_process_writes(lab: Lab) -> None:
    notes: list[str] = []
    with campaign_holding_lock(lab, snapshot=True):
        with Store.open_read_only(lab, notify=notes.append) as reader:
            assert reader.source == "snapshot"
            assert [s.run.run_id for s in reader.list_runs()] == ["held"]
        assert len(notes) == 1 and "snapshot" in notes[0]
        with pytest.raises(StoreUnavailable, match="in use by process"):
            Store.open(lab)


def test_reader_without_snapshot_while_locked_is_unavailable(lab: Lab) -> None:
    with campaign_holding_lock(lab, snapshot=False), pytest.raises(
        StoreUnavailable, match="no snapshot"
    ):
        Store.open_read_only(lab)


def test_snapshot_and_backup_are_readable_copies(store: Store, lab: Lab, tmp_path) -> None:
    _seed_run(store)
    snapshot = store.snapshot()
    backup = store.backup(tmp_path / "copy.duckdb")
    store.add_experiment("r1", step=1, tool="regress", tool_version="1", ok=False, error="x")
    for path in (snapshot, backup):
        con = duckdb.connect(str(path), read_only=True)
        assert con.execute("SELECT count(*) FROM experiments").fetchall() == [(1,)]
        con.close()
    assert not list(lab.home.glob("*.partial"))


def test_observations_may_have_coefficient_lists_of_different_lengths(store) -> None:
    store.start_run("r", seed=0, config={})
    family = store.upsert_family("f", template="a1*x", parameters=["a1"], ranges={})
    experiment = store.add_experiment("r", step=0, tool="sample", tool_version="t", ok=True)
    ids = store.add_samples(experiment.experiment_id, family.family_id, [[1.0], [2.0]])
    store.add_observations(experiment.experiment_id, ids, engine="g", expression=["x", "x + 1"],
                           skeleton=["c0*x", "c0*x + c1"], coefficients=[[1.0], [1.0, 1.0]],
                           fit_error=[0.0, 0.0], complexity=[1, 2], accepted=[True, True])
    rows = store.family_observations("r", family.family_id)
    assert [o.coefficients for o, _ in rows] == [[1.0], [1.0, 1.0]]


def test_observation_counts_per_family(store) -> None:
    store.start_run("r", seed=0, config={})
    family = store.upsert_family("f", template="a1*x", parameters=["a1"], ranges={})
    experiment = store.add_experiment("r", step=0, tool="sample", tool_version="t", ok=True)
    ids = store.add_samples(experiment.experiment_id, family.family_id, [[1.0], [2.0], [3.0]])
    store.add_observations(experiment.experiment_id, ids, engine="g", expression="x",
                           skeleton="c0*x", coefficients=[[1.0]] * 3, fit_error=0.0,
                           complexity=1, accepted=[True, True, False])
    assert store.family_observation_counts("r") == {family.family_id: 2}
    assert store.family_observation_counts("other") == {}
