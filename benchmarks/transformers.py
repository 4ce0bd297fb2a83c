"""Chapter 4's figures: the tiny GPT against the exact floors of the course language.

Trains the zoo's "base-gpt" recipe afresh (not from the cache), on one thread
as the chapter does, for its fixed number of steps, and reports two
measurements that are never mixed:

- gpt_train_s:               CPU seconds of the training updates alone
                             (``time.process_time`` of this one-thread process:
                             close to the wall time on a quiet machine, and
                             steadier than it on a busy one); target: at most
                             ``zoo.BASE_GPT_SECONDS_TARGET``;
- gpt_iid_loss_over_floor:   in-distribution: loss on fresh documents of the
                             train split (another seed, whole documents) over
                             their exact floor (``split="train"``); target: at
                             most ``zoo.BASE_GPT_LOSS_TARGET``;
- gpt_test_loss_over_floor:  generalisation: loss on documents of the test
                             split (each holds a combination never seen in
                             training) over the exact floor of the test split;
- gpt_train_tokens_per_s:    next-token predictions trained on per CPU second;
- gpt_params:                the model's number of parameters.

Nothing is measured while training, so the seconds are training alone.

Run: ``.venv/bin/python benchmarks/transformers.py`` (or ``make bench``).
"""

from __future__ import annotations

import time

from course_lib import corpus, zoo
from course_lib.tokens import Vocab
from course_lib.train import one_thread


def measure() -> dict[str, float]:
    one_thread()  # as in the chapter
    recipe = zoo.RECIPES["base-gpt"]
    train_docs, test_docs = zoo.datasets(recipe)
    fresh_docs = zoo.fresh_documents(recipe)
    vocab = Vocab.build(train_docs)

    start = time.process_time()
    model, history = zoo.fit_recipe(recipe, vocab, train_docs, None, progress=False)
    cpu_seconds = time.process_time() - start

    iid = zoo.document_loss(model, vocab, fresh_docs) / corpus.floor_nats_per_token(fresh_docs, split="train")
    test = zoo.document_loss(model, vocab, test_docs) / corpus.floor_nats_per_token(test_docs, split="test")
    tokens = zoo.predictions_per_document(train_docs) * recipe.batch_size * len(history.steps)
    return {
        "gpt_train_s": cpu_seconds,
        "gpt_iid_loss_over_floor": iid,
        "gpt_test_loss_over_floor": test,
        "gpt_train_tokens_per_s": tokens / cpu_seconds,
        "gpt_params": float(model.num_params()),
    }


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name}: {value:.4g}")
