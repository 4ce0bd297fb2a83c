"""Chapter 3 figures: how fast the autograd engine and the training loop run.

- ``autograd_ops_per_s``: operations per second of ``course_lib.autograd``,
  forward and backward together, on a small MLP's loss (each Value an
  operation makes counts as one operation);
- ``train_loop_steps_per_s``: updates per second of ``course_lib.train.fit``
  (plain SGD) on the small transformer and the course corpus of Chapter 3.
"""

from __future__ import annotations

import time

import torch

from course_lib import corpus, gpt, train
from course_lib.autograd import MLP, Value, topological_order
from course_lib.tokenize import Vocab


def autograd_ops_per_s(repeats: int = 5) -> float:
    """Build an MLP's squared-error loss on a few points and backpropagate it."""
    model = MLP(4, [8, 8, 1], seed=0)
    xs = [[0.1 * i, -0.2 * i, 0.3, 1.0 - 0.1 * i] for i in range(8)]
    ops, start = 0, time.perf_counter()
    for _ in range(repeats):
        loss = sum(((model(x)[0] - 1.0) ** 2 for x in xs), Value(0.0))
        model.zero_grad()
        loss.backward()
        ops += sum(1 for node in topological_order(loss) if node.children)
    return ops / (time.perf_counter() - start)


def train_loop_steps_per_s(steps: int = 200) -> float:
    """The chapter's training run: a 1-layer GPT, batches of 32 x 24 tokens, SGD."""
    torch.set_num_threads(1)  # as in the chapter: tiny models run fastest on one thread
    docs = corpus.sample_documents(2000, split="train", seed=0)
    vocab = Vocab.build(docs)
    ids = torch.tensor([i for doc in docs for i in vocab.encode_document(doc)])
    train.set_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=len(vocab), block_size=24, n_layer=1, n_head=2, n_embd=32))
    history = train.fit(model, lambda m, batch: m(*batch)[1],
                        train.batches_from_tokens(ids, block_size=24, batch_size=32),
                        steps=steps, lr=1.0, optimizer="sgd", progress=False)
    return len(history.steps) / history.seconds


def measure() -> dict[str, float]:
    return {"autograd_ops_per_s": autograd_ops_per_s(),
            "train_loop_steps_per_s": train_loop_steps_per_s()}


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name}: {value:.4g}")
