"""Peer engines: gplearn programs reach sympy safely, and a missing package fails in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

from eudoxus.tools import peers
from eudoxus.tools.context import Cancelled, ToolContext
from eudoxus.tools.expr import ExprError, parse, relative_error, to_numpy
from eudoxus.tools.peers import GplearnEngine, PyoperonEngine, gplearn_to_sympy, register_peers

x = sp.Symbol("x")
F = sp.Float
GRID = np.linspace(0.0, 4.0, 2_000)


# ---- the program converter -------------------------------------------------------------------

@pytest.mark.parametrize("program, expected", [
    ("add(mul(X0, 0.5), sin(X0))", F(0.5) * x + sp.sin(x)),
    ("X0", x),
    ("-0.25", F(-0.25)),
    ("sub(X0, -0.917)", x + F(0.917)),
    ("neg(cos(mul(X0, -2.5)))", -sp.cos(F(-2.5) * x)),
    # Protected functions keep their main branch: |.| inside log and sqrt, a plain quotient.
    ("div(log(X0), sqrt(neg(X0)))", sp.log(sp.Abs(x)) / sp.sqrt(sp.Abs(x))),
    ("inv(add(cos(X0), 2.0))", 1 / (sp.cos(x) + F(2.0))),
    ("sqrt(log(div(X0, inv(-0.25))))", sp.sqrt(sp.Abs(sp.log(sp.Abs(x / (1 / F(-0.25))))))),
    ("log(sqrt(mul(sub(X0, 1.5), -0.3)))",
     sp.log(sp.Abs(sp.sqrt(sp.Abs((x - F(1.5)) * F(-0.3)))))),
    ("abs(tan(X0))", sp.Abs(sp.tan(x))),
])
def test_programs_convert_to_the_matching_sympy_tree(program: str, expected: sp.Expr) -> None:
    assert gplearn_to_sympy(program) == expected


@pytest.mark.parametrize("program, value", [
    ("div(X0, 0.0004)", 1.0),             # |denominator| <= 0.001: gplearn's div gives 1
    ("div(0.3, sub(X0, X0))", 1.0),       # a denominator that folds to zero, not a pole
    ("inv(sub(0.5, 0.5))", 0.0),
    ("log(mul(X0, 0.0))", 0.0),
    ("log(sqrt(0.25))", float(np.log(0.5))),
    ("sqrt(-4.0)", 2.0),
])
def test_guards_apply_exactly_on_numbers(program: str, value: float) -> None:
    result = gplearn_to_sympy(program)
    assert result.is_Number and float(result) == pytest.approx(value, abs=1e-15)


def test_program_matches_gplearns_semantics_away_from_the_guards() -> None:
    program = "add(div(sin(X0), add(X0, 1.25)), mul(sqrt(sub(X0, 3.0)), log(neg(X0))))"
    points = np.linspace(0.1, 4.0, 50)
    with np.errstate(all="ignore"):
        reference = (np.sin(points) / (points + 1.25)
                     + np.sqrt(np.abs(points - 3.0)) * np.log(np.abs(-points)))
    np.testing.assert_allclose(to_numpy(gplearn_to_sympy(program))(points), reference,
                               rtol=1e-13)


def test_other_variable_names_are_honoured() -> None:
    assert gplearn_to_sympy("mul(X1, X0)", ("t", "u")) == sp.Symbol("t") * sp.Symbol("u")


@pytest.mark.parametrize("program, reason", [
    ("__import__('os').system('touch PWNED')", "attribute access"),
    ("__import__('os')", "'__import__' is not a gplearn function"),
    ("X0.__class__", "attribute access"),
    ("add(X0, X0).real", "attribute access"),
    ("eval('1')", "'eval' is not a gplearn function"),
    ("add(X0, 'a')", "string literals"),
    ("(lambda: 1)()", "calling an expression"),
    ("[X0][0]", "Subscript"),
    ("X0 + 1", "BinOp"),
    ("-X0", "sign is allowed only on a number"),
    ("add(X0)", "takes 2 arguments (1 given)"),
    ("sin(X0, X0)", "takes 1 argument (2 given)"),
    ("add(X0, y=X0)", "plain positional"),
    ("add(*X0)", "plain positional"),
    ("X1", "'X1' is not allowed"),
    ("x", "'x' is not allowed"),
    ("True", "bool literals"),
    ("add(X0, 1e999)", "not finite"),
    ("add(X0,", "syntax error"),
    ("", "syntax error"),
    ("add(X0, \u00b9)", "non-ASCII"),
    ("neg(" * 150 + "X0" + ")" * 150, "nested too deeply"),
    ("add(" * 1200 + "X0" + ", X0)" * 1200, "program"),
])
def test_malicious_or_malformed_programs_are_refused(program: str, reason: str,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExprError, match="^[^\n]*$") as refused:
        gplearn_to_sympy(program)
    assert reason in str(refused.value)
    assert not (tmp_path / "PWNED").exists()


def test_non_string_programs_are_refused() -> None:
    with pytest.raises(ExprError, match="must be a str"):
        gplearn_to_sympy(b"add(X0, X0)")  # type: ignore[arg-type]


def _fake_program(*nodes: object) -> SimpleNamespace:
    """A stand-in for gplearn's `_Program`: prefix nodes, functions carrying name and arity."""
    def function(name: str, arity: int) -> SimpleNamespace:
        return SimpleNamespace(name=name, arity=arity)

    built = [function(*node) if isinstance(node, tuple) else node for node in nodes]
    return SimpleNamespace(program=built, __str__=lambda: "fallback")


