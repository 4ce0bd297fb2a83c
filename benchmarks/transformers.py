"""Chapter 4's figures: the tiny GPT against the exact floor of the course language.

Trains the zoo's "base-gpt" recipe afresh (not from the cache), on one thread
as the chapter does, and reports:

- gpt_train_tokens_per_s:   next-token predictions trained on per second;
- gpt_s_to_1.05_floor:      seconds of training until the held-out loss is
                            within 5% of the floor; nan if it never gets there
                            within the recipe's time budget;
- gpt_loss_over_floor_60s:  held-out loss / floor at the end of the recipe's
                            training (at most ``max_seconds``, under 60 s);
- gpt_params:               the model's number of parameters.

While training, the model is only copied every ``eval_every`` updates (so the
time budget is spent on training); the copies are measured on the whole test
split afterwards.

Run: ``.venv/bin/python benchmarks/transformers.py`` (or ``make bench``).
"""

from __future__ import annotations

import copy
import math
import time

import torch

from course_lib import corpus, zoo
from course_lib.gpt import GPT
from course_lib.tokenize import Vocab

TARGET = 1.05


def measure() -> dict[str, float]:
    torch.set_num_threads(1)  # as in the chapter: one thread is fastest for this small model
    recipe = zoo.RECIPES["base-gpt"]
    train_docs, test_docs = zoo.datasets(recipe)
    vocab = Vocab.build(train_docs)
    floor = corpus.floor_nats_per_token(test_docs, split="test")

    snapshots: list[tuple[float, GPT]] = []   # (seconds of training so far, a copy of the model)
    copying = 0.0
    start = time.perf_counter()

    def snapshot(model: GPT) -> float:
        nonlocal copying
        t0 = time.perf_counter()
        snapshots.append((t0 - start - copying, copy.deepcopy(model)))
        copying += time.perf_counter() - t0
        return math.nan

    model, history = zoo.fit_recipe(recipe, vocab, train_docs, snapshot, progress=False)
    training_seconds = history.seconds - copying   # fit's last call of snapshot copies the final model

    reached = math.nan
    for seconds, snap in snapshots:
        if zoo.document_loss(snap, vocab, test_docs) <= TARGET * floor:
            reached = seconds
            break
    tokens = zoo.predictions_per_document(train_docs) * recipe.batch_size * len(history.steps)
    return {
        "gpt_train_tokens_per_s": tokens / training_seconds,
        "gpt_s_to_1.05_floor": reached,
        "gpt_loss_over_floor_60s": zoo.document_loss(model, vocab, test_docs) / floor,
        "gpt_params": float(model.num_params()),
    }


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name}: {value:.4g}")
