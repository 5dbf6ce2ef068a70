"""CLI commands that run or read campaigns: `run`, `runs show`, `integrate`, `bench discovery`.

Registered on the app of `eudoxus.agent.cli`, which imports this module once it is built.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from eudoxus.agent.cli import (
    EXIT_INTERRUPTED,
    BadInput,
    HomeOption,
    JsonOption,
    _home,
    _reader,
    _rule_json,
    app,
    bench_app,
    print_rules,
    runs_app,
)
from eudoxus.agent.output import emit_json, emit_table, note, stdout, write_json


def _config(preset: str | None, config_path: Path | None, **overrides: Any):
    from eudoxus.agent.config import ConfigError, load_config

    try:
        return load_config(preset, config_path).with_overrides(**overrides)
    except ConfigError as error:
        raise BadInput(str(error)) from error
    except (TypeError, ValueError) as error:
        raise BadInput(str(error).splitlines()[0]) from error


def _executor(kind: str, workers: int, scheduler: str | None):
    """The executor a run asked for, connected now so a bad address is a one-line error."""
    from eudoxus.agent.executor import make_executor

    try:
        chosen = make_executor(kind, workers, scheduler)
        if kind == "dask":
            from eudoxus.agent.executor_dask import DaskUnavailable

            try:
                chosen.start()
            except DaskUnavailable as error:
                raise BadInput(str(error)) from error
    except ValueError as error:
        raise BadInput(str(error)) from error
    return chosen


@app.command("run")
def run(
    ctx: typer.Context,
    preset: Annotated[str, typer.Option(help="Built-in preset: paper, beyond or smoke.")] = "paper",
    config_path: Annotated[Path | None, typer.Option(
        "--config", help="TOML file over the preset (keys as in `CampaignConfig`).")] = None,
    resume: Annotated[str | None, typer.Option(
        help="Continue this run id (its own config; budget options may raise its budgets).")]
    = None,
    strategy: Annotated[str | None, typer.Option(help="adaptive (Adam-like) or random.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (deterministic given it).")] = None,
    families: Annotated[str | None, typer.Option(help="Comma-separated families.")] = None,
    functions: Annotated[int | None, typer.Option(help="Budget of measured functions.")] = None,
    wall_seconds: Annotated[float | None, typer.Option(help="Budget of wall seconds.")] = None,
    tool_calls: Annotated[int | None, typer.Option(help="Budget of tool calls.")] = None,
    workers: Annotated[int | None, typer.Option(help="Regression processes (0: in-process).")]
    = None,
    engine: Annotated[str | None, typer.Option(help="Regression engine.")] = None,
    integrator: Annotated[str | None, typer.Option(help="Area instrument.")] = None,
    tui: Annotated[bool, typer.Option(
        "--tui", help="Watch it in the live lab (q stops after the current step).")] = False,
    executor: Annotated[str, typer.Option(
        help="Where regressions run: local (a process pool) or dask.")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://HOST:PORT); without it --executor dask starts "
             "a local cluster of --workers processes.")] = None,
    home: HomeOption = None,
) -> None:
    """Run a discovery campaign headless (Ctrl-C stops after the current step; resumable)."""
    from eudoxus.agent.campaign import Campaign, CampaignError
    from eudoxus.agent.config import ConfigError
    from eudoxus.memory import Lab, Store

    if tui:
        from eudoxus.agent.cli_tui import require_terminal

        require_terminal("run --tui")
    lab = Lab.resolve(_home(ctx, home))
    stop = threading.Event()
    with Store.open(lab.home) as store:
        if resume is not None:
            try:
                campaign = Campaign.resume(store, lab, resume)
            except CampaignError as error:
                raise BadInput(str(error)) from error
            # A resumed run keeps its plan (seed, families, strategy...); only its budgets may
            # grow, e.g. to continue a run that ran out of functions.
            budgets = {"functions": functions, "wall_seconds": wall_seconds,
                       "tool_calls": tool_calls}
            try:
                campaign.config = campaign.config.with_overrides(**budgets)
            except ConfigError as error:
                raise BadInput(str(error)) from error
        else:
            config = _config(preset, config_path, strategy=strategy, seed=seed,
                             families=families.split(",") if families else None,
                             functions=functions, wall_seconds=wall_seconds,
                             tool_calls=tool_calls, workers=workers, engine=engine,
                             integrator=integrator)
            campaign = Campaign(store, lab, config)
        campaign.executor = _executor(executor, campaign.config.workers, scheduler)
        if tui:
            from eudoxus.agent.cli_tui import run_in_lab

            outcome = run_in_lab(campaign)
        else:
            outcome = _run_headless(campaign, stop)
        rules = store.list_rules(run_id=outcome.run_id, status="accepted")
    print_rules(rules)
    note(f"run {outcome.run_id}: {outcome.status} ({outcome.reason}); resume with "
         f"`eudoxus run --resume {outcome.run_id}`" if outcome.status != "completed" else
         f"run {outcome.run_id}: completed; details with `eudoxus runs show {outcome.run_id}`")
    if outcome.status == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)


def _run_headless(campaign: Any, stop: threading.Event):
    """Run with the console view; the first Ctrl-C stops after the step, the second aborts it."""
    from eudoxus.agent.live import console_view

    view = console_view(campaign.config.functions)
    campaign.bus.subscribe(view)

    def graceful(signum: int, frame: Any) -> None:
        if stop.is_set():  # a second Ctrl-C: the user means it
            raise KeyboardInterrupt
        stop.set()
        note("stopping after the current step (Ctrl-C again to abort it)")

    previous = signal.signal(signal.SIGINT, graceful)
    try:
        return campaign.run(stop)
    finally:
        signal.signal(signal.SIGINT, previous)
        view.close()


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (see `eudoxus runs list`).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: configuration, counters (functions, integrations, SR calls, time), rules."""
    with _reader(ctx, home) as store:
        run_row = store.get_run(run_id)
        if run_row is None:
            raise BadInput(f"no run {run_id!r}")
        counters = store.run_counters(run_id)
        rules = store.list_rules(run_id=run_id)
        hypotheses = store.list_hypotheses(run_id)
    document = {"run_id": run_id, "status": run_row.status, "end_reason": run_row.end_reason,
                "strategy": run_row.strategy, "seed": run_row.seed, "preset": run_row.preset,
                "started_at": run_row.started_at, "ended_at": run_row.ended_at,
                "counters": counters, "config": run_row.config,
                "rules": [_rule_json(r) for r in rules],
                "hypotheses": {s: sum(h.status == s for h in hypotheses) for s in
                               ("proposed", "testing", "accepted", "refuted", "superseded")}}
    if as_json:
        emit_json(document)
        return
    emit_table(f"Run {run_id}", ["", "value"],
               [("status", f"{run_row.status} ({run_row.end_reason or ''})"),
                ("strategy / seed", f"{run_row.strategy} / {run_row.seed}"),
                *((name.replace("_", " "), value) for name, value in counters.items())])
    print_rules(rules)


