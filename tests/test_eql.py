"""The EQL engine: well-formed candidates, determinism, cancellation, hard operator choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eudoxus.tools.context import Cancelled, ToolContext
from eudoxus.tools.eql import PRIMITIVES, EqlEngine, EqlNet, Schedule, temperature, train
from eudoxus.tools.expr import canonical, parse, relative_error, to_numpy, verdict

X = np.linspace(0.0, 4.0, 2000)
QUADRATIC = "1.5*x**2 + 2*x"
SMALL = Schedule(free=40, sparse=60, finetune=20)


def small_engine() -> EqlEngine:
    return EqlEngine(restarts=2, depths=(1,), schedule=SMALL)


def curve(text: str) -> np.ndarray:
    return to_numpy(parse(text))(X)


def test_candidates_are_well_formed() -> None:
    y = curve(QUADRATIC)
    result = small_engine().fit(X, y, ctx=ToolContext.seeded(3))
    assert result.engine == "eql" and result.candidates and result.seconds > 0
    for candidate in result.candidates:
        assert candidate.engine == "eql" and candidate.label
        assert candidate.text == canonical(candidate.expression)
        values = to_numpy(candidate.expression)(X)
        assert candidate.error == pytest.approx(relative_error(y, values), abs=1e-15)
        # The skeleton with its coefficients in slot order gives the expression back.
        slots = {f"c{i}": v for i, v in enumerate(candidate.coefficients)}
        names = ("x", *slots)
        skeleton = parse(candidate.skeleton, symbols=names)
        assert {s.name for s in skeleton.free_symbols} <= set(names)
        rebuilt = to_numpy(skeleton, names)(X, *slots.values())
        assert np.allclose(rebuilt, values, rtol=1e-9, atol=1e-9 * np.max(np.abs(values)))
        assert candidate.complexity > 0 and candidate.seconds >= 0


def test_same_seed_same_candidates() -> None:
    y = curve(QUADRATIC)
    first = small_engine().fit(X, y, ctx=ToolContext.seeded(11))
    second = small_engine().fit(X, y, ctx=ToolContext.seeded(11))
    assert [c.text for c in first.candidates] == [c.text for c in second.candidates]
    assert [c.error for c in first.candidates] == [c.error for c in second.candidates]


def test_cancellation_raises() -> None:
    ctx = ToolContext()
    ctx.cancel.set()
    with pytest.raises(Cancelled):
        small_engine().fit(X, curve(QUADRATIC), ctx=ctx)


def test_bad_input_and_threads_restored() -> None:
    engine = small_engine()
    with pytest.raises(ValueError, match="1-D x and y"):
        engine.fit(X, X[:10])
    assert engine.fit(X, np.full_like(X, np.nan)).candidates == ()
    threads = torch.get_num_threads()
    engine.fit(X, curve("2*x + 1"), ctx=ToolContext.seeded(1))
    assert torch.get_num_threads() == threads


def test_temperature_anneals_geometrically() -> None:
    assert temperature(0, 100, 1.0, 0.01) == pytest.approx(1.0)
    assert temperature(99, 100, 1.0, 0.01) == pytest.approx(0.01)
    assert temperature(500, 100, 1.0, 0.01) == pytest.approx(0.01)
    assert temperature(49, 99, 1.0, 0.01) == pytest.approx(0.1)


def test_softmax_unit_ends_in_a_hard_choice() -> None:
    # Four restarts of one unary unit (no products) that must draw a hump on [0, 1].
    net = EqlNet(4, 1, unary=1, products=0, generator=torch.Generator().manual_seed(0))
    t = torch.linspace(0.0, 1.0, 64, dtype=torch.float64)
    y = 0.5 * torch.sin(3.0 * t) + 0.2
    schedule = Schedule(free=100, sparse=200, finetune=60, l1=1e-4)
    loss = train(net, t, y, schedule)
    assert net.hard
    soft = torch.softmax(net.logits(0).detach() / schedule.t_end, dim=-1)
    assert float(soft.amax(dim=-1).min()) > 0.99  # annealing left every mixture one-hot
    hard = net.mixing(0, schedule.t_end)
    assert torch.equal(hard, torch.nn.functional.one_hot(soft.argmax(-1), len(PRIMITIVES))
                       .to(hard))
    best = int(loss.argmin())
    assert PRIMITIVES[int(soft[best].argmax())] in ("sin", "cos")
    assert float(loss[best]) < 1e-4
    # The formula read off each restart is that hard network.
    outputs = net.forward(t, schedule.t_end)[0].detach().numpy()
    for restart in range(4):
        formula = to_numpy(net.expression(restart, parse("x")))(t.numpy())
        assert np.allclose(formula, outputs[restart], rtol=1e-9, atol=1e-9)


@pytest.mark.slow
def test_recovers_a_quadratic_exactly() -> None:
    best = EqlEngine().fit(X, curve(QUADRATIC), ctx=ToolContext.seeded(0)).best
    assert verdict(best.expression, QUADRATIC).correct, best.text


@pytest.mark.slow
def test_approximately_recovers_a_cosine_area() -> None:
    truth = "-(2/3)*cos(1.5*x) + 0.5*x + 2/3"
    best = EqlEngine().fit(X, curve(truth), ctx=ToolContext.seeded(0)).best
    assert verdict(best.expression, truth).approx_correct, best.text
