"""The default regression engine recovers integrals exactly from measured area curves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid

from eudoxus.tools.context import ToolContext
from eudoxus.tools.expr import parse, to_numpy, verdict
from eudoxus.tools.regress import Candidate, GrammarEngine, get_engine

X = np.linspace(0.0, 4.0, 10_000)

# (integrand, its integral from 0 worked out by hand for scoring only).
PAPER_CASES = {
    "poly1": ("3.2*x - 1.15", "1.6*x**2 - 1.15*x"),
    "poly3": ("2.37*x**3 - 1.5*x**2 + 3.55*x - 1.4",
              "0.5925*x**4 - 0.5*x**3 + 1.775*x**2 - 1.4*x"),
    "poly6": ("0.31*x**6 - 1.2*x**3 + 7", "0.31/7*x**7 - 0.3*x**4 + 7*x"),
    "sin": ("3.2*sin(2.7*x) + 1.1", "-3.2/2.7*cos(2.7*x) + 1.1*x + 3.2/2.7"),
    "sin-slow": ("6.1*sin(0.13*x) - 2", "-6.1/0.13*cos(0.13*x) - 2*x + 6.1/0.13"),
    "cos": ("-7.3*cos(9.1*x) - 4.4", "-7.3/9.1*sin(9.1*x) - 4.4*x"),
    "exp-decay": ("2.5*exp(-1.3*x) + 0.7", "-2.5/1.3*exp(-1.3*x) + 0.7*x + 2.5/1.3"),
    "exp-growth": ("-4.1*exp(2.2*x) + 3", "-4.1/2.2*exp(2.2*x) + 3*x + 4.1/2.2"),
}


def measured_area(integrand: str) -> tuple[np.ndarray, float]:
    """The trapezoid area curve and its Richardson error estimate (the instruments' way)."""
    values = to_numpy(parse(integrand))(X)
    fine = cumulative_trapezoid(values, X, initial=0.0)
    coarse = cumulative_trapezoid(values[::2], X[::2], initial=0.0)
    return fine, 2.0 * float(np.max(np.abs(fine[::2] - coarse))) / 3.0


@pytest.fixture(scope="module")
def engine() -> GrammarEngine:
    return GrammarEngine()


@pytest.mark.parametrize("name", sorted(PAPER_CASES))
def test_paper_families_are_recovered_exactly(engine: GrammarEngine, name: str) -> None:
    integrand, integral = PAPER_CASES[name]
    area, noise = measured_area(integrand)
    best = engine.fit(X, area, noise=noise).best
    judged = verdict(best.expression, integral)
    assert judged.correct, f"{best.text} vs {integral}"
    assert judged.error < 1e-6


@pytest.mark.parametrize("integrand, integral", [
    ("3.3/(x + 0.6)", "3.3*log(x + 0.6) - 3.3*log(0.6)"),
    ("2.5/(1 + x**2)", "2.5*atan(x)"),
    ("1.8*x**1.37", "1.8/2.37*x**2.37"),
    ("0.9*sinh(1.2*x)", "0.75*cosh(1.2*x) - 0.75"),
])
def test_beyond_paper_forms_are_recovered(engine: GrammarEngine, integrand: str,
                                          integral: str) -> None:
    area, noise = measured_area(integrand)
    assert verdict(engine.fit(X, area, noise=noise).best.expression, integral).correct


def test_candidates_are_ranked_and_describe_their_structure(engine: GrammarEngine) -> None:
    area, noise = measured_area("3.2*sin(2.7*x) + 1.1")
    result = engine.fit(X, area, noise=noise)
    best = result.best
    assert isinstance(best, Candidate) and best.engine == "grammar"
    assert best.label == "trig+poly1" and len(result.candidates) > 1
    # The skeleton with its coefficients substituted gives the expression back.
    slots = {f"c{i}": v for i, v in enumerate(best.coefficients)}
    names = tuple(["x", *slots])
    rebuilt = to_numpy(parse(best.skeleton, symbols=names), names)(X, *slots.values())
    assert np.allclose(rebuilt, to_numpy(best.expression)(X), rtol=1e-9, atol=1e-9)
    errors = [c.error for c in result.candidates]
    assert errors[0] <= 1e-6 and all(np.isfinite(errors))
    assert best.complexity < max(c.complexity for c in result.candidates)


def test_simplest_exact_form_beats_a_long_polynomial(engine: GrammarEngine) -> None:
    area, noise = measured_area("5*exp(0.9*x)")
    best = engine.fit(X, area, noise=noise).best
    assert best.label.startswith("exp") and "x**" not in best.text


def test_bad_input(engine: GrammarEngine) -> None:
    with pytest.raises(ValueError, match="1-D x and y"):
        engine.fit(X, X[:10])
    assert engine.fit(X, np.full_like(X, np.nan)).candidates == ()
    with pytest.raises(ValueError, match="unknown engine"):
        get_engine("nope")


def test_cancellation_stops_the_search(engine: GrammarEngine) -> None:
    area, _ = measured_area("2*x")
    ctx = ToolContext()
    ctx.cancel.set()
    from eudoxus.tools.context import Cancelled

    with pytest.raises(Cancelled):
        engine.fit(X, area, ctx=ctx)
