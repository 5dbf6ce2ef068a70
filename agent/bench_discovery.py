"""`eudoxus bench discovery`: the same preset under each strategy on the same seeds.

What is counted: measured functions (the paper's unit), symbolic-regression calls, wall
seconds, and whether every target rule was accepted. Targets are judged by what rules the
store holds; the integral statements are scored against a CAS (benchmark scoring only).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import median
from typing import Any

from eudoxus.agent.config import CampaignConfig


def _targets(config: CampaignConfig) -> list[str]:
    """Families whose rule must be accepted, plus the power law when polynomials are in play."""
    from eudoxus.tools.families import get_family
    from eudoxus.tools.generalize import monomial_terms

    names = list(config.families)
    polynomial = [n for n in names if monomial_terms(get_family(n).template) is not None]
    return names + (["power law"] if len(polynomial) >= 2 else [])


def _correct(rule: Any) -> bool | None:
    """CAS scoring of an accepted rule (benchmark only): does it equal the true integral?

    Compared numerically at random parameter points (x on [0, 4]), which is robust where a
    symbolic simplification of the difference might not reach zero.
    """
    import numpy as np

    from eudoxus.agent.scoring import general_integral
    from eudoxus.tools.expr import parse, relative_error, to_numpy
    from eudoxus.tools.families import get_family
    from eudoxus.tools.generalize import META_INTEGRAND

    if rule.family is None:
        integrand, names, ranges = META_INTEGRAND, ["a", "n"], [(-10, 10), (0.1, 9.0)]
    else:
        family = get_family(rule.family)
        integrand, names = family.template, list(family.parameters)
        ranges = [family.ranges[p] for p in names]
    truth = general_integral(integrand, names)
    if truth is None:
        return None
    statement = parse(rule.statement, symbols=["x", *names])
    x = np.linspace(0, 4, 201)
    rng = np.random.default_rng(0)
    ours, exact = to_numpy(statement, ["x", *names]), to_numpy(truth, ["x", *names])
    for _ in range(8):
        point = [rng.uniform(lo, hi) for lo, hi in ranges]
        a, b = ours(x, *point), exact(x, *point)
        if np.all(np.isfinite(b)) and not relative_error(b, a) < 1e-9:
            return False
    return True


def run_one(config: CampaignConfig, home: Path, *, executor: Any = None) -> dict[str, Any]:
    """One campaign in its own lab (on `executor`, if given); its counters, targets, rules."""
    from eudoxus.agent.campaign import Campaign
    from eudoxus.memory import Lab, Store

    lab = Lab.resolve(home)
    with Store.open(lab.home) as store:
        outcome = Campaign(store, lab, config, executor=executor).run()
        rules = store.list_rules(run_id=outcome.run_id, status="accepted")
        regress = sum(e.seconds for e in store.list_experiments(outcome.run_id, tool="regress"))
    found = {r.family or "power law" for r in rules}
    targets = _targets(config)
    counters = outcome.counters
    scored = {(r.family or "power law"): _correct(r) for r in rules}
    return {
        "strategy": config.strategy, "seed": config.seed, "run_id": outcome.run_id,
        "status": outcome.status, "reason": outcome.reason,
        "functions": int(counters["functions"]), "rejected_draws": int(counters["rejected_draws"]),
        "sr_calls": int(counters["sr_calls"]), "integrations": int(counters["integrations"]),
        "tool_calls": int(counters["tool_calls"]), "wall_seconds": float(counters["wall_seconds"]),
        "regress_seconds": regress,
        "rules_accepted": len(rules), "targets": len(targets),
        "targets_found": sum(t in found for t in targets),
        "complete": all(t in found for t in targets),
        "missing": [t for t in targets if t not in found],
        "cas_correct": scored,
        "rules": {(r.family or "power law"): r.statement for r in rules},
    }


def run_discovery_bench(config: CampaignConfig, seeds: Sequence[int], strategies: Sequence[str],
                        *, home: Path | None = None,
                        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every strategy × seed; per-run rows and the adaptive/random ratios."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="eudoxus-bench-") as scratch:
        base = Path(home) if home is not None else Path(scratch)
        for strategy in strategies:
            for seed in seeds:
                if progress:
                    progress(f"bench discovery: {strategy}, seed {seed}")
                chosen = config.with_overrides(strategy=strategy.strip(), seed=seed)
                runs.append(run_one(chosen, base / f"{strategy.strip()}-s{seed}"))
    ratios = []
    by = {s: [r for r in runs if r["strategy"] == s] for s in {r["strategy"] for r in runs}}
    if "adaptive" in by and "random" in by:
        for key, label in (("functions", "functions"), ("wall_seconds", "wall seconds"),
                           ("sr_calls", "SR calls")):
            a = median(r[key] for r in by["adaptive"])
            b = median(r[key] for r in by["random"])
            if a > 0:
                ratios.append(f"random / adaptive {label} (median over seeds): {b:g} / {a:g} "
                              f"= {b / a:.2f}x")
    return {"config": config.to_dict(), "seeds": list(seeds), "strategies": list(strategies),
            "runs": runs, "ratios": ratios,
            "note": "rules judged by the store's accepted rules; cas_correct scores each "
                    "statement against sympy.integrate (benchmark scoring only)"}