@app.command("integrate")
def integrate_command(
    ctx: typer.Context,
    expression: Annotated[str, typer.Argument(help="f(x), e.g. '3*sin(2*x) + x**2'.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """∫₀ˣ f from the accepted rules alone, with the rule ids used (or say none covers it)."""
    import numpy as np

    from eudoxus.tools.apply import KnownRule, answer
    from eudoxus.tools.expr import parse, relative_error, to_numpy
    from eudoxus.tools.integrate import grid, integrate

    f = parse(expression)  # the safe parser: a bad expression is a one-line error
    with _reader(ctx, home) as store:
        stored = store.list_rules(status="accepted")
        families = {fam.family_id: fam for fam in store.list_families()}
    known = [KnownRule(r.rule_id, r.integrand,
                       tuple(families[r.family_id].parameters) if r.family_id in families
                       else ("a", "n"), r.statement, tuple(r.conditions), r.kind, r.family)
             for r in stored]
    result = answer(f, known)
    document: dict[str, Any] = {"integrand": result.integrand, "covered": result.covered,
                                "integral": result.text, "by_linearity": result.by_linearity,
                                "steps": [vars(s) for s in result.steps],
                                "uncovered": list(result.uncovered)}
    if result.covered:
        # Say how well the answer agrees with a fresh measurement of the area (trapezoid).
        x = grid(4.0, 10_000)
        measured = integrate(lambda t: to_numpy(f)(t), x).g[0]
        document["check"] = {"measured_on": "[0, 4], trapezoid, 10,000 points",
                             "eq1_error": relative_error(measured, to_numpy(result.integral)(x))
                             if np.all(np.isfinite(measured)) else None}
    if as_json:
        emit_json(document)
    elif result.covered:
        stdout.print(f"∫₀ˣ {result.integrand} dx = {result.text}", markup=False,
                     highlight=False)
        for s in result.steps:
            stdout.print(f"  {s.term}  →  {s.integral}   (rule #{s.rule_id})", markup=False,
                         highlight=False)
        if result.by_linearity:
            note("split term by term (linearity of area)")
        check = document["check"]["eq1_error"]
        if check is not None:
            note(f"check against a fresh measured area on [0, 4]: eq. 1 error {check:.1e}")
    else:
        stdout.print(f"No accepted rule covers ∫₀ˣ {result.integrand} dx; uncovered: "
                     f"{', '.join(result.uncovered)}", markup=False, highlight=False)
    if not result.covered:
        raise typer.Exit(1)


@bench_app.command("discovery")
def bench_discovery(
    preset: Annotated[str, typer.Option(help="Preset to run: paper, beyond or smoke.")] = "paper",
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds.")] = "0",
    strategies: Annotated[str, typer.Option(help="Strategies to compare.")] = "adaptive,random",
    workers: Annotated[int | None, typer.Option(help="Regression processes.")] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="Write the results as JSON here.")] = None,
    home: Annotated[Path | None, typer.Option(
        "--home", help="Lab for the benchmark runs (default: a temporary one).")] = None,
    executor: Annotated[str | None, typer.Option(
        help="Compare executors instead of strategies, e.g. local,dask (first seed, first "
             "strategy): regression throughput and overhead ratio.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address for --executor dask (default: a local cluster).")] = None,
) -> None:
    """Run the preset with each strategy on the same seeds; compare functions and wall time."""
    from eudoxus.agent.bench_discovery import run_discovery_bench

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError as error:
        raise BadInput(f"seeds must be integers: {seeds!r}") from error
    config = _config(preset, None, workers=workers)
    if executor is not None:
        from eudoxus.agent.cli_report import bench_executors

        bench_executors(config.with_overrides(seed=seed_list[0] if seed_list else 0,
                                              strategy=strategies.split(",")[0].strip()),
                        executor, scheduler, json_path, home)
        return
    document = run_discovery_bench(config, seed_list, strategies.split(","), home=home,
                                   progress=note)
    emit_table(f"Discovery benchmark: preset {preset}",
               ["strategy", "seed", "status", "functions", "SR calls", "wall s", "rules",
                "targets found", "all targets"],
               [(r["strategy"], r["seed"], r["status"], r["functions"], r["sr_calls"],
                 f"{r['wall_seconds']:.1f}", r["rules_accepted"],
                 f"{r['targets_found']}/{r['targets']}", "yes" if r["complete"] else "no")
                for r in document["runs"]])
    for line in document["ratios"]:
        note(line)
    write_json(json_path, document)
