"""The seq2seq intuition's parts: tokenizer, metrics, a tiny model that learns, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from eudoxus.tools.families import FAMILIES
from eudoxus.tools.pairs import integrand_text

torch = pytest.importorskip("torch")

from eudoxus.models import checkpoint  # noqa: E402
from eudoxus.models.decode import generate  # noqa: E402
from eudoxus.models.metrics import judge, score  # noqa: E402
from eudoxus.models.network import ModelConfig, build_model, count_parameters  # noqa: E402
from eudoxus.models.tokenizer import ExprTokenizer, TokenizerError  # noqa: E402
from eudoxus.models.train import TrainConfig, train  # noqa: E402

# Integral texts in the paper's format, written by hand for the tokenizer test only.
INTEGRAL_TEXTS = [
    "-0.40-0.03*x+0.40*cos(5.89*x)", "1.82+1.34*x-1.82*exp(2.91*x)", "0.40*x-0.39*sin(6.46*x)",
    "5.19*x+2.76*x**2-2.33*x**3-2.11*x**4-0.08*x**5+0.12*x**6+0.44*x**7",
    "1.00*log(0.50+x)-1.00*log(0.50)", "0.67*(2.00+x)**1.50", "2.00*atan(x/3.00)",
    "0.25*cosh(4.00*x)", "-1.50*x*exp(-0.20*x)", "3.00*sqrt(x)", "0.10*sinh(2.00*x)",
]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_tokenizer_round_trips_every_family(name: str) -> None:
    family = FAMILIES[name]
    rng = np.random.default_rng(0)
    tokenizer = ExprTokenizer()
    for _ in range(20):
        params = [rng.uniform(*family.ranges[p]) for p in family.parameters]
        text = integrand_text(family, params)
        ids = tokenizer.encode(text)
        assert ids[-1] == tokenizer.eos_id
        assert tokenizer.decode(ids) == text


def test_tokenizer_round_trips_integrals_and_spells_numbers_digit_by_digit() -> None:
    tokenizer = ExprTokenizer()
    for text in INTEGRAL_TEXTS:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.split("-12.05*sinh(x**2)") == [
        "-", "1", "2", ".", "0", "5", "*", "sinh", "(", "x", "**", "2", ")"]
    restored = ExprTokenizer.from_dict(tokenizer.to_dict())
    assert restored.tokens == tokenizer.tokens


def test_tokenizer_names_what_it_cannot_read() -> None:
    with pytest.raises(TokenizerError, match="'\\?' at character 3"):
        ExprTokenizer().encode("1+x?")


def test_a_near_miss_is_approximately_correct_but_not_correct() -> None:
    exact = judge("0.33*x**3+2.00*x", "0.33*x**3+2.00*x")
    near = judge("0.34*x**3+2.00*x", "0.33*x**3+2.00*x")
    reordered = judge("2.00*x+0.33*x**3", "0.33*x**3+2.00*x")
    wrong = judge("-0.40*cos(5.89*x)", "0.40*cos(5.89*x)")
    unreadable = judge("0.33*x**(", "0.33*x**3")
    assert exact.correct and exact.approx_correct
    assert not near.correct and near.approx_correct and 0 < near.error < 0.01
    assert reordered.correct
    assert not wrong.correct and not wrong.approx_correct
    assert not unreadable.correct and not unreadable.approx_correct


def test_score_splits_polynomials_from_the_rest() -> None:
    table = score(["1.00*x", "0.50*x**2", "0.40*cos(5.89*x)"],
                  ["1.00*x", "0.51*x**2", "-0.40*cos(5.89*x)"],
                  ["polynomial", "polynomial", "non-polynomial"])
    assert table["polynomial"] == {"n": 2, "correct": 50.0, "approx_correct": 100.0}
    assert table["non-polynomial"]["correct"] == 0.0
    assert table["all"]["n"] == 3


PAIRS = [("1.00+2.00*x", "1.00*x+1.00*x**2"), ("3.00", "3.00*x"),
         ("-2.00*x", "-1.00*x**2"), ("4.00*cos(2.00*x)", "2.00*sin(2.00*x)")]
TINY = ModelConfig(arch="bart", d_model=32, d_ff=64, heads=2, encoder_layers=1,
                   decoder_layers=1)


@pytest.fixture(scope="module")
def tiny_trained():
    """A tiny BART trained to memorise four pairs (a few seconds on one core)."""
    config = TrainConfig(seconds=120, max_steps=300, batch_size=4, lr=3e-3, threads=1,
                         eval_every_seconds=1e9, precision="fp32")
    return train(PAIRS, PAIRS[:2], model_config=TINY, config=config)


def test_a_tiny_model_learns_a_handful_of_pairs(tiny_trained) -> None:
    predicted = generate(tiny_trained.model, tiny_trained.tokenizer, [s for s, _ in PAIRS])
    assert [p[0] for p in predicted] == [t for _, t in PAIRS]
    assert tiny_trained.final_loss < 0.05
    assert tiny_trained.history and tiny_trained.history[-1]["valid_exact"] == 1.0


def test_checkpoint_round_trip_gives_identical_predictions(tiny_trained, tmp_path) -> None:
    folder = checkpoint.save(tmp_path / "ckpt", tiny_trained.model, tiny_trained.tokenizer, TINY,
                             meta={"note": "test"})
    loaded = checkpoint.load(folder)
    sources = [s for s, _ in PAIRS] + ["5.00+1.00*x"]
    before = generate(tiny_trained.model, tiny_trained.tokenizer, sources, beams=2)
    after = generate(loaded.model, loaded.tokenizer, sources, beams=2)
    assert before == after
    assert loaded.config == TINY and loaded.meta == {"note": "test"}
    assert count_parameters(loaded.model) == count_parameters(tiny_trained.model)


def test_not_a_checkpoint_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(checkpoint.CheckpointError, match="is not a checkpoint"):
        checkpoint.load(tmp_path)


def test_training_resumes_from_its_checkpoint(tmp_path) -> None:
    config = TrainConfig(seconds=60, max_steps=5, batch_size=2, threads=1, precision="fp32",
                         eval_every_seconds=1e9)
    first = train(PAIRS, PAIRS[:1], model_config=TINY, config=config, out=tmp_path / "a")
    more = TrainConfig(seconds=60, max_steps=8, batch_size=2, threads=1, precision="fp32",
                       eval_every_seconds=1e9)
    second = train(PAIRS, PAIRS[:1], model_config=TINY, config=more, resume=tmp_path / "a",
                   out=tmp_path / "a")
    assert first.steps == 5 and second.steps == 8
    assert second.examples == 16


def test_every_architecture_builds_under_the_parameter_ceiling() -> None:
    tokenizer = ExprTokenizer()
    for arch in ("t5", "bart", "mbart"):
        model = build_model(ModelConfig(arch=arch, d_model=64, d_ff=128, heads=2,
                                        encoder_layers=1, decoder_layers=1), tokenizer)
        assert 0 < count_parameters(model) < 10_000_000
    with pytest.raises(ValueError, match="more than the 10,000,000 allowed"):
        build_model(ModelConfig(d_model=1024, d_ff=4096, heads=16), tokenizer)