def test_fitted_programs_print_constants_at_full_precision() -> None:
    program = _fake_program(("add", 2), ("mul", 2), 0, 0.1234567890123, ("add", 2), ("sin", 1),
                            -0.9876, 0)
    text = peers._program_text(program)
    assert text == "add(mul(X0, 0.1234567890123), add(sin(-0.9876), X0))"
    assert gplearn_to_sympy(text) == F(0.1234567890123) * x + sp.sin(F(-0.9876)) + x
    assert peers._program_text(_fake_program(0)) == "X0"
    assert peers._program_text(_fake_program(("neg", 1), 2.5)) == "neg(2.5)"


# ---- candidates ------------------------------------------------------------------------------

def test_candidates_carry_skeleton_coefficients_and_eq1_error() -> None:
    y = 1.5 * GRID**2 + np.sin(2.0 * GRID)
    expr = F(1.5) * x * x + sp.sin(F(2.0) * x) + F(0.001) * sp.sqrt(sp.Abs(x))
    candidate = peers._candidate(expr, GRID, y, 0.0, "gplearn", label="raw")
    assert candidate.text == "0.001*sqrt(x) + 1.5*x**2 + sin(2.0*x)"  # abs(x) is x on x >= 0
    assert parse(candidate.text) == candidate.expression
    assert sorted(candidate.coefficients) == [0.001, 1.5, 2.0]
    slots = {sp.Symbol(f"c{i}"): F(v) for i, v in enumerate(candidate.coefficients)}
    assert parse(candidate.skeleton, symbols=("x", "c0", "c1", "c2")).xreplace(slots) == \
        candidate.expression
    expected = relative_error(y, to_numpy(candidate.expression)(GRID))
    assert candidate.error == expected and 0 < candidate.error < 1e-3
    assert candidate.complexity == sum(1 for _ in sp.preorder_traversal(candidate.expression))
    assert (candidate.engine, candidate.label) == ("gplearn", "raw")


def test_abs_of_a_sign_changing_argument_is_kept() -> None:
    candidate = peers._candidate(sp.Abs(x - F(1.0)), GRID, np.abs(GRID - 1.0), 0.0, "gplearn")
    assert candidate.text == "abs(x - 1.0)" and candidate.error == 0.0
    flipped = peers._candidate(sp.Abs(x - F(9.0)), GRID, 9.0 - GRID, 0.0, "gplearn")
    assert flipped.expression == F(9.0) - x


