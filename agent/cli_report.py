"""CLI commands for overnight campaigns: `report RUN_ID` and `bench soak`.

Registered on the app of `eudoxus.agent.cli`, which imports this module once it is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eudoxus.agent.cli import BadInput, bench_app
from eudoxus.agent.output import emit_table, note, write_json


@bench_app.command("soak")
def bench_soak(
    preset: Annotated[str, typer.Option(help="Preset to soak: paper, beyond or smoke.")]
    = "paper",
    seconds: Annotated[float, typer.Option(help="Wall seconds the campaign runs.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    workers: Annotated[int, typer.Option(help="Regression processes (0: in-process, so "
                                              "the measured process does all the work).")] = 0,
    random_batch: Annotated[int | None, typer.Option(
        help="Functions per explore step once every line is closed.")] = None,
    csv_path: Annotated[Path | None, typer.Option(
        "--csv", help="Write the per-step curve (RSS, step time) as CSV here.")] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="Write the results as JSON here.")] = None,
    home: Annotated[Path | None, typer.Option(
        "--home", help="Lab for the soak run (default: a temporary one).")] = None,
) -> None:
    """One long campaign in soak mode: does its memory or step time grow with its length?"""
    from eudoxus.agent.cli_campaign import _config  # here: both modules load inside cli
    from eudoxus.agent.soak import run_soak

    if seconds <= 0:
        raise BadInput(f"seconds must be positive, not {seconds:g}")
    config = _config(preset, None, seed=seed, workers=workers, random_batch=random_batch)
    document = run_soak(config, seconds, home=home, csv_path=csv_path, progress=note)
    if csv_path is not None:
        note(f"wrote {csv_path}")
    s = document["summary"]

    def fmt(key: str, unit: str) -> str:
        return f"{s[key]:.3g}{unit}" if key in s else "n/a"

    emit_table(f"Soak: preset {preset}, {seconds:g} s ({document['status']})",
               ["", "start", "end", "end / start"],
               [("RSS (MB)", fmt("rss_mb_start", ""), fmt("rss_mb_end", ""),
                 fmt("rss_growth", "x")),
                ("soak round (s)", fmt("round_s_start", ""), fmt("round_s_end", ""),
                 fmt("round_growth", "x"))])
    note(f"{s.get('steps', 0)} steps ({s.get('soak_steps', 0)} soak), "
         f"{document['counters']['functions']} functions; peak RSS {fmt('rss_mb_max', ' MB')}")
    write_json(json_path, document)
