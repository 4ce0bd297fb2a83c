"""Trained models, made once and kept on disk.

Training Chapter 4's GPT takes about half a minute; Chapter 5 starts from that
same model. Every recipe trains a fixed number of steps with fixed seeds: no
clock decides what a model learns, so the same recipe gives the same weights
on an idle and on a saturated machine. ``load`` trains a named model the first time it is asked for and saves
it; every later call, in any notebook, reads it back in a second::

    from course_lib import zoo

    base = zoo.load("base-gpt")     # Chapter 4's GPT, pretrained on the course language
    base.model                      # a course_lib.gpt.GPT, in eval mode
    base.vocab                      # the course_lib.tokens.Vocab it reads
    base.report                     # two measurements, never mixed (see ``build``), seconds, ...
    base.history                    # fit's History as a dict (loss curves)

    zoo.RECIPES                     # every name load() knows, with its recipe
    zoo.cache_dir()                 # where the files live
    zoo.document_batch(vocab, docs) # (x, y) for whole documents, padding ignored
    zoo.document_loss(model, vocab, docs)  # nats per prediction, like the floor

The cache folder is ``$COURSE_LIB_CACHE`` if set, else ``<repo>/.cache/zoo``
(``make clean`` removes it). A file's name carries a hash of its *key*: the
recipe (model shape, data, training settings), the seed, and the source code
of the modules that make the model (corpus, tokens, gpt, train, zoo). Any
change to one of them gives another key, so the model is trained again. A
file that cannot be read, holds another key, or whose weights no longer match
their checksum is never used: ``load`` warns and trains again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from course_lib import corpus, gpt, tokens, train
from course_lib.gpt import GPT, IGNORE_INDEX, GPTConfig
from course_lib.tokens import Vocab

FORMAT = 2
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Recipe:
    """Everything that decides what a trained model will be.

    ``config`` holds the GPTConfig fields except ``vocab_size`` (which comes
    from the training documents). The model trains for exactly ``steps``
    updates (no time budget) on ``n_train`` documents of the train split and
    is measured twice: on ``n_iid`` fresh documents of the train split (drawn
    with ``data_seed + 1``: the training distribution, other documents) and
    on ``n_test`` documents of the test split (held-out combinations).
    """

    config: dict[str, Any]
    n_train: int = 20_000
    n_test: int = 2_000
    n_iid: int = 2_000
    data_seed: int = 0
    steps: int = 3_000
    batch_size: int = 64
    lr: float = 3e-3
    warmup: int = 100
    final_lr: float = 0.1
    weight_decay: float = 0.0
    eval_every: int = 100
    seed: int = 0


EVAL_DOCS = 500
# Chapter 4's targets for "base-gpt" (the chapter and benchmarks/transformers.py read
# them here): a loss on fresh documents of the training distribution at most
# BASE_GPT_LOSS_TARGET times their exact floor, after at most BASE_GPT_SECONDS_TARGET
# CPU seconds of training on one thread.
BASE_GPT_LOSS_TARGET = 1.03
BASE_GPT_SECONDS_TARGET = 40
RECIPES: dict[str, Recipe] = {
    # Chapter 4's tiny GPT, the base model that Chapter 5 fine-tunes: exactly
    # 1,500 updates of 32 whole documents (about 35 CPU seconds on one thread).
    # Mini-batches of 32 documents and dropout 0.1 reach 1.02 times the floor on
    # fresh documents of the training distribution; with dropout 0.2 (the old
    # recipe) it was 1.05, with none 1.021 but a worse held-out loss.
    "base-gpt": Recipe(config=dict(block_size=48, n_layer=2, n_head=4, n_embd=64, dropout=0.1),
                       steps=1500, batch_size=32, lr=5e-3, warmup=100, final_lr=0.1,
                       weight_decay=0.1),
}


@dataclass
class Trained:
    """A model from the zoo and what is known about it."""

    name: str
    model: GPT
    vocab: Vocab
    recipe: Recipe
    report: dict[str, float] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)


# --- data: whole documents, padded -----------------------------------------

def document_batch(vocab: Vocab, docs: Sequence[Sequence[str]],
                   length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for whole documents, one document per row.

    Row r reads ``<bos>`` and the words of ``docs[r]`` and must predict each
    next word and finally ``<eos>``: exactly the predictions that
    ``corpus.floor_nats_per_token`` averages over. Inputs are padded with
    ``<pad>``, targets with ``IGNORE_INDEX`` (ignored by the loss). ``length`` (default:
    the longest document plus one) is the number of columns.
    """
    rows = [vocab.encode_document(doc) for doc in docs]
    longest = max(len(r) - 1 for r in rows)
    length = longest if length is None else length
    if longest > length:
        raise ValueError(f"a document needs {longest} positions, more than length={length}")
    x = torch.full((len(rows), length), vocab.pad_id, dtype=torch.long)
    y = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
    for r, ids in enumerate(rows):
        ids = torch.tensor(ids)
        x[r, : len(ids) - 1] = ids[:-1]
        y[r, : len(ids) - 1] = ids[1:]
    return x, y


