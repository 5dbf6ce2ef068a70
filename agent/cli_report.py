"""CLI commands for overnight campaigns: `report RUN_ID` and `bench soak`.

Registered on the app of `eudoxus.agent.cli`, which imports this module once it is built.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from eudoxus.agent.cli import BadInput, HomeOption, _reader, app, bench_app
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


def bench_executors(config, kinds: str, scheduler: str | None, json_path: Path | None,
                    home: Path | None) -> None:
    """`bench discovery --executor ...`: the table, notes and JSON of the executor comparison."""
    from eudoxus.agent.bench_executors import run_executor_bench
    from eudoxus.agent.executor import EXECUTORS

    chosen = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in chosen if k not in EXECUTORS]
    if unknown or not chosen:
        raise BadInput(f"unknown executor {', '.join(unknown) or kinds!r}; choose from "
                       f"{', '.join(EXECUTORS)}")
    if "dask" in chosen:
        from eudoxus.agent.cli_campaign import _executor

        _executor("dask", config.workers, scheduler).close()  # reachable? a one-line error
    document = run_executor_bench(config, chosen, scheduler=scheduler, home=home,
                                  progress=note)
    emit_table(f"Executors: preset {config.preset}, seed {config.seed}",
               ["executor", "startup s", "status", "functions", "SR calls", "regress s",
                "functions/s", "wall s", "rules"],
               [(r["executor_name"], f"{r['startup_seconds']:.1f}", r["status"], r["functions"],
                 r["sr_calls"],
                 f"{r['regress_seconds']:.2f}",
                 f"{r['throughput']:.1f}" if r["throughput"] else "n/a",
                 f"{r['wall_seconds']:.1f}", r["rules_accepted"]) for r in document["runs"]])
    if document["projection"]:
        emit_table("Projection (regressions scale with worker cores; the controller does not)",
                   ["worker cores", "functions regressed/s", "campaign wall s"],
                   [(p["slots"], f"{p['regressions_per_s']:.1f}", f"{p['campaign_wall_s']:.1f}")
                    for p in document["projection"]])
    for line in document["notes"]:
        note(line)
    write_json(json_path, document)


@app.command("report")
def report(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (see `eudoxus runs list`).")],
    fmt: Annotated[str, typer.Option("--format", help="markdown or html.")] = "markdown",
    out: Annotated[Path | None, typer.Option(
        help="Write the report here instead of printing it.")] = None,
    home: HomeOption = None,
) -> None:
    """The morning report of a run, finished or interrupted: rules, refutations, budget, plots."""
    from eudoxus.agent.report import FORMATS, render
    from eudoxus.agent.report_data import gather

    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    with _reader(ctx, home) as store:
        if store.get_run(run_id) is None:
            raise BadInput(f"no run {run_id!r}")
        text = render(gather(store, run_id), fmt)
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    note(f"wrote {out}")
