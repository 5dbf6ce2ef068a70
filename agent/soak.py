"""`eudoxus bench soak`: one long campaign, watching its memory and per-step time.

The campaign runs in this process in soak mode (`keep_exploring`: after every line of inquiry
closes it keeps measuring and regressing fresh functions) with a wall-time budget and no
function budget to speak of. Before each step we record the process's resident memory and the
previous step's duration, so what grows with the length of a run shows up as a slope.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

from eudoxus.agent import events as ev
from eudoxus.agent.config import CampaignConfig

CSV_COLUMNS = ("step", "elapsed_s", "kind", "family", "step_seconds", "rss_mb", "db_mb",
               "functions")
SOAK_KIND = "soak"  # an explore step taken after every line closed: the soak's unit of work


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:  # not Linux: the peak is the best the standard library offers
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


class StepSampler:
    """A bus handler that turns each step's Progress event into one row of the soak curve."""

    def __init__(self, csv_path: Path | None = None, db_path: Path | None = None) -> None:
        self.db_path = db_path  # the store's file (and its WAL), whose growth is expected
        self.rows: list[dict[str, Any]] = []
        self._started = time.monotonic()
        self._step: dict[str, Any] | None = None  # the step in progress
        self._csv = None
        if csv_path is not None:
            # Written as it goes, so an hour-long soak that is stopped still leaves its curve.
            csv_path.parent.mkdir(parents=True, exist_ok=True)
            self._csv = open(csv_path, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._writer = csv.DictWriter(self._csv, fieldnames=CSV_COLUMNS)
            self._writer.writeheader()

    def close(self) -> None:
        """Close the CSV file, if any."""
        if self._csv is not None:
            self._csv.close()

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.Progress):
            self._close_step()
            soak = "soak mode" in event.message
            self._step = {"began": time.monotonic(), "kind": SOAK_KIND if soak else event.stage,
                          "family": None, "functions": int(event.done)}
        elif isinstance(event, ev.ExperimentDone) and self._step is not None:
            self._step["family"] = self._step["family"] or event.family
        elif isinstance(event, ev.RunEnded):
            # The last step's time would include closing the run: not comparable, not kept.
            self._step = None

    def _db_mb(self) -> float:
        if self.db_path is None:
            return 0.0
        files = (self.db_path, self.db_path.with_name(self.db_path.name + ".wal"))
        return sum(f.stat().st_size for f in files if f.exists()) / 1e6

    def _close_step(self) -> None:
        step, now = self._step, time.monotonic()
        if step is None:
            return
        # Progress is published after planning, so a step's time runs from one Progress to
        # the next: the tools, the transaction, the events and the next plan.
        row = {"step": len(self.rows), "elapsed_s": round(now - self._started, 3),
               "kind": step["kind"], "family": step["family"],
               "step_seconds": round(now - step["began"], 4), "rss_mb": round(rss_mb(), 1),
               "db_mb": round(self._db_mb(), 2), "functions": step["functions"]}
        self.rows.append(row)
        if self._csv is not None:
            self._writer.writerow(row)
            self._csv.flush()


def _window(rows: list[dict[str, Any]], first: bool, share: float = 0.1) -> list[dict]:
    n = max(1, int(len(rows) * share))
    return rows[:n] if first else rows[-n:]


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Start and end figures (medians of the first and last tenth) and their ratios.

    Step time is the time of one soak round: for each family, the median of its first (last)
    tenth of soak steps, summed over families. Families differ by 100x in regression time and
    discovery steps differ from soak steps, so only like is compared with like.
    """
    soak = [r for r in rows if r["kind"] == SOAK_KIND]
    out: dict[str, Any] = {"steps": len(rows), "soak_steps": len(soak)}
    if not rows:
        return out
    start, end = _window(rows, True), _window(rows, False)
    out["rss_mb_start"] = median(r["rss_mb"] for r in start)
    out["rss_mb_end"] = median(r["rss_mb"] for r in end)
    out["rss_mb_max"] = max(r["rss_mb"] for r in rows)
    out["rss_growth"] = out["rss_mb_end"] / out["rss_mb_start"]
    families = sorted({r["family"] for r in soak if r["family"]})
    by_family = {f: [r for r in soak if r["family"] == f] for f in families}
    if families and all(len(v) >= 2 for v in by_family.values()):
        out["round_s_start"] = sum(median(r["step_seconds"] for r in _window(v, True))
                                   for v in by_family.values())
        out["round_s_end"] = sum(median(r["step_seconds"] for r in _window(v, False))
                                 for v in by_family.values())
        out["round_growth"] = out["round_s_end"] / out["round_s_start"]
    hours = (rows[-1]["elapsed_s"] - rows[0]["elapsed_s"]) / 3600
    if hours > 0:
        out["rss_mb_per_hour"] = (out["rss_mb_end"] - out["rss_mb_start"]) / hours
    return out


def run_soak(config: CampaignConfig, seconds: float, *, home: Path | None = None,
             csv_path: Path | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run one soak campaign for `seconds`; its curve (rows) and start/end summary."""
    from eudoxus.agent.campaign import Campaign
    from eudoxus.memory import Lab, Store

    config = config.with_overrides(keep_exploring=True, wall_seconds=float(seconds),
                                   functions=10**9, tool_calls=10**9)
    sampler = StepSampler(csv_path)
    try:
        with tempfile.TemporaryDirectory(prefix="eudoxus-soak-") as scratch:
            lab = Lab.resolve(Path(home) if home is not None else Path(scratch))
            sampler.db_path = lab.db_path
            with Store.open(lab.home) as store:
                campaign = Campaign(store, lab, config)
                campaign.bus.subscribe(sampler)
                if progress:
                    progress(f"bench soak: run {campaign.run_id} for {seconds:g} s")
                outcome = campaign.run()
    finally:
        sampler.close()
    rows = sampler.rows
    return {"config": config.to_dict(), "seconds": seconds, "run_id": outcome.run_id,
            "status": outcome.status, "reason": outcome.reason,
            "counters": outcome.counters, "summary": summarize(rows), "rows": rows}
