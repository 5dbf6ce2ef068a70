"""One line of plain text per notable event, shared by the headless view and the live lab."""

from __future__ import annotations

from eudoxus.agent import events as ev


def describe(event: ev.Event) -> str | None:
    """The one line a reader gets for an event (None: not worth a line); sub-lines indented."""
    if isinstance(event, ev.RunStarted):
        verb = "resumed" if event.resumed else "started"
        return f"run {event.run_id} {verb}: strategy {event.strategy}, seed {event.seed}"
    if isinstance(event, ev.Progress):
        return f"step: {event.message}"
    if isinstance(event, ev.ExperimentDone):
        what = f" {event.family}" if event.family else ""
        state = "ok" if event.ok else f"FAILED ({event.error})"
        return f"  {event.tool}{what}: {event.n_items} item(s) in {event.seconds:.2f} s, {state}"
    if isinstance(event, ev.HypothesisProposed):
        return f"  proposed #{event.hypothesis_id} [{event.hypothesis_kind}] {event.statement}"
    if isinstance(event, ev.HypothesisChanged):
        if event.to_status in ("accepted", "refuted"):
            return f"  #{event.hypothesis_id} {event.to_status}: {event.reason}"
        return None
    if isinstance(event, ev.RuleAccepted):
        family = event.family or "power law"
        return f"RULE #{event.rule_id} ({family}): {event.statement}"
    if isinstance(event, ev.ModelTrained):
        scores = ", ".join(f"{split} {m['correct']:.1f}% correct, {m['approx_correct']:.1f}% "
                           "approx" for split, m in event.metrics.items()
                           if split in ("polynomial", "non-polynomial") and isinstance(m, dict))
        return (f"MODEL #{event.model_run_id} trained in {event.seconds:.0f} s on "
                f"{event.device} ({event.n_params / 1e6:.2f}M parameters): {scores}")
    if isinstance(event, ev.RunEnded):
        totals = event.totals
        return (f"run {event.status}: {event.reason}; {totals.get('functions', 0)} functions, "
                f"{totals.get('rules_accepted', 0)} rules, "
                f"{float(totals.get('wall_seconds') or 0):.1f} s")
    return None
