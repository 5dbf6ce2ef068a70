"""Checkpoints: weights in safetensors, the model and tokenizer configs, and the training state.

A checkpoint is a folder:

- ``model.safetensors`` + ``config.json`` — written by transformers' `save_pretrained`;
- ``eudoxus.json`` — our `ModelConfig`, the tokenizer's vocabulary and free-form metadata;
- ``train_state.pt`` — optimizer, step count and elapsed seconds, so training can resume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel
from transformers.utils import logging as hf_logging

from eudoxus.models.network import ModelConfig, model_class
from eudoxus.models.tokenizer import ExprTokenizer

__all__ = ["Checkpoint", "CheckpointError", "load", "save"]

# A progress bar per save or load is noise in a campaign's log and a CLI's stderr.
hf_logging.disable_progress_bar()

META_FILE = "eudoxus.json"
STATE_FILE = "train_state.pt"


class CheckpointError(ValueError):
    """A folder that is not a readable checkpoint."""


@dataclass
class Checkpoint:
    """A model read back from disk, with what it needs to be used or trained further."""

    model: PreTrainedModel
    tokenizer: ExprTokenizer
    config: ModelConfig
    meta: dict[str, Any] = field(default_factory=dict)
    train_state: dict[str, Any] | None = None
    path: Path | None = None


def save(folder: str | Path, model: PreTrainedModel, tokenizer: ExprTokenizer,
         config: ModelConfig, *, meta: dict[str, Any] | None = None,
         train_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint folder (replacing the files of an older one there)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    document = {"model": config.to_dict(), "tokenizer": tokenizer.to_dict(), "meta": meta or {}}
    (folder / META_FILE).write_text(json.dumps(document, indent=2))
    if train_state is not None:
        torch.save(train_state, folder / STATE_FILE)
    return folder


def load(folder: str | Path, *, device: str | torch.device = "cpu",
         with_state: bool = False) -> Checkpoint:
    """Read a checkpoint folder; raises CheckpointError with what is missing."""
    folder = Path(folder)
    if not (folder / META_FILE).is_file() or not (folder / "model.safetensors").is_file():
        raise CheckpointError(f"{folder} is not a checkpoint (no {META_FILE} or model.safetensors)")
    try:
        document = json.loads((folder / META_FILE).read_text())
        config = ModelConfig.from_dict(document["model"])
        tokenizer = ExprTokenizer.from_dict(document["tokenizer"])
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{folder / META_FILE} is unreadable: {error}") from None
    model = model_class(config).from_pretrained(folder).to(device)
    model.eval()
    state = None
    if with_state and (folder / STATE_FILE).is_file():
        state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=False)
    return Checkpoint(model, tokenizer, config, document.get("meta", {}), state, folder)
