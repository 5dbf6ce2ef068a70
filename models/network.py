"""The seq2seq network: an encoder-decoder built from a config, never from downloaded weights.

`ModelConfig` holds the few sizes that matter; `build_model` turns it into a `transformers`
BART, mBART or T5 with freshly initialised weights. Small and shallow is deliberate: on a 2-core
CPU the number of optimizer steps in a time budget matters more than width. BART is the default
because digit arithmetic needs to find digits by position: with the same budget (4 minutes, one
core) a BART reached 0.44 loss where a T5, whose cross-attention carries no position at all,
was at 0.70. BART is sensitive to the learning rate: 7e-4 learned, 1e-3 and above stalled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    MBartConfig,
    MBartForConditionalGeneration,
    PreTrainedModel,
    T5Config,
    T5ForConditionalGeneration,
)

from eudoxus.models.tokenizer import ExprTokenizer

__all__ = ["ARCHITECTURES", "MAX_PARAMETERS", "ModelConfig", "build_model", "count_parameters",
           "model_class", "pick_device"]

MAX_PARAMETERS = 10_000_000  # the intuition must stay small: the ceiling


@dataclass(frozen=True)
class ModelConfig:
    """Kind and sizes of the encoder-decoder; everything else is the library's default."""

    # bart (learned absolute positions; the default: it learned far faster here), mbart (the
    # same with pre-layer norm) or t5 (relative position buckets)
    arch: str = "bart"
    d_model: int = 128
    d_ff: int = 512
    heads: int = 4
    encoder_layers: int = 3
    decoder_layers: int = 3
    dropout: float = 0.0
    max_source_tokens: int = 160
    max_target_tokens: int = 200

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """A config from data, ignoring keys it does not know (older checkpoints)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


ARCHITECTURES = ("t5", "bart", "mbart")


def build_model(config: ModelConfig, tokenizer: ExprTokenizer) -> PreTrainedModel:
    """A randomly initialised encoder-decoder with the tokenizer's vocabulary and special ids."""
    if config.d_model % config.heads:
        raise ValueError(f"d_model {config.d_model} is not a multiple of heads {config.heads}")
    if config.arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {config.arch!r}; choose from "
                         f"{', '.join(ARCHITECTURES)}")
    model = _t5(config, tokenizer) if config.arch == "t5" else _bart(config, tokenizer)
    n = count_parameters(model)
    if n > MAX_PARAMETERS:
        raise ValueError(f"model has {n:,} parameters, more than the {MAX_PARAMETERS:,} allowed")
    return model


def model_class(config: ModelConfig) -> type[PreTrainedModel]:
    """The transformers class that holds a model of this config."""
    return {"t5": T5ForConditionalGeneration, "bart": BartForConditionalGeneration,
            "mbart": MBartForConditionalGeneration}[config.arch]


def _t5(config: ModelConfig, tokenizer: ExprTokenizer) -> T5ForConditionalGeneration:
    t5 = T5Config(
        vocab_size=len(tokenizer), d_model=config.d_model, d_kv=config.d_model // config.heads,
        d_ff=config.d_ff, num_layers=config.encoder_layers,
        num_decoder_layers=config.decoder_layers, num_heads=config.heads,
        dropout_rate=config.dropout, feed_forward_proj="relu", tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_id, eos_token_id=tokenizer.eos_id,
        decoder_start_token_id=tokenizer.bos_id, bos_token_id=tokenizer.bos_id,
    )
    return T5ForConditionalGeneration(t5)


def _bart(config: ModelConfig, tokenizer: ExprTokenizer) -> PreTrainedModel:
    kind = MBartConfig if config.arch == "mbart" else BartConfig
    bart = kind(
        vocab_size=len(tokenizer), d_model=config.d_model, encoder_layers=config.encoder_layers,
        decoder_layers=config.decoder_layers, encoder_attention_heads=config.heads,
        decoder_attention_heads=config.heads, encoder_ffn_dim=config.d_ff,
        decoder_ffn_dim=config.d_ff, activation_function="gelu", dropout=config.dropout,
        attention_dropout=0.0, activation_dropout=0.0,
        max_position_embeddings=max(config.max_source_tokens, config.max_target_tokens) + 2,
        scale_embedding=True, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_id, eos_token_id=tokenizer.eos_id,
        bos_token_id=tokenizer.bos_id, decoder_start_token_id=tokenizer.bos_id,
        forced_bos_token_id=None, forced_eos_token_id=None,
    )
    return model_class(config)(bart)


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct trainable parameters (tied embeddings counted once)."""
    seen = {id(p): p for p in model.parameters() if p.requires_grad}
    return sum(p.numel() for p in seen.values())


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when present and asked for (or "auto"), else the CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA device is available")
    return torch.device(requested)
