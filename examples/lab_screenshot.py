"""Save an SVG of the live lab's dashboard as a recorded run stood at one of its events.

    python examples/lab_screenshot.py RUN_LOG OUT.svg [--at 0.6] [--size 120x34]

`--at` is the fraction of the run's events to replay first (0.6: a little past the middle).
This is how the README's screenshot was made, from a `make run` campaign.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from eudoxus.agent import events as ev
from eudoxus.agent.tui.app import LabApp


async def _shoot(log: Path, out: Path, at: float, size: tuple[int, int]) -> None:
    timeline = list(ev.read_events(log, skip_unknown=True))
    app = LabApp.replay(timeline, autoplay=False, start_at=int(at * (len(timeline) - 1)))
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        app.save_screenshot(filename=out.name, path=str(out.parent or "."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--at", type=float, default=0.6)
    parser.add_argument("--size", default="120x34")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    asyncio.run(_shoot(args.log, args.out, args.at, (width, height)))


if __name__ == "__main__":
    main()
