"""Language-model helpers: next-word predictors and how to score them.

A language model reads the start of a document and gives a probability to
every possible next token. This module holds the two simplest ones and the
tools around them (chapters 2 to 5):

1. ``document_pairs``  - documents to (context, next token) training pairs.
2. ``BigramModel``     - counts which word follows which (add-alpha smoothing).
3. ``NextWordMLP``     - embeddings of the last few words, an MLP, a softmax.
4. ``loss_and_accuracy``, ``evaluate`` - held-out loss (nats per token) and
   next-word accuracy.
5. ``train_next_word`` - trains a torch model with ``course_lib.train.fit``,
   recording the loss on the training and the test documents as it goes.
6. ``next_word_table`` - a model's most likely next words beside the true ones;
   ``with_temperature`` - sharpen or flatten a next-word distribution;
   ``sample_next`` - draw the next token from such a distribution (every
   sampler of the course draws with it, ``gpt.GPT.generate`` too);
   ``continue_text`` - what a base model does with a prompt: continue it, one
   sampled word at a time.

Every score is computed on exactly the predictions that
``course_lib.corpus.floor_nats_per_token`` counts: each word of a document,
and then its ``<eos>``, each given ``<bos>`` and the words before it. So a
model's loss can be compared with the floor directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib import corpus, train
from course_lib.tokens import Vocab

# ---------------------------------------------------------------------------
# 1. Training pairs
# ---------------------------------------------------------------------------


def document_pairs(
    docs: Sequence[Sequence[str]], vocab: Vocab, context_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (context, next token) pair of ``docs``, as two tensors.

    Each document becomes ``<bos> w1 ... wn <eos>``; there is one pair per
    token after ``<bos>``, so n + 1 pairs per document. A context holds the
    ``context_size`` tokens before the target, padded on the left with
    ``<pad>`` near the start of a document.

    Returns ``contexts`` of shape (N, context_size) and ``targets`` of shape (N,).
    """
    if context_size < 1:
        raise ValueError(f"context_size must be at least 1, got {context_size}")
    pad = [vocab.pad_id] * context_size
    contexts, targets = [], []
    for doc in docs:
        ids = pad + vocab.encode_document(doc)
        for t in range(context_size + 1, len(ids)):
            contexts.append(ids[t - context_size:t])
            targets.append(ids[t])
    if not targets:
        raise ValueError("document_pairs needs at least one document")
    return torch.tensor(contexts), torch.tensor(targets)


# ---------------------------------------------------------------------------
# 2. The bigram model: counting
# ---------------------------------------------------------------------------


class BigramModel:
    """P(next | previous token): counts of token pairs, with add-alpha smoothing.

    ``counts[a, b]`` is how often token ``b`` followed token ``a`` in the
    training documents (``<bos>`` before the first word, ``<eos>`` after the
    last). The probability of ``b`` after ``a`` is
    ``(counts[a, b] + alpha) / (counts[a].sum() + alpha * V)``: a pair never
    seen still gets a little probability.
    """

    context_size = 1  # it reads only the previous token

    def __init__(self, counts: np.ndarray, alpha: float = 0.1) -> None:
        if alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        self.counts = np.asarray(counts, dtype=float)
        self.alpha = alpha
        smoothed = self.counts + alpha
        self.table = smoothed / smoothed.sum(axis=1, keepdims=True)  # (V, V), rows sum to 1

    @classmethod
    def fit(cls, docs: Sequence[Sequence[str]], vocab: Vocab, alpha: float = 0.1) -> BigramModel:
        """Count the token pairs of ``docs``."""
        contexts, targets = document_pairs(docs, vocab, context_size=1)
        counts = np.zeros((len(vocab), len(vocab)))
        np.add.at(counts, (contexts[:, 0].numpy(), targets.numpy()), 1)
        return cls(counts, alpha)

    def next_word_probs(self, previous_id: int) -> np.ndarray:
        """The distribution (V,) of the token after ``previous_id``."""
        return self.table[previous_id]

    def probs(self, contexts: torch.Tensor) -> torch.Tensor:
        """Next-token probabilities (N, V) for contexts (N, k): only the last column counts."""
        return torch.as_tensor(self.table[contexts[:, -1].numpy()], dtype=torch.float32)