def document_loss(model: GPT, vocab: Vocab, docs: Sequence[Sequence[str]],
                  batch_size: int = 500) -> float:
    """Mean negative log-likelihood (nats) per prediction over whole documents.

    The same predictions as ``corpus.floor_nats_per_token(docs, split=...)``
    averages over, so the loss can be compared directly with the floor of the
    split the documents were drawn from (``"train"`` for training and fresh
    in-distribution documents, ``"test"`` for test documents).
    """
    total, count = 0.0, 0
    with train.evaluating(model):
        for start in range(0, len(docs), batch_size):
            x, y = document_batch(vocab, docs[start:start + batch_size])
            logits, _ = model(x)
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                     ignore_index=IGNORE_INDEX, reduction="sum").item()
            count += int((y != IGNORE_INDEX).sum())
    return total / count


def batches_from_documents(x: torch.Tensor, y: torch.Tensor, batch_size: int):
    """A ``get_batch`` for ``train.fit``: random rows of ``document_batch``,
    trimmed to the longest document in the batch (less padding, same loss)."""
    lengths = (y != IGNORE_INDEX).sum(dim=1)

    def get_batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.randint(0, len(x), (batch_size,), generator=generator)
        width = int(lengths[rows].max())
        return x[rows, :width], y[rows, :width]

    return get_batch


# --- training a recipe -----------------------------------------------------

def datasets(recipe: Recipe) -> tuple[list[list[str]], list[list[str]]]:
    """The (train, test) documents of a recipe."""
    return (corpus.sample_documents(recipe.n_train, "train", recipe.data_seed),
            corpus.sample_documents(recipe.n_test, "test", recipe.data_seed))


def fresh_documents(recipe: Recipe) -> list[list[str]]:
    """``n_iid`` fresh documents of the training distribution (train split, seed
    ``data_seed + 1``), for the in-distribution measurement. Drawn i.i.d., so a
    short document may also occur among the training documents, as it would in
    any sample of that distribution."""
    return corpus.sample_documents(recipe.n_iid, "train", recipe.data_seed + 1)


def fit_recipe(recipe: Recipe, vocab: Vocab, train_docs: Sequence[Sequence[str]],
               eval_fn: Callable[[GPT], float] | None = None,
               progress: bool | None = None) -> tuple[GPT, train.History]:
    """Make the recipe's GPT and train it on ``train_docs`` with the recipe's settings.

    ``eval_fn(model)`` is called before training and every ``eval_every`` updates.
    """
    config = GPTConfig(vocab_size=len(vocab), **recipe.config)
    torch.manual_seed(recipe.seed)
    model = GPT(config)
    x, y = document_batch(vocab, train_docs, length=config.block_size)
    with train.one_thread():
        history = train.fit(
            model,
            lambda m, batch: m(*batch)[1],
            batches_from_documents(x, y, recipe.batch_size),
            steps=recipe.steps,
            lr=recipe.lr,
            weight_decay=recipe.weight_decay,
            lr_schedule=train.warmup_cosine(recipe.steps, recipe.warmup, recipe.final_lr),
            eval_fn=eval_fn,
            eval_every=recipe.eval_every,
            seed=recipe.seed,
            progress=progress,
        )
    model.eval()
    return model, history


def predictions_per_document(docs: Sequence[Sequence[str]]) -> float:
    """Mean number of next-token predictions in a document (its words and ``<eos>``)."""
    return sum(len(d) + 1 for d in docs) / len(docs)


def build(name: str, recipe: Recipe, progress: bool | None = None) -> Trained:
    """Train ``recipe`` from scratch (no cache) and measure it.

    The report holds two measurements that are never mixed, each against the
    exact floor of the distribution its documents were drawn from:

    - in-distribution (``iid_loss``, ``iid_floor``, ``iid_ratio``): fresh
      documents of the train split against ``floor_nats_per_token(docs,
      split="train")``; a model that learned the training distribution can
      come close to 1.00 here;
    - generalisation (``test_loss``, ``test_floor``, ``test_ratio``):
      documents of the test split, each holding a combination never seen in
      training, against the floor of the test split (``split="test"``).

    Also: ``seconds`` (wall clock) and ``cpu_seconds`` (CPU time of this
    one-thread process) spent on the training updates alone, ``steps``,
    ``tokens_per_second`` (per CPU second) and ``params``. The history gets
    both curves: ``eval_loss`` (held-out test documents) and ``iid_eval_loss``
    (fresh train-split documents), ``EVAL_DOCS`` of each.
    """
    train_docs, test_docs = datasets(recipe)
    fresh_docs = fresh_documents(recipe)
    vocab = Vocab.build(train_docs)
    watched_test, watched_fresh = test_docs[:EVAL_DOCS], fresh_docs[:EVAL_DOCS]
    iid_curve: list[float] = []
    spent = {"wall": 0.0, "cpu": 0.0}   # time spent measuring, not training

    def watch(model: GPT) -> float:
        wall, cpu = time.perf_counter(), time.process_time()
        iid_curve.append(document_loss(model, vocab, watched_fresh))
        loss = document_loss(model, vocab, watched_test)
        spent["wall"] += time.perf_counter() - wall
        spent["cpu"] += time.process_time() - cpu
        return loss

    model, history = fit_recipe(recipe, vocab, train_docs, watch, progress)
    iid_loss = document_loss(model, vocab, fresh_docs)
    iid_floor = corpus.floor_nats_per_token(fresh_docs, split="train")
    test_loss = document_loss(model, vocab, test_docs)
    test_floor = corpus.floor_nats_per_token(test_docs, split="test")
    cpu_seconds = history.cpu_seconds - spent["cpu"]
    tokens = predictions_per_document(train_docs) * recipe.batch_size * len(history.steps)
    report = {
        "iid_loss": iid_loss,
        "iid_floor": iid_floor,
        "iid_ratio": iid_loss / iid_floor,
        "test_loss": test_loss,
        "test_floor": test_floor,
        "test_ratio": test_loss / test_floor,
        "seconds": history.seconds - spent["wall"],
        "cpu_seconds": cpu_seconds,
        "steps": float(len(history.steps)),
        "tokens_per_second": tokens / cpu_seconds if cpu_seconds > 0 else 0.0,
        "params": float(model.num_params()),
    }
    saved = dataclasses.asdict(history)
    saved["iid_eval_loss"] = iid_curve
    return Trained(name, model, vocab, recipe, report, saved)


