"""Chapter 2 figures: the corpus generator's speed and the models' losses against the floor.

``bigram_loss_over_floor`` and ``neural_loss_over_floor`` are ratios: a
model's loss on the held-out test documents divided by the exact floor on the
same documents (1.0 would be a perfect model). The neural model is the one
Chapter 2 trains (embeddings + MLP over 10 words, 1500 steps).
"""

from __future__ import annotations

import time

import torch

from course_lib import corpus, lm
from course_lib.tokenize import Vocab


def measure() -> dict[str, float]:
    torch.set_num_threads(1)
    start = time.perf_counter()
    sampled = corpus.sample_documents(20_000, "all", seed=1)
    seconds = time.perf_counter() - start
    tokens_per_s = sum(len(d) + 1 for d in sampled) / seconds

    train_docs = corpus.sample_documents(5000, "train", seed=0)
    test_docs = corpus.sample_documents(500, "test", seed=0)
    vocab = Vocab.build(train_docs)
    floor = corpus.floor_nats_per_token(test_docs, split="test")
    bigram_loss, _ = lm.evaluate(lm.BigramModel.fit(train_docs, vocab, alpha=0.1), test_docs, vocab)
    torch.manual_seed(0)
    model = lm.NextWordMLP(len(vocab), context_size=10, n_embd=16, n_hidden=256)
    lm.train_next_word(model, train_docs, test_docs, vocab, steps=1500, eval_every=150, seed=0)
    neural_loss, _ = lm.evaluate(model, test_docs, vocab)
    return {
        "corpus_tokens_per_s": tokens_per_s,
        "floor_nats_per_token": floor,
        "bigram_loss_over_floor": bigram_loss / floor,
        "neural_loss_over_floor": neural_loss / floor,
    }


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name}: {value:.4g}")