# ---------------------------------------------------------------------------
# 3. A small neural next-word model
# ---------------------------------------------------------------------------


class NextWordMLP(nn.Module):
    """Embed the last ``context_size`` tokens, concatenate, MLP, next-token logits.

    The model of Bengio et al. (2003) in a few lines: each token id looks up
    a learned vector (its embedding) in ``embedding``, a table of shape
    (vocab_size, n_embd); the vectors of the context, side by side, go
    through one hidden layer; the output layer scores every token.
    """

    def __init__(self, vocab_size: int, context_size: int = 10, n_embd: int = 16,
                 n_hidden: int = 256) -> None:
        super().__init__()
        self.context_size = context_size
        self.embedding = nn.Embedding(vocab_size, n_embd)
        # Start the vectors small, so that after training what they hold is
        # what was learned rather than the random start.
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.hidden = nn.Linear(context_size * n_embd, n_hidden)
        self.out = nn.Linear(n_hidden, vocab_size)

    def forward(self, contexts: torch.Tensor) -> torch.Tensor:
        """contexts (N, context_size) token ids -> logits (N, vocab_size)."""
        x = self.embedding(contexts).flatten(1)        # (N, context_size * n_embd)
        return self.out(torch.tanh(self.hidden(x)))    # (N, V)

    def loss(self, contexts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats per token) of the targets."""
        return F.cross_entropy(self(contexts), targets)

    @torch.no_grad()
    def probs(self, contexts: torch.Tensor) -> torch.Tensor:
        """Next-token probabilities (N, V)."""
        return torch.softmax(self(contexts), dim=-1)


# ---------------------------------------------------------------------------
# 4. Scores
# ---------------------------------------------------------------------------


def loss_and_accuracy(probs: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
    """Mean negative log-likelihood (nats per token) and next-token accuracy.

    ``probs`` (N, V) are a model's predictions, ``targets`` (N,) the tokens
    that really came next. Accuracy counts the predictions whose most likely
    token is the right one.
    """
    picked = probs[torch.arange(len(targets)), targets]
    nll = -torch.log(picked.clamp_min(1e-30)).mean()
    accuracy = (probs.argmax(dim=-1) == targets).float().mean()
    return float(nll), float(accuracy)


def evaluate(model, docs: Sequence[Sequence[str]], vocab: Vocab) -> tuple[float, float]:
    """``loss_and_accuracy`` of ``model`` on every prediction of ``docs``.

    ``model`` has a ``context_size`` and a ``probs(contexts)`` method
    (``BigramModel`` and ``NextWordMLP`` both do).
    """
    contexts, targets = document_pairs(docs, vocab, model.context_size)
    return loss_and_accuracy(model.probs(contexts), targets)


# ---------------------------------------------------------------------------
# 5. Training with a train and a test curve
# ---------------------------------------------------------------------------


@dataclass
class Curves:
    """Loss (nats per token) on the train and test pairs after ``steps[i]`` updates."""
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    history: train.History | None = None


def train_next_word(
    model: NextWordMLP,
    train_docs: Sequence[Sequence[str]],
    test_docs: Sequence[Sequence[str]],
    vocab: Vocab,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 3e-3,
    eval_every: int = 100,
    weight_decay: float = 0.0,
    max_eval_pairs: int = 20_000,
    seed: int = 0,
) -> Curves:
    """Train ``model`` on ``train_docs`` with ``train.fit``; record both losses.

    Training runs exactly ``steps`` updates of AdamW on random mini-batches
    (fixed ``seed``), so the result does not depend on how busy the machine
    is. Every ``eval_every`` updates, the loss on all the train pairs and on
    all the ``test_docs`` pairs is measured (on the first ``max_eval_pairs``
    train pairs only, to keep it quick), so that overfitting shows as a gap
    between the two curves. ``test_docs`` may be any held-out documents:
    fresh ones of the training distribution, or the test split.
    """
    x_train, y_train = document_pairs(train_docs, vocab, model.context_size)
    x_test, y_test = document_pairs(test_docs, vocab, model.context_size)
    x_seen, y_seen = x_train[:max_eval_pairs], y_train[:max_eval_pairs]  # keeps evaluation quick
    curves = Curves()

    def get_batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.randint(0, len(y_train), (batch_size,), generator=generator)
        return x_train[rows], y_train[rows]

    def eval_fn(m: NextWordMLP) -> float:
        curves.train_loss.append(m.loss(x_seen, y_seen).item())
        test_loss = m.loss(x_test, y_test).item()
        curves.test_loss.append(test_loss)
        return test_loss

    curves.history = train.fit(model, lambda m, batch: m.loss(*batch), get_batch, steps=steps,
                               lr=lr, weight_decay=weight_decay, eval_fn=eval_fn, eval_every=eval_every,
                               seed=seed, progress=False)
    curves.steps = list(curves.history.eval_steps)
    return curves


# ---------------------------------------------------------------------------
# 6. A model's guesses beside the truth
# ---------------------------------------------------------------------------


def next_word_table(model, vocab: Vocab, prefix: Sequence[str],
                    k: int = 8, split: str = "all") -> list[tuple[str, float, float]]:
    """The ``k`` tokens ``model`` finds most likely after ``prefix``.

    Returns ``(token, model probability, true probability)`` rows, the true
    one from ``corpus.next_word_probs(prefix, split)`` (0 where that
    distribution never goes).
    """
    probs = model.probs(torch.tensor([_context_ids(model, vocab, prefix)]))[0]
    truth = corpus.next_word_probs(prefix, split)
    top = torch.argsort(probs, descending=True)[:k]
    return [(vocab.itos[i], float(probs[i]), truth.get(vocab.itos[i], 0.0)) for i in top.tolist()]


def _context_ids(model, vocab: Vocab, prefix: Sequence[str]) -> list[int]:
    """The last ``model.context_size`` ids of ``<pad>... <bos> prefix``."""
    ids = [vocab.pad_id] * model.context_size + vocab.encode_prompt(prefix)
    return ids[-model.context_size:]


def with_temperature(probs, temperature: float):
    """``probs`` sharpened (temperature < 1) or flattened (> 1): p ** (1/T), renormalised.

    ``probs`` is a tensor (last axis = the vocabulary) or a dict word -> p;
    the result has the same type. Temperature 1 changes nothing; towards 0 it
    approaches always picking the most likely word; large values approach
    picking any possible word with equal chance.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if isinstance(probs, dict):
        weights = {w: p ** (1.0 / temperature) for w, p in probs.items()}
        total = sum(weights.values())
        return {w: x / total for w, x in weights.items()}
    # in log space, so that small probabilities and small temperatures do not underflow
    return torch.softmax(torch.log(probs.clamp_min(1e-30)) / temperature, dim=-1)


