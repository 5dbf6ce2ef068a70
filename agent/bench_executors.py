"""`eudoxus bench discovery --executor local,dask`: one campaign per executor, same seed.

Throughput is functions regressed per second of regression wall time (the part an executor
fans out); the overhead ratio is local over dask throughput measured in the same invocation.
The projection to a cluster splits each campaign's wall time into the controller's serial part
and the fanned-out regressions, and scales only the latter (Amdahl), from these measurements.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eudoxus.agent.config import CampaignConfig


def _warm_up(executor: Any, engine: str) -> float:
    """Start the workers and build their regression engine; seconds it took (reported apart,
    since a campaign pays it once, not per function)."""
    import numpy as np

    from eudoxus.agent.executor import regress_curves

    x = np.linspace(0.0, 4.0, 201)
    curves = np.stack([k * x for k in range(1, 9)])
    noises = np.full(len(curves), 1e-9)
    started = time.perf_counter()
    executor.map_chunks(regress_curves, len(curves),
                        lambda part: (engine, x, curves[part], noises[part]))
    return time.perf_counter() - started


def _one(config: CampaignConfig, kind: str, home: Path, scheduler: str | None) -> dict[str, Any]:
    from eudoxus.agent.bench_discovery import run_one
    from eudoxus.agent.executor import make_executor

    executor = make_executor(kind, config.workers, scheduler)
    startup = _warm_up(executor, config.engine)
    row = run_one(config, home, executor=executor)
    row["startup_seconds"] = startup
    regress = row["regress_seconds"]
    row.update(executor=kind, executor_name=executor.name, slots=max(1, config.workers),
               throughput=row["sr_calls"] / regress if regress > 0 else None,
               serial_seconds=max(0.0, row["wall_seconds"] - regress))
    return row


def project(row: dict[str, Any], slots: Sequence[int]) -> list[dict[str, Any]]:
    """Campaign wall time and regression throughput with `n` worker slots, from one run."""
    out = []
    per_slot = row["throughput"] / row["slots"] if row["throughput"] else None
    for n in slots:
        regress = row["regress_seconds"] * row["slots"] / n
        out.append({"slots": n,
                    "regressions_per_s": per_slot * n if per_slot else None,
                    "campaign_wall_s": row["serial_seconds"] + regress})
    return out


def run_executor_bench(config: CampaignConfig, kinds: Sequence[str], *,
                       scheduler: str | None = None, home: Path | None = None,
                       progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The same campaign on each executor; throughput, overhead ratio, same rules, projection."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="eudoxus-bench-") as scratch:
        base = Path(home) if home is not None else Path(scratch)
        for kind in kinds:
            if progress:
                progress(f"bench discovery: executor {kind}, seed {config.seed}")
            rows.append(_one(config, kind, base / f"executor-{kind}",
                             scheduler if kind == "dask" else None))
    by = {r["executor"]: r for r in rows}
    notes = []
    if "local" in by and "dask" in by and by["local"]["throughput"] and by["dask"]["throughput"]:
        ratio = by["local"]["throughput"] / by["dask"]["throughput"]
        notes.append(f"overhead: local / dask throughput = {by['local']['throughput']:.1f} / "
                     f"{by['dask']['throughput']:.1f} functions/s = {ratio:.2f}x")
        same = by["local"]["rules"] == by["dask"]["rules"]
        notes.append("accepted rules identical on both executors: " + ("yes" if same else "NO"))
    projection = []
    if "dask" in by and by["dask"]["throughput"]:
        d = by["dask"]
        projection = project(d, [d["slots"], 8, 32, 128])
        notes.append(
            f"projection from the dask run ({d['slots']} slot(s)): the controller's serial part "
            f"was {d['serial_seconds']:.1f} s of {d['wall_seconds']:.1f} s, so the campaign "
            f"cannot beat {d['serial_seconds']:.1f} s however many machines; regressions scale "
            f"at about {d['throughput'] / d['slots']:.1f} functions/s per worker core")
    return {"config": config.to_dict(), "runs": rows, "notes": notes,
            "projection": projection,
            "note": "throughput = functions regressed / regression wall seconds; projections "
                    "scale only the regressions (Amdahl), from the measured split"}
