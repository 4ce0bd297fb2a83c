"""Chapter 2 figures: the corpus generator's speed and the models' losses against their floors.

Every ``*_over_floor`` figure is a ratio: a model's loss on whole documents
(every word and the ``<eos>``) divided by the exact floor of the distribution
those documents were drawn from (1.0 would be a perfect model). Two
measurements, never mixed, as in the chapter:

- ``*_iid_*``: fresh documents of the training distribution (the train split,
  another seed), against ``floor_nats_per_token(docs, split="train")``;
- ``*_test_*``: test-split documents (each holds a held-out combination),
  against ``floor_nats_per_token(docs, split="test")``: generalisation.

The neural model is the one Chapter 2 trains (embeddings + MLP over 10 words,
1500 steps, fixed seeds); ``neural_train_cpu_s`` is its training time in CPU
seconds of this one-thread process.
"""

from __future__ import annotations

import time

import torch

from course_lib import corpus, lm
from course_lib.tokens import Vocab
from course_lib.train import one_thread


def measure() -> dict[str, float]:
    one_thread()  # as in the chapter
    start = time.perf_counter()
    sampled = corpus.sample_documents(20_000, "all", seed=1)
    seconds = time.perf_counter() - start
    tokens_per_s = sum(len(d) + 1 for d in sampled) / seconds

    train_docs = corpus.sample_documents(5000, "train", seed=0)
    fresh_docs = corpus.sample_documents(500, "train", seed=1)
    test_docs = corpus.sample_documents(500, "test", seed=0)
    vocab = Vocab.build(train_docs)
    floor_iid = corpus.floor_nats_per_token(fresh_docs, split="train")
    floor_test = corpus.floor_nats_per_token(test_docs, split="test")
    bigram = lm.BigramModel.fit(train_docs, vocab, alpha=0.1)
    torch.manual_seed(0)
    model = lm.NextWordMLP(len(vocab), context_size=10, n_embd=16, n_hidden=256)
    cpu = time.process_time()
    lm.train_next_word(model, train_docs, fresh_docs, vocab, steps=1500, batch_size=256, lr=3e-3,
                       eval_every=150, seed=0)
    cpu = time.process_time() - cpu
    return {
        "corpus_tokens_per_s": tokens_per_s,
        "floor_iid_nats_per_token": floor_iid,
        "floor_test_nats_per_token": floor_test,
        "bigram_iid_loss_over_floor": lm.evaluate(bigram, fresh_docs, vocab)[0] / floor_iid,
        "neural_iid_loss_over_floor": lm.evaluate(model, fresh_docs, vocab)[0] / floor_iid,
        "bigram_test_loss_over_floor": lm.evaluate(bigram, test_docs, vocab)[0] / floor_test,
        "neural_test_loss_over_floor": lm.evaluate(model, test_docs, vocab)[0] / floor_test,
        "neural_train_cpu_s": cpu,
    }


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name}: {value:.4g}")
