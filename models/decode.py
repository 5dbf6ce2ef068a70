"""Decoding: greedy or beam search over batches of source texts, in length order."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedModel

from eudoxus.models.tokenizer import ExprTokenizer, TokenizerError

__all__ = ["generate", "pad"]


def pad(sequences: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    """A (batch, longest) tensor of id sequences, right-padded."""
    longest = max(len(s) for s in sequences)
    out = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    for row, ids in enumerate(sequences):
        out[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
    return out


@torch.inference_mode()
def generate(model: PreTrainedModel, tokenizer: ExprTokenizer, sources: Sequence[str],
             *, beams: int = 1, batch_size: int = 256,
             max_new_tokens: int = 200) -> list[list[str]]:
    """The `beams` best texts for each source, best first (one text each when greedy).

    A source the tokenizer cannot read gets no predictions rather than stopping the batch.
    """
    device = next(model.parameters()).device
    model.eval()
    encoded: dict[int, list[int]] = {}
    for i, text in enumerate(sources):
        try:
            encoded[i] = tokenizer.encode(text)
        except TokenizerError:
            continue
    results: list[list[str]] = [[] for _ in sources]
    # Similar lengths together: padding is wasted work, and it is most of a mixed batch.
    order = sorted(encoded, key=lambda i: len(encoded[i]))
    step = max(1, batch_size // beams)
    for start in range(0, len(order), step):
        chunk = order[start: start + step]
        ids = pad([encoded[i] for i in chunk], tokenizer.pad_id).to(device)
        # An integral is about as long as its integrand; a model that never says <eos> should
        # not decode 200 tokens for every function of a batch.
        limit = min(max_new_tokens, 2 * ids.shape[1] + 24)
        out = model.generate(
            input_ids=ids, attention_mask=(ids != tokenizer.pad_id).long(),
            max_new_tokens=limit, do_sample=False, num_beams=beams,
            num_return_sequences=beams, early_stopping=beams > 1)
        out = out.view(len(chunk), beams, -1).cpu()
        for row, i in enumerate(chunk):
            results[i] = [tokenizer.decode(seq) for seq in out[row]]
    return results
