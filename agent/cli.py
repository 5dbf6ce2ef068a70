"""The `eudoxus` command line: results on stdout, diagnostics on stderr, exit codes 0/1/2/3/130."""

from __future__ import annotations

import os
import sys
import traceback
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer

from eudoxus.agent.output import (
    emit_csv,
    emit_json,
    emit_table,
    note,
    percent,
    stdout,
    write_json,
)

EXIT_OK, EXIT_BUG, EXIT_BAD_INPUT, EXIT_STORE_UNAVAILABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class BadInput(Exception):
    """User input that cannot be acted on; reported in one line with exit code 2."""


app = typer.Typer(
    name="eudoxus",
    help="An automated scientist that rediscovers the rules of integration from measured areas.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The lab store: path, status, migrations, snapshot, backup.",
                     no_args_is_help=True)
runs_app = typer.Typer(help="Campaign runs recorded in the lab.", no_args_is_help=True)
rules_app = typer.Typer(help="Discovered integration rules.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(runs_app, name="runs")
app.add_typer(rules_app, name="rules")

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Lab directory (default: $EUDOXUS_HOME, else ./.eudoxus).",
                 show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _version() -> str:
    try:
        return version("eudoxus")
    except PackageNotFoundError:
        return "0+unknown"


def _version_callback(value: bool) -> None:
    if value:
        stdout.print(f"eudoxus {_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: HomeOption = None,
    show_version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version_callback, is_eager=True,
                     help="Print the version and exit."),
    ] = None,
) -> None:
    """Eudoxus: measure areas, infer closed forms, find and test the rules behind them."""
    ctx.obj = {"home": home}


def _home(ctx: typer.Context, home: Path | None) -> Path | None:
    """The subcommand's --home, else the one given before the subcommand."""
    if home is not None:
        return home
    root_ctx = ctx.find_root()
    return (root_ctx.obj or {}).get("home")


def _reader(ctx: typer.Context, home: Path | None):
    from eudoxus.memory import Store

    store = Store.open_read_only(_home(ctx, home), notify=note)
    if store.source == "missing":
        note(f"note: no lab store at {store.path} yet; nothing has been recorded")
    return store


def _writer(ctx: typer.Context, home: Path | None):
    from eudoxus.memory import Store

    return Store.open(_home(ctx, home))


# ---- db ---------------------------------------------------------------------------------


@db_app.command("path")
def db_path(ctx: typer.Context, home: HomeOption = None) -> None:
    """Print the path of the lab database."""
    from eudoxus.memory import Lab

    stdout.print(str(Lab.resolve(_home(ctx, home)).db_path), highlight=False, markup=False)


