"""CLI commands for the live lab: `watch`, and the host side of `run --tui`.

Registered on the app of `eudoxus.agent.cli`, which imports this module once it is built.
Textual is imported only inside these functions, so other commands start without it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from eudoxus.agent.cli import BadInput, HomeOption, _home, app
from eudoxus.agent.output import note
from eudoxus.memory.lab import Lab


def require_terminal(command: str) -> None:
    """Refuse, in one line, to start a full-screen app without a terminal to draw on."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BadInput(f"{command} needs an interactive terminal; without one use "
                       "`eudoxus run` (plain lines) or read runs/<id>/events.jsonl")


def run_in_lab(campaign: Any):
    """Run a campaign inside the live lab and return its outcome once its last step is saved."""
    from multiprocessing import resource_tracker

    from eudoxus.agent.tui.app import LabApp

    # The worker pool's helper process must start while stderr is still the terminal's: under
    # Textual sys.stderr has no file descriptor, and spawning it then fails.
    resource_tracker.ensure_running()
    lab = LabApp.live(campaign)
    lab.run()
    if not lab.wait_for_campaign(0):  # the window closed while a step was still running
        note("finishing the current step before exiting (it is committed, then the run can "
             "be resumed)")
        lab.control.request_stop()
        lab.wait_for_campaign()
    if lab.error is not None:
        raise lab.error
    return lab.outcome


def event_log(lab: Lab, run_id: str | None) -> Path:
    """The event log of a run, or of the most recently active run when no id is given."""
    if run_id is not None:
        path = lab.events_path(run_id)
        if not path.is_file():
            raise BadInput(f"no event log for run {run_id!r} in {lab.runs_dir}")
        return path
    logs = sorted(lab.runs_dir.glob(f"*/{lab.events_path('*').name}"),
                  key=lambda p: p.stat().st_mtime)
    if not logs:
        raise BadInput(f"no runs to watch in {lab.runs_dir}")
    return logs[-1]


@app.command("watch")
def watch(
    ctx: typer.Context,
    run_id: Annotated[str | None, typer.Argument(
        help="Run id (default: the most recently active run).")] = None,
    speed: Annotated[float, typer.Option(
        min=0.0, help="Replay speed for a finished run (x real time; 0 = jump to the end).")]
    = 10.0,
    follow: Annotated[bool, typer.Option(
        "--follow", help="Follow the log even if the run has ended (to see a resume).")]
    = False,
    home: HomeOption = None,
) -> None:
    """Watch a campaign: follow one running in another process, or replay a finished one."""
    require_terminal("watch")
    viewer_for(event_log(Lab.resolve(_home(ctx, home)), run_id), speed=speed,
               follow=follow).run()


def viewer_for(path: Path, *, speed: float = 10.0, follow: bool = False):
    """The live lab for a run's log: a replay if the run has ended, else following it."""
    from eudoxus.agent import events as ev
    from eudoxus.agent.tui.app import LabApp

    try:
        timeline = list(ev.read_events(path, skip_unknown=True))
    except ValueError as error:
        raise BadInput(str(error)) from error
    ended = bool(timeline) and isinstance(timeline[-1], ev.RunEnded)
    if ended and not follow:
        return LabApp.replay(timeline, speed=speed or 10.0, autoplay=speed > 0,
                             start_at=len(timeline) - 1 if speed == 0 else None)
    return LabApp.follow(path)  # reading from the start catches up at once, then it follows
