"""The intuition seen from the controller: gather the lab's knowledge, retrain, record, load.

Tools never touch the store, so this module reads the accepted rules and fits out of it as
plain records for `tools.seq2seq`, and writes each training into `model_runs` with its metrics
and checkpoint. torch loads only when a model is trained or read.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any

from eudoxus.memory.lab import Lab
from eudoxus.memory.records import ModelRun
from eudoxus.memory.store import Store
from eudoxus.tools.seq2seq import LABEL_SOURCE, FitRecord, Retraining, RuleRecord


def knowledge(store: Store, run_id: str | None = None,
              ) -> tuple[list[RuleRecord], list[FitRecord]]:
    """Accepted per-family rules (newest first) and accepted fits of the lab, or of one run."""
    rules = [RuleRecord(r.family, r.statement, r.rule_id)
             for r in store.list_rules(status="accepted", run_id=run_id)
             if r.kind != "meta" and r.family]
    fits = [FitRecord(family, tuple(params), expression, oid)
            for family, params, expression, oid in store.accepted_fits(run_id)]
    return rules, fits


def checkpoint_dir(lab: Lab, run_id: str | None) -> Path:
    """Where a new training's checkpoint goes: in its run's folder, or the lab's models/."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    parent = lab.run_dir(run_id) / "models" if run_id else lab.home / "models"
    return parent / stamp


def record(store: Store, retraining: Retraining, run_id: str | None = None) -> ModelRun:
    """One row in `model_runs`: config, data sizes, metrics and checkpoint of a training."""
    data = retraining.config["data"]
    return store.add_model_run(
        device=retraining.device, n_params=retraining.n_params, config=retraining.config,
        label_source=LABEL_SOURCE, run_id=run_id, seconds=retraining.seconds,
        n_train=data["n_train"], n_valid=data["n_valid"], n_test=data["n_test"],
        metrics=retraining.record(),
        checkpoint_path=str(retraining.checkpoint) if retraining.checkpoint else None)


def latest_checkpoint(store: Store, run_id: str | None = None) -> tuple[ModelRun, Path] | None:
    """The newest training whose checkpoint is still on disk, or None."""
    for row in reversed(store.list_model_runs(run_id)):
        if row.checkpoint_path and (Path(row.checkpoint_path) / "model.safetensors").is_file():
            return row, Path(row.checkpoint_path)
    return None


@functools.lru_cache(maxsize=2)
def _load(path: Path, device: str) -> Any:
    from eudoxus.models import checkpoint

    return checkpoint.load(path, device=device)


def load_model(path: str | Path, device: str = "cpu") -> Any:
    """A checkpoint read back (model, tokenizer, config, meta); the last two are kept, so the
    guess steps that follow one training read it once."""
    return _load(Path(path).absolute(), device)


def target_of(model_run: Any) -> str:
    """The target format a recorded training learned: decimal or symbolic."""
    spec = ((model_run.config or {}).get("data") or {}).get("spec") or {}
    return spec.get("target", "decimal")