@db_app.command("status")
def db_status(ctx: typer.Context, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show schema version, row counts and snapshot age."""
    with _reader(ctx, home) as store:
        status = store.status()
    if as_json:
        emit_json(status)
        return
    age = status.snapshot_age_seconds
    rows = [
        ("database", status.path),
        ("reading from", status.source),
        ("size", f"{status.size_bytes / 1e6:.2f} MB"),
        ("schema version", f"{status.schema_version} (latest {status.latest_version})"),
        ("snapshot", f"{status.snapshot_path} ({age:.0f} s old)" if age is not None else "none"),
        *((f"rows: {name}", str(n)) for name, n in status.table_rows.items()),
    ]
    emit_table("Lab store", ["", "value"], rows)


@db_app.command("migrate")
def db_migrate(ctx: typer.Context, home: HomeOption = None) -> None:
    """Create the database if needed and apply pending migrations."""
    with _writer(ctx, home) as store:
        applied = store.applied_migrations()
        stdout.print(f"{store.path}: schema version {store.schema_version()}", highlight=False)
        for migration in applied:
            stdout.print(f"  {migration.version:>3}  {migration.name}  "
                         f"(applied {migration.applied_at:%Y-%m-%d %H:%M:%S})", highlight=False)


@db_app.command("snapshot")
def db_snapshot(ctx: typer.Context, home: HomeOption = None) -> None:
    """Refresh the read-only snapshot that readers use while a campaign runs."""
    with _writer(ctx, home) as store:
        stdout.print(str(store.snapshot()), highlight=False, markup=False)


@db_app.command("backup")
def db_backup(
    ctx: typer.Context,
    destination: Annotated[Path | None, typer.Argument(help="File to write (default: "
                                                       "backups/eudoxus-<time>.duckdb).")] = None,
    home: HomeOption = None,
) -> None:
    """Copy the database, checkpointed, to a backup file."""
    if destination is not None and destination.is_dir():
        raise BadInput(f"{destination} is a directory; give a file name for the backup")
    with _writer(ctx, home) as store:
        stdout.print(str(store.backup(destination)), highlight=False, markup=False)


# ---- runs -------------------------------------------------------------------------------


@runs_app.command("list")
def runs_list(
    ctx: typer.Context,
    home: HomeOption = None,
    as_json: JsonOption = False,
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
) -> None:
    """List campaign runs, newest first."""
    with _reader(ctx, home) as store:
        runs = store.list_runs(status=status)
    if as_json:
        emit_json(runs)
        return
    if not runs:
        note("No runs yet. Start one with `eudoxus run`.")
        return
    emit_table(
        "Runs",
        ["run", "status", "strategy", "seed", "started", "ended", "experiments", "functions",
         "rules"],
        [
            (s.run.run_id, s.run.status, s.run.strategy, s.run.seed,
             f"{s.run.started_at:%Y-%m-%d %H:%M}",
             f"{s.run.ended_at:%Y-%m-%d %H:%M}" if s.run.ended_at else "",
             s.n_experiments, s.n_functions, s.n_rules)
            for s in runs
        ],
    )


# ---- rules ------------------------------------------------------------------------------


class ExportFormat(StrEnum):
    """Formats of `rules export`."""

    json = "json"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"


def _rule_json(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.rule_id,
        "family": rule.family,
        "integrand": rule.integrand,
        "integral": rule.statement,
        "latex": rule.latex,
        "kind": rule.kind,
        "conditions": rule.conditions,
        "status": rule.status,
        "evidence": {
            "support": rule.n_support,
            "falsification": rule.n_falsification,
            "max_error": rule.max_error,
        },
        "audit_passed": rule.audit_passed,
        "run_id": rule.run_id,
        "hypothesis_id": rule.hypothesis_id,
        "accepted_at": rule.accepted_at,
        "provenance": rule.provenance,
    }


def _audit_text(passed: bool | None) -> str:
    return {True: "passed", False: "FAILED", None: "not run"}[passed]


@rules_app.command("list")
def rules_list(
    ctx: typer.Context,
    home: HomeOption = None,
    as_json: JsonOption = False,
    family: Annotated[str | None, typer.Option(help="Only rules of this family.")] = None,
    status: Annotated[str | None, typer.Option(help="accepted or superseded.")] = None,
    run: Annotated[str | None, typer.Option(help="Only rules found by this run.")] = None,
) -> None:
    """List discovered rules (JSON newest first; the table in the order found)."""
    with _reader(ctx, home) as store:
        rules = store.list_rules(status=status, family=family, run_id=run)
    if as_json:
        emit_json([_rule_json(r) for r in rules])
        return
    if not rules:
        note("No rules discovered yet.")
        return
    print_rules(rules, "Rules")


def _found_by(text: str) -> str:
    """A short label for a rule's provenance (the full sentence is in `rules show`)."""
    for prefix, label in (("coefficient regression", "regression"),
                          ("power-law regression", "meta-regression"),
                          ("deduced from rule", "deduced")):
        if text.startswith(prefix):
            return label + text[len(prefix):].replace(" over observations", "").replace(
                " over accepted rules", "")
    return text


def print_rules(rules: list[Any], title: str = "Discovered rules") -> None:
    """The rules table shared by `rules list`, `run` and `runs show`, in the order found."""
    if not rules:
        note("No rules accepted in this run.")
        return
    emit_table(title,
               ["id", "family", "∫₀ˣ f dx", "=", "when", "status", "tests", "max err",
                "found by", "audit*"],
               [(r.rule_id, r.family or "(power law)", r.integrand, r.statement,
                 ", ".join(r.conditions), r.status, r.n_falsification,
                 f"{r.max_error:.1e}" if r.max_error is not None else "-",
                 _found_by(r.provenance.get("found_by", "")), _audit_text(r.audit_passed))
                for r in sorted(rules, key=lambda r: r.rule_id)])
    note("* audit = sympy differentiation, outside knowledge recorded beside the verdict; "
         "acceptance came only from predicting measured areas.")


@rules_app.command("show")
def rules_show(
    ctx: typer.Context,
    rule_id: Annotated[int, typer.Argument(help="Rule id (see `eudoxus rules list`).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one rule with its evidence, falsification results and lineage of its hypothesis."""
    with _reader(ctx, home) as store:
        rule = store.get_rule(rule_id)
        if rule is None:
            raise BadInput(f"no rule with id {rule_id}")
        hypothesis = store.get_hypothesis(rule.hypothesis_id) if rule.hypothesis_id else None
        history = store.hypothesis_events(rule.hypothesis_id) if hypothesis else []
        evidence = store.evidence(rule.hypothesis_id) if hypothesis else []
        # The paper's tables: one regression table per coefficient law behind the rule.
        laws = [store.get_hypothesis(i) for i in
                (hypothesis.details.get("coefficients", []) if hypothesis else [])]
        tables = [(law, store.evidence(law.hypothesis_id, "regression")) for law in laws if law]
        edges = [e for e in store.rule_edges() if rule_id in (e.src_rule_id, e.dst_rule_id)]
    regressions = [e for e in evidence if e.kind == "regression"]
    tests = [e for e in evidence if e.kind == "falsification"]
    if as_json:
        emit_json({**_rule_json(rule), "srepr": rule.srepr, "audit_detail": rule.audit_detail,
                   "history": history, "regressions": regressions,
                   "coefficient_laws": [{"statement": law.statement, "regressions": rows}
                                        for law, rows in tables],
                   "falsification": tests, "lineage": edges})
        return
    stdout.print(f"[bold]Rule {rule.rule_id}[/bold] ({rule.kind}, {rule.status})")
    stdout.print(f"  ∫₀ˣ {rule.integrand} dx = {rule.statement}", markup=False, highlight=False)
    if rule.conditions:
        stdout.print(f"  when {', '.join(rule.conditions)}", markup=False, highlight=False)
    stdout.print(f"  family {rule.family or '-'}, run {rule.run_id or '-'}, "
                 f"accepted {rule.accepted_at:%Y-%m-%d %H:%M:%S}, "
                 f"found by {rule.provenance.get('found_by', '-')}", markup=False)
    worst = f"{rule.max_error:.2e}" if rule.max_error is not None else "-"
    stdout.print(f"  falsification: {rule.n_falsification} fresh functions, max eq.1 error "
                 f"{worst}", markup=False)
    stdout.print(f"  audit: {_audit_text(rule.audit_passed)} — {rule.audit_detail or 'not run'}",
                 markup=False)
    for law, rows in [(None, regressions), *tables]:
        if rows:
            best = sorted(rows, key=lambda e: -(e.r2 if e.r2 is not None else -1))[:12]
            emit_table(f"Regressions for {law.statement}" if law else "Regression evidence",
                       ["predictor", "R²", "slope", "intercept", "passed"],
                       [(e.predictor, e.r2, e.slope, e.intercept, e.passed) for e in best])
    if tests:
        failed = sum(1 for e in tests if e.passed is False)
        emit_table(f"Falsification ({len(tests)} cases, {failed} failed; first 20)",
                   ["sample", "predicted", "measured", "error", "passed"],
                   [(e.sample_id, e.predicted, e.measured, e.error, e.passed) for e in tests[:20]])
    if edges:
        emit_table("Lineage", ["from rule", "relation", "to rule"],
                   [(e.src_rule_id, e.relation, e.dst_rule_id) for e in edges])
    if history:
        emit_table("Hypothesis history", ["when", "from", "to", "reason"],
                   [(f"{h.changed_at:%H:%M:%S}", h.from_status or "", h.to_status, h.reason)
                    for h in history])


@rules_app.command("export")
def rules_export(
    ctx: typer.Context,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ExportFormat.json
    ),
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    home: HomeOption = None,
    status: Annotated[str | None, typer.Option(help="accepted or superseded.")] = "accepted",
) -> None:
    """Export rules as JSON, CSV, Markdown or LaTeX."""
    from eudoxus.agent.export import render_rules

    with _reader(ctx, home) as store:
        rules = store.list_rules(status=status)
    text = render_rules([_rule_json(r) for r in rules], fmt.value)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        note(f"wrote {len(rules)} rule(s) to {out}")
    if not rules:
        note("No rules discovered yet; the export is empty.")


# ---- query ------------------------------------------------------------------------------


@app.command("query")
def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="SQL to run read-only (SELECT, EXPLAIN, PRAGMA).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    max_rows: Annotated[int, typer.Option(help="Rows shown in a table (JSON/CSV get all).")] = 200,
) -> None:
    """Run read-only SQL against the lab store (writes are refused)."""
    if as_json and as_csv:
        raise BadInput("choose one of --json and --csv")
    with _reader(ctx, home) as store:
        result = store.query(sql)
    if as_json:
        emit_json(result.as_dicts())
    elif as_csv:
        emit_csv(result.columns, result.rows)
    else:
        emit_table(None, result.columns, result.rows[:max_rows])
        if len(result.rows) > max_rows:
            note(f"showing {max_rows} of {len(result.rows)} rows (use --json or --csv for all)")


# ---- bench ------------------------------------------------------------------------------

bench_app = typer.Typer(help="Benchmarks that write a table and JSON.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("sr")
def bench_sr(
    engine: Annotated[list[str] | None, typer.Option(
        "--engine", help="Regression engine (repeat to compare engines in one run).")] = None,
    families: Annotated[str, typer.Option(
        help="paper, beyond, all, or comma-separated family names.")] = "paper",
    n: Annotated[int, typer.Option("--n", min=1, help="Functions per family.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the built-in cases.")] = 0,
    integrator: Annotated[str, typer.Option(
        help="trapezoid (the paper's), simpson, gauss-legendre or nni.")] = "trapezoid",
    cases: Annotated[Path | None, typer.Option(
        help="JSONL file of external cases instead of the built-in ones.")] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="Also write totals and per-case rows as JSON here.")] = None,
) -> None:
    """Sample f, measure its area, regress a closed form; score per family and engine."""
    from eudoxus.agent import bench_sr as bench
    from eudoxus.tools.integrate import INTEGRATORS
    from eudoxus.tools.regress import ENGINES

    engines = engine or ["grammar"]
    built = []
    for name in engines:
        if name not in ENGINES:
            raise BadInput(f"unknown engine {name!r}; choose from {', '.join(sorted(ENGINES))}")
        try:
            built.append(ENGINES[name]())  # an optional engine's missing package says so here
        except RuntimeError as error:
            raise BadInput(str(error)) from error
    if integrator not in INTEGRATORS:
        raise BadInput(f"unknown integrator {integrator!r}; choose from "
                       f"{', '.join(sorted(INTEGRATORS))}")
    try:
        chosen = bench.load_cases(cases) if cases else bench.builtin_cases(
            bench.select_families(families), n, seed)
    except (OSError, ValueError) as error:
        raise BadInput(str(error).splitlines()[0]) from error
    results = bench.run_bench(chosen, built, integrator=integrator, progress=note)
    config = {"engines": engines, "families": families if cases is None else None,
              "n": n if cases is None else None, "seed": seed, "integrator": integrator,
              "cases": str(cases) if cases else None, "T": 4.0, "points": 10_000}
    document = bench.report(results, chosen, config)

    for title, key in (("Symbolic regression per family", "families"), ("Totals", "totals")):
        emit_table(title, ["family", "engine", "n", "% correct", "% approx", "median s", "p90 s"],
                   [(s["family"], s["engine"], s["n"], percent(s["pct_correct"]),
                     percent(s["pct_approx_correct"]), f"{s['median_seconds']:.3f}",
                     f"{s['p90_seconds']:.3f}") for s in document[key]])
    sources = sorted({r.truth_source for r in results})
    note("truth: " + "; ".join(f"{s} = {document['truth'][s]}" for s in sources))
    write_json(json_path, document)


# Campaign commands (run, runs show, integrate, bench discovery) live in their own module and
# register themselves on the apps above; imported here, once everything they use exists.
from eudoxus.agent import cli_campaign, cli_model, cli_report, cli_tui  # noqa: E402, F401

# ---- entry point ------------------------------------------------------------------------


def _exit_code(error: BaseException) -> tuple[int, str]:
    from eudoxus.memory import StoreError, StoreUnavailable
    from eudoxus.tools.expr import ExprError

    if isinstance(error, StoreUnavailable):
        return EXIT_STORE_UNAVAILABLE, f"error: {error}"
    if isinstance(error, StoreError | BadInput | ExprError):
        return EXIT_BAD_INPUT, f"error: {error}"
    return EXIT_BUG, f"internal error (a bug, please report it): {type(error).__name__}: {error}"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    # DESIGN §8: with more BLAS threads than free cores a step runs 2x slower; set before numpy
    # is first imported (the commands import it lazily).
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    try:
        # Without standalone mode, click returns the code of a `typer.Exit(code)` instead of
        # raising it; a command that finished normally returns None.
        code = app(args=argv, prog_name="eudoxus", standalone_mode=False)
        return code if isinstance(code, int) else EXIT_OK
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        note("interrupted")
        return EXIT_INTERRUPTED
    except typer.TyperException as error:  # usage errors from the bundled click
        error.show()
        # A bare group (`eudoxus db`) prints its help; that is a request, not a mistake.
        return EXIT_OK if type(error).__name__ == "NoArgsIsHelpError" else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        note("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except Exception as error:  # every failure leaves as one line and a meaningful code
        code, message = _exit_code(error)
        note(message)
        if code == EXIT_BUG and os.environ.get("EUDOXUS_DEBUG"):
            traceback.print_exc()
        return code


if __name__ == "__main__":
    # Under `python -m` this file is __main__, a second copy of the module: the campaign commands
    # register on the package module's app, so run that one.
    from eudoxus.agent.cli import main as package_main

    sys.exit(package_main())
