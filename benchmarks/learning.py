"""Chapter 3 figures: how fast the autograd engine and the training loop run,
and how close the chapter's small language model gets to its floor.

- ``autograd_ops_per_s``: operations per second of ``course_lib.autograd``,
  forward and backward together, on a small MLP's loss (each Value an
  operation makes counts as one operation);
- ``train_loop_steps_per_s``: updates per CPU second of Chapter 3's plain
  training loop (the small transformer, mini-batches of 32 whole documents,
  plain SGD), on one thread;
- ``ch3_loss_over_floor``: that model's loss after the chapter's 3000 steps
  on 500 fresh documents of the training distribution, divided by their
  exact floor (``corpus.floor_nats_per_token(docs, split="train")``): the
  number Chapter 3 prints. Deterministic (fixed steps and seeds).
"""

from __future__ import annotations

import time

import torch

from course_lib import corpus, gpt, zoo
from course_lib.autograd import Value, ValueMLP, topological_order
from course_lib.tokens import Vocab
from course_lib.train import one_thread


def autograd_ops_per_s(repeats: int = 5) -> float:
    """Build an MLP's squared-error loss on a few points and backpropagate it."""
    model = ValueMLP(4, [8, 8, 1], seed=0)
    xs = [[0.1 * i, -0.2 * i, 0.3, 1.0 - 0.1 * i] for i in range(8)]
    ops, start = 0, time.perf_counter()
    for _ in range(repeats):
        loss = sum(((model(x)[0] - 1.0) ** 2 for x in xs), Value(0.0))
        model.zero_grad()
        loss.backward()
        ops += sum(1 for node in topological_order(loss) if node.children)
    return ops / (time.perf_counter() - start)


def chapter_training(steps: int = 3000, lr: float = 0.5, batch_size: int = 32) -> dict[str, float]:
    """Chapter 3's training run, as the chapter writes it: the plain loop on whole documents."""
    with one_thread():  # as in the chapter
        train_docs = corpus.sample_documents(2000, split="train", seed=0)
        eval_docs = corpus.sample_documents(500, split="train", seed=1)
        vocab = Vocab.build(train_docs)
        torch.manual_seed(0)
        model = gpt.GPT(gpt.GPTConfig(vocab_size=len(vocab), block_size=48, n_layer=1, n_head=2,
                                      n_embd=32))
        x_train, y_train = zoo.document_batch(vocab, train_docs)
        get_batch = zoo.batches_from_documents(x_train, y_train, batch_size=batch_size)
        generator = torch.Generator().manual_seed(0)
        start = time.process_time()
        for _ in range(steps):
            x, y = get_batch(generator)
            _, loss = model(x, y)
            loss.backward()
            with torch.no_grad():
                for w in model.parameters():
                    w -= lr * w.grad
                    w.grad = None
        cpu_seconds = time.process_time() - start
        loss = zoo.document_loss(model, vocab, eval_docs)
        floor = corpus.floor_nats_per_token(eval_docs, split="train")
    return {"train_loop_steps_per_s": steps / cpu_seconds, "ch3_loss_over_floor": loss / floor}


def measure() -> dict[str, float]:
    return {"autograd_ops_per_s": autograd_ops_per_s(), **chapter_training()}


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name}: {value:.4g}")
