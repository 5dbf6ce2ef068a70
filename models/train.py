"""The training loop: plain torch, a time budget, and a warmup-cosine schedule on the clock.

nanoGPT-style: one function you can read top to bottom. The learning rate follows the fraction
of the *time* budget spent (not of a step count), so the same budget means the same schedule on
a slow CPU and a fast GPU. Batches are drawn with light length bucketing. Training resumes from
a checkpoint's optimizer state and elapsed time. CUDA (with bf16 autocast) is used when present.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from eudoxus.models import checkpoint
from eudoxus.models.decode import generate, pad
from eudoxus.models.network import ModelConfig, build_model, count_parameters, pick_device
from eudoxus.models.tokenizer import ExprTokenizer

__all__ = ["TrainConfig", "TrainResult", "train", "use_bf16"]

Pair = tuple[str, str]


@dataclass(frozen=True)
class TrainConfig:
    """How long and how to train."""

    seconds: float = 1800.0  # the wall-clock budget (the schedule is laid over it)
    max_steps: int | None = None  # a step budget too (tests, tiny runs); the first to run out ends
    batch_size: int = 32
    lr: float = 7e-4  # BART stalled at 1e-3 and above (see network.py)
    min_lr_fraction: float = 0.05
    warmup_fraction: float = 0.03
    weight_decay: float = 0.01
    clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # torch intra-op threads on CPU; 0 = leave torch's default
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 on the CPU; or bf16, fp32
    eval_every_seconds: float = 120.0
    eval_pairs: int = 200
    checkpoint_every_seconds: float = 600.0

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data."""
        return asdict(self)


@dataclass
class TrainResult:
    """What a training did: steps, examples, time, loss and the validation history."""

    steps: int
    examples: int
    seconds: float
    device: str
    autocast: str  # bf16 or fp32: what the forward passes ran in
    n_params: int
    final_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    checkpoint: Path | None = None
    model: Any = field(default=None, repr=False)
    tokenizer: ExprTokenizer | None = field(default=None, repr=False)


PRECISIONS = ("auto", "bf16", "fp32")


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to autocast to bf16: "auto" does on CUDA only. On this CPU bf16 stepped 1.5x
    faster when idle, yet a 30-minute BART run in bf16 ended below fp32's, so the CPU keeps fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose {', '.join(PRECISIONS)}")
    if precision == "auto":
        return device.type == "cuda"
    if precision == "bf16" and device.type == "cpu" and not torch.cpu._is_avx512_bf16_supported():
        raise ValueError("bf16 was requested but this CPU has no native bf16")
    return precision == "bf16"


def _learning_rate(config: TrainConfig, progress: float) -> float:
    progress = min(max(progress, 0.0), 1.0)
    if progress < config.warmup_fraction:
        return config.lr * progress / config.warmup_fraction
    span = (progress - config.warmup_fraction) / max(1e-9, 1.0 - config.warmup_fraction)
    floor = config.lr * config.min_lr_fraction
    return floor + (config.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * span))


def _batches(encoded: Sequence[tuple[list[int], list[int]]], batch_size: int,
             rng: random.Random):
    """Endless batches: shuffle, sort each window of 32 batches by length, shuffle batches."""
    while True:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        window = batch_size * 32
        for start in range(0, len(order), window):
            part = sorted(order[start: start + window], key=lambda i: len(encoded[i][0]))
            chunks = [part[i: i + batch_size] for i in range(0, len(part), batch_size)]
            rng.shuffle(chunks)
            yield from chunks


def _exact_match(model, tokenizer: ExprTokenizer, pairs: Sequence[Pair]) -> float:
    if not pairs:
        return math.nan
    predicted = generate(model, tokenizer, [s for s, _ in pairs])
    return sum(bool(p) and p[0] == t for p, (_, t) in zip(predicted, pairs, strict=True)) / len(
        pairs)


