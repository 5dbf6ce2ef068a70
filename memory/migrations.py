"""Numbered schema migrations for the lab store; the schema version is the number applied."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema change, applied in a single transaction and recorded in `_migrations`."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the SQL, so an edited past migration is detected instead of ignored."""
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


# Why plain SQL in Python strings: the wheel needs no package data, and a later migration that
# must transform rows can become a callable without changing how versions are counted.
_INITIAL = """
CREATE SEQUENCE seq_family_id START 1;
CREATE SEQUENCE seq_experiment_id START 1;
CREATE SEQUENCE seq_sample_id START 1;
CREATE SEQUENCE seq_observation_id START 1;
CREATE SEQUENCE seq_hypothesis_id START 1;
CREATE SEQUENCE seq_hypothesis_event_id START 1;
CREATE SEQUENCE seq_evidence_id START 1;
CREATE SEQUENCE seq_rule_id START 1;
CREATE SEQUENCE seq_model_run_id START 1;

CREATE TABLE runs (
    run_id          VARCHAR PRIMARY KEY,
    preset          VARCHAR,
    strategy        VARCHAR NOT NULL DEFAULT 'adaptive',
    seed            BIGINT NOT NULL,
    config          JSON NOT NULL,
    status          VARCHAR NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'completed', 'interrupted', 'failed', 'budget_exhausted')),
    started_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    ended_at        TIMESTAMP,
    end_reason      VARCHAR,
    eudoxus_version VARCHAR NOT NULL,
    host            VARCHAR
);

CREATE TABLE families (
    family_id   INTEGER PRIMARY KEY DEFAULT nextval('seq_family_id'),
    name        VARCHAR NOT NULL UNIQUE,
    template    VARCHAR NOT NULL,
    parameters  VARCHAR[] NOT NULL,
    ranges      JSON NOT NULL,
    constraints JSON NOT NULL DEFAULT '[]',
    domain      JSON NOT NULL DEFAULT '{}',
    source      VARCHAR NOT NULL DEFAULT 'builtin' CHECK (source IN ('builtin', 'user', 'model')),
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE experiments (
    experiment_id BIGINT PRIMARY KEY DEFAULT nextval('seq_experiment_id'),
    run_id        VARCHAR NOT NULL REFERENCES runs (run_id),
    step          INTEGER NOT NULL,
    tool          VARCHAR NOT NULL,
    tool_version  VARCHAR NOT NULL,
    family_id     INTEGER REFERENCES families (family_id),
    design        VARCHAR,
    params        JSON NOT NULL DEFAULT '{}',
    seed          BIGINT,
    n_items       INTEGER NOT NULL DEFAULT 0,
    ok            BOOLEAN NOT NULL,
    error         VARCHAR,
    seconds       DOUBLE NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX idx_experiments_run ON experiments (run_id, step);

CREATE TABLE samples (
    sample_id     BIGINT PRIMARY KEY DEFAULT nextval('seq_sample_id'),
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    family_id     INTEGER NOT NULL REFERENCES families (family_id),
    params        DOUBLE[] NOT NULL,
    integrand     VARCHAR,
    accepted      BOOLEAN NOT NULL,
    reject_reason VARCHAR,
    area_at_t     DOUBLE,
    area_error    DOUBLE
);
CREATE INDEX idx_samples_experiment ON samples (experiment_id);

CREATE TABLE observations (
    observation_id BIGINT PRIMARY KEY DEFAULT nextval('seq_observation_id'),
    sample_id      BIGINT NOT NULL REFERENCES samples (sample_id),
    experiment_id  BIGINT NOT NULL REFERENCES experiments (experiment_id),
    engine         VARCHAR NOT NULL,
    rank           INTEGER NOT NULL DEFAULT 1,
    expression     VARCHAR NOT NULL,
    skeleton       VARCHAR NOT NULL,
    coefficients   DOUBLE[] NOT NULL,
    fit_error      DOUBLE NOT NULL,
    complexity     INTEGER NOT NULL,
    seconds        DOUBLE NOT NULL DEFAULT 0,
    accepted       BOOLEAN NOT NULL
);
CREATE INDEX idx_observations_sample ON observations (sample_id);

CREATE TABLE hypotheses (
    hypothesis_id BIGINT PRIMARY KEY DEFAULT nextval('seq_hypothesis_id'),
    run_id        VARCHAR NOT NULL REFERENCES runs (run_id),
    kind          VARCHAR NOT NULL CHECK (kind IN ('form', 'coefficient', 'meta', 'model')),
    family_id     INTEGER REFERENCES families (family_id),
    parent_id     BIGINT,
    target        VARCHAR,
    statement     VARCHAR NOT NULL,
    status        VARCHAR NOT NULL DEFAULT 'proposed'
        CHECK (status IN ('proposed', 'testing', 'accepted', 'refuted', 'superseded')),
    score         DOUBLE,
    details       JSON NOT NULL DEFAULT '{}',
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- Columns that change (status, score) stay out of indexes: DuckDB updates indexed columns
-- as delete + insert, which a referencing foreign key forbids.
CREATE INDEX idx_hypotheses_run ON hypotheses (run_id);

CREATE TABLE hypothesis_events (
    event_id      BIGINT PRIMARY KEY DEFAULT nextval('seq_hypothesis_event_id'),
    hypothesis_id BIGINT NOT NULL REFERENCES hypotheses (hypothesis_id),
    from_status   VARCHAR,
    to_status     VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    experiment_id BIGINT REFERENCES experiments (experiment_id),
    changed_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE INDEX idx_hypothesis_events_h ON hypothesis_events (hypothesis_id);

CREATE TABLE evidence (
    evidence_id   BIGINT PRIMARY KEY DEFAULT nextval('seq_evidence_id'),
    hypothesis_id BIGINT NOT NULL REFERENCES hypotheses (hypothesis_id),
    experiment_id BIGINT REFERENCES experiments (experiment_id),
    sample_id     BIGINT REFERENCES samples (sample_id),
    kind          VARCHAR NOT NULL
        CHECK (kind IN ('regression', 'falsification', 'support', 'audit')),
    predictor     VARCHAR,
    r2            DOUBLE,
    slope         DOUBLE,
    intercept     DOUBLE,
    predicted     DOUBLE,
    measured      DOUBLE,
    error         DOUBLE,
    passed        BOOLEAN
);
CREATE INDEX idx_evidence_h ON evidence (hypothesis_id, kind);

CREATE TABLE rules (
    rule_id          BIGINT PRIMARY KEY DEFAULT nextval('seq_rule_id'),
    run_id           VARCHAR REFERENCES runs (run_id),
    hypothesis_id    BIGINT REFERENCES hypotheses (hypothesis_id),
    family_id        INTEGER REFERENCES families (family_id),
    kind             VARCHAR NOT NULL CHECK (kind IN ('form', 'coefficient', 'meta', 'model')),
    integrand        VARCHAR NOT NULL,
    statement        VARCHAR NOT NULL,
    latex            VARCHAR NOT NULL,
    srepr            VARCHAR NOT NULL,
    conditions       VARCHAR[] NOT NULL DEFAULT [],
    status           VARCHAR NOT NULL DEFAULT 'accepted'
        CHECK (status IN ('accepted', 'superseded')),
    n_support        INTEGER NOT NULL DEFAULT 0,
    n_falsification  INTEGER NOT NULL DEFAULT 0,
    max_error        DOUBLE,
    audit_passed     BOOLEAN,
    audit_detail     VARCHAR,
    provenance       JSON NOT NULL DEFAULT '{}',
    accepted_at      TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE rule_edges (
    src_rule_id BIGINT NOT NULL REFERENCES rules (rule_id),
    dst_rule_id BIGINT NOT NULL REFERENCES rules (rule_id),
    relation    VARCHAR NOT NULL CHECK (relation IN ('generalizes', 'derived_from', 'supersedes')),
    PRIMARY KEY (src_rule_id, dst_rule_id, relation)
);

CREATE TABLE model_runs (
    model_run_id    BIGINT PRIMARY KEY DEFAULT nextval('seq_model_run_id'),
    run_id          VARCHAR REFERENCES runs (run_id),
    started_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    seconds         DOUBLE NOT NULL DEFAULT 0,
    device          VARCHAR NOT NULL,
    n_params        BIGINT NOT NULL,
    config          JSON NOT NULL,
    n_train         INTEGER NOT NULL DEFAULT 0,
    n_valid         INTEGER NOT NULL DEFAULT 0,
    n_test          INTEGER NOT NULL DEFAULT 0,
    label_source    VARCHAR NOT NULL,
    metrics         JSON NOT NULL DEFAULT '{}',
    checkpoint_path VARCHAR
);
"""

# Wall time is kept per segment of a run (a start, then each resume): resumes can be told apart
# and time between a kill and its resume is not counted. A new table rather than a runs
# column, because DuckDB cannot ALTER a table that other tables reference.
_RUN_SEGMENTS = """
CREATE TABLE run_segments (
    run_id       VARCHAR NOT NULL REFERENCES runs (run_id),
    segment      INTEGER NOT NULL,
    started_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    wall_seconds DOUBLE NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, segment)
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _INITIAL),
    Migration(2, "run segments", _RUN_SEGMENTS),
)

# Every table the first migration creates, in dependency order (parents first).
TABLES: tuple[str, ...] = (
    "runs",
    "families",
    "experiments",
    "samples",
    "observations",
    "hypotheses",
    "hypothesis_events",
    "evidence",
    "rules",
    "rule_edges",
    "model_runs",
    "run_segments",
)

LATEST_VERSION = len(MIGRATIONS)