def sample_next(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token id drawn at random from each row of next-token probabilities.

    ``probs`` is (V,) or (B, V); the result is (1,) or (B, 1). The same
    ``generator`` seed gives the same draws.
    """
    return torch.multinomial(probs, 1, generator=generator)


def continue_text(model, vocab: Vocab, prefix: Sequence[str], max_words: int = 30,
                  seed: int = 0, temperature: float = 1.0) -> list[str]:
    """Words sampled from ``model`` after ``prefix``, one at a time, until ``<eos>``.

    At each step the model gives a probability to every possible next word;
    one word is drawn from that distribution (after ``with_temperature``),
    appended, and the model is asked again. This is all a base model can do
    with a prompt: continue it.
    """
    generator = torch.Generator().manual_seed(seed)
    words = list(prefix)
    for _ in range(max_words):
        probs = model.probs(torch.tensor([_context_ids(model, vocab, words)]))[0]
        if temperature != 1.0:
            probs = with_temperature(probs, temperature)
        word = vocab.itos[int(sample_next(probs, generator))]
        if word == vocab.itos[vocab.eos_id]:
            break
        words.append(word)
    return words[len(prefix):]


__all__ = ["document_pairs", "BigramModel", "NextWordMLP", "loss_and_accuracy", "evaluate",
           "Curves", "train_next_word", "next_word_table", "with_temperature", "sample_next",
           "continue_text"]