def train(train_pairs: Sequence[Pair], valid_pairs: Sequence[Pair], *, model_config: ModelConfig,
          config: TrainConfig, out: str | Path | None = None, resume: str | Path | None = None,
          on_progress: Callable[[dict[str, float]], None] | None = None,
          tokenizer: ExprTokenizer | None = None) -> TrainResult:
    """Train a fresh model (or resume one) on (source, target) texts; checkpoint to `out`."""
    if not train_pairs:
        raise ValueError("no training pairs")
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    device = pick_device(config.device)
    state: dict[str, Any] = {}
    if resume is not None:
        loaded = checkpoint.load(resume, device=device, with_state=True)
        model, tokenizer, model_config = loaded.model, loaded.tokenizer, loaded.config
        state = loaded.train_state or {}
    else:
        tokenizer = tokenizer or ExprTokenizer()
        model = build_model(model_config, tokenizer).to(device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay, betas=(0.9, 0.98))
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    encoded = [(tokenizer.encode(s), tokenizer.encode(t)) for s, t in train_pairs]
    batches = _batches(encoded, config.batch_size, rng)
    eval_pairs = list(valid_pairs[: config.eval_pairs])
    use_amp = use_bf16(config.precision, device)

    steps, examples = int(state.get("steps", 0)), int(state.get("examples", 0))
    spent_before = float(state.get("seconds", 0.0))
    history: list[dict[str, float]] = list(state.get("history", []))
    started = time.perf_counter()
    last_eval = last_save = started
    loss_ema = math.nan

    def elapsed() -> float:
        return spent_before + time.perf_counter() - started

    def progress() -> float:
        # Whichever budget runs out first ends training and sets the schedule.
        by_time = elapsed() / config.seconds
        return max(steps / config.max_steps, by_time) if config.max_steps else by_time

    def save_state() -> None:
        if out is not None:
            checkpoint.save(out, model, tokenizer, model_config, meta={"train": config.to_dict()},
                            train_state={"optimizer": optimizer.state_dict(), "steps": steps,
                                         "examples": examples, "seconds": elapsed(),
                                         "history": history})

    def evaluate() -> None:
        model.eval()
        exact = _exact_match(model, tokenizer, eval_pairs)
        model.train()
        point = {"seconds": round(elapsed(), 1), "steps": steps, "loss": loss_ema,
                 "valid_exact": exact}
        history.append(point)
        if on_progress:
            on_progress(point)

    while progress() < 1.0:
        chunk = next(batches)
        ids = pad([encoded[i][0] for i in chunk], tokenizer.pad_id).to(device)
        labels = pad([encoded[i][1] for i in chunk], -100).to(device)
        # Teacher forcing made here, the same for every architecture (mBART's own shift would
        # start the decoder on the last token instead of <bos>, unlike generation).
        decoder_ids = torch.full_like(labels, tokenizer.pad_id)
        decoder_ids[:, 0] = tokenizer.bos_id
        decoder_ids[:, 1:] = labels[:, :-1].masked_fill(labels[:, :-1] == -100, tokenizer.pad_id)
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, progress())
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss = model(input_ids=ids, attention_mask=(ids != tokenizer.pad_id).long(),
                         decoder_input_ids=decoder_ids, labels=labels).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        steps += 1
        examples += len(chunk)
        value = float(loss.detach())
        loss_ema = value if math.isnan(loss_ema) else 0.98 * loss_ema + 0.02 * value
        now = time.perf_counter()
        if now - last_eval >= config.eval_every_seconds:
            evaluate()
            last_eval = time.perf_counter()
        if now - last_save >= config.checkpoint_every_seconds:
            save_state()
            last_save = time.perf_counter()
    evaluate()
    save_state()
    model.eval()
    return TrainResult(steps=steps, examples=examples, seconds=elapsed(), device=str(device),
                       autocast="bf16" if use_amp else "fp32", n_params=count_parameters(model),
                       final_loss=loss_ema, history=history,
                       checkpoint=Path(out) if out is not None else None, model=model,
                       tokenizer=tokenizer)
