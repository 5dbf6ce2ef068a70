"""The seq2seq "intuition": tokenizer, model config, training, decoding and metrics."""