def test_out_of_grammar_output_falls_back_to_sympy_text() -> None:
    candidate = peers._candidate(sp.Max(x, F(1.0)), GRID, np.maximum(GRID, 1.0), 0.0,
                                 "gplearn")
    assert candidate.text == str(sp.Max(x, F(1.0))) and candidate.error == 0.0
    assert candidate.skeleton == str(sp.Max(x, sp.Symbol("c0")))


# ---- optional packages -----------------------------------------------------------------------

def test_importing_peers_loads_no_peer_package() -> None:
    probe = ("import sys, eudoxus.tools.peers, eudoxus.tools.regress; "
             "print(sorted(m for m in ('gplearn', 'pyoperon', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("engine, package, module, hint", [
    (GplearnEngine, "gplearn", "gplearn.genetic", "pip install 'eudoxus[peers]'"),
    (PyoperonEngine, "pyoperon", "pyoperon.sklearn", "pip install pyoperon"),
])
def test_missing_package_fails_in_one_line(engine: type, package: str, module: str, hint: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import` raise ImportError, as if the package were absent.
    monkeypatch.setitem(sys.modules, package, None)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(RuntimeError) as missing:
        engine().fit(GRID, GRID)
    assert str(missing.value) == f"{package} is not installed: {hint}"
    assert missing.value.__cause__ is None and missing.value.__suppress_context__


def test_registered_constructors_fail_only_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers, "peer_available", lambda package: False)
    sentinel = object()
    engines = register_peers({"grammar": sentinel, "pyoperon": sentinel})
    assert engines["grammar"] is sentinel and engines["pyoperon"] is sentinel  # kept
    with pytest.raises(RuntimeError, match=r"^gplearn is not installed: pip install"):
        engines["gplearn"]()
    monkeypatch.setattr(peers, "peer_available", lambda package: True)
    assert isinstance(engines["gplearn"](), GplearnEngine)


def test_peer_available_does_not_import() -> None:
    assert peers.peer_available("surely_not_a_module_eudoxus") is False
    assert peers.peer_available("numpy") is True


# ---- real runs, where the packages are installed ---------------------------------------------

def _area_of_cosine() -> np.ndarray:
    return 2.0 * np.sin(GRID) + 0.5 * GRID  # the area under 2 cos(x) + 0.5


@pytest.mark.slow
def test_gplearn_fits_a_curve_deterministically() -> None:
    pytest.importorskip("gplearn")
    y = _area_of_cosine()
    engine = GplearnEngine(population_size=300, generations=4)
    first = engine.fit(GRID, y, noise=1e-9, ctx=ToolContext.seeded(3))
    best = first.best
    assert best is not None and best.engine == "gplearn" and first.engine == "gplearn"
    assert best.error == relative_error(y, to_numpy(best.expression)(GRID))
    assert best.error < 0.2  # a rough fit from a tiny budget, but a fit
    assert best.expression.free_symbols <= {x}
    again = engine.fit(GRID, y, noise=1e-9, ctx=ToolContext.seeded(3))
    assert again.best.text == best.text


@pytest.mark.slow
def test_gplearn_stops_when_cancelled_and_through_the_registry() -> None:
    pytest.importorskip("gplearn")
    ctx = ToolContext()
    ctx.cancel.set()
    engine = register_peers({})["gplearn"]()
    with pytest.raises(Cancelled):
        engine.fit(GRID, _area_of_cosine(), ctx=ctx)


@pytest.mark.slow
def test_pyoperon_fits_a_curve() -> None:
    pytest.importorskip("pyoperon")
    y = _area_of_cosine()
    best = PyoperonEngine(population_size=200, generations=5).fit(GRID, y).best
    assert best is not None and best.engine == "pyoperon"
    assert parse(best.text) == best.expression
    assert best.error < 0.01