# --- the cache -------------------------------------------------------------

def cache_dir() -> Path:
    """``$COURSE_LIB_CACHE`` if set, else ``<repo>/.cache/zoo``."""
    return Path(os.environ.get("COURSE_LIB_CACHE") or REPO_ROOT / ".cache" / "zoo")


def cache_key(name: str, recipe: Recipe) -> dict[str, Any]:
    """What a cached file must match to be used."""
    sources = hashlib.sha256()
    for module in (corpus, tokens, gpt, train):
        sources.update(inspect.getsource(module).encode())
    sources.update(_ZOO_SOURCE.encode())
    return {"format": FORMAT, "name": name, "recipe": dataclasses.asdict(recipe),
            "code": sources.hexdigest()}


def cache_path(name: str, recipe: Recipe | None = None, directory: Path | None = None) -> Path:
    """Where ``load(name)`` keeps its file."""
    recipe = recipe or RECIPES[name]
    key = json.dumps(cache_key(name, recipe), sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(directory or cache_dir()) / f"{name}-{digest}.pt"


def _checksum(state: dict[str, torch.Tensor], rest: dict[str, Any]) -> str:
    h = hashlib.sha256(json.dumps(rest, sort_keys=True).encode())
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def save(trained: Trained, path: Path) -> None:
    """Write ``trained`` to ``path`` atomically (a half-written file never appears)."""
    rest = {"key": cache_key(trained.name, trained.recipe), "vocab": trained.vocab.itos,
            "report": trained.report, "history": trained.history}
    state = {k: v.clone() for k, v in trained.model.state_dict().items()}
    payload = {**rest, "state": state, "checksum": _checksum(state, rest)}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read(name: str, recipe: Recipe, path: Path) -> Trained:
    """Read a cached model; raise ValueError if the file is corrupt or stale."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        rest = {k: payload[k] for k in ("key", "vocab", "report", "history")}
        state = payload["state"]
        checksum = payload["checksum"]
    except Exception as error:  # unreadable, truncated, not ours
        raise ValueError(f"cannot read it ({type(error).__name__}: {error})") from error
    if rest["key"] != json.loads(json.dumps(cache_key(name, recipe))):
        raise ValueError("it was made from another recipe or another version of the code")
    if _checksum(state, rest) != checksum:
        raise ValueError("its contents do not match their checksum")
    vocab = Vocab(rest["vocab"])
    model = GPT(GPTConfig(vocab_size=len(vocab), **recipe.config))
    model.load_state_dict(state)
    model.eval()
    return Trained(name, model, vocab, recipe, rest["report"], rest["history"])


def load(name: str, retrain: bool = False, progress: bool | None = None) -> Trained:
    """The trained model called ``name`` (see ``RECIPES``), from the cache if possible.

    Trains it (and saves it) when no valid cached file exists or ``retrain``
    is True. A corrupt or stale file is reported with a warning and replaced.
    """
    if name not in RECIPES:
        raise KeyError(f"no model called {name!r} in the zoo; known: {sorted(RECIPES)}")
    recipe = RECIPES[name]
    path = cache_path(name, recipe)
    if path.exists() and not retrain:
        try:
            return read(name, recipe, path)
        except ValueError as problem:
            warnings.warn(f"zoo: ignoring the cached {path.name}: {problem}; training {name!r} again",
                          stacklevel=2)
    trained = build(name, recipe, progress=progress)
    save(trained, path)
    return trained


_ZOO_SOURCE = Path(__file__).read_text(encoding="utf-8")

__all__ = ["Recipe", "RECIPES", "BASE_GPT_LOSS_TARGET", "BASE_GPT_SECONDS_TARGET", "Trained", "load", "build", "save", "read", "cache_dir",
           "cache_key", "cache_path", "datasets", "fresh_documents", "document_batch", "document_loss",
           "batches_from_documents", "fit_recipe", "predictions_per_document"]
