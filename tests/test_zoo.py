"""course_lib.zoo: train once, cache on disk, never use a bad file; whole-document losses."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from course_lib import corpus, train, zoo
from course_lib.gpt import GPT, GPTConfig
from course_lib.tokens import Vocab

TINY = zoo.Recipe(config=dict(block_size=48, n_layer=1, n_head=2, n_embd=16), n_train=200,
                  n_test=40, n_iid=40, steps=6, batch_size=8, warmup=2, eval_every=3)
SHORT = zoo.Recipe(config=dict(block_size=48, n_layer=2, n_head=2, n_embd=16, dropout=0.1),
                   n_train=200, n_test=40, n_iid=40, steps=25, batch_size=8, warmup=5,
                   weight_decay=0.1, eval_every=10)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path))
    monkeypatch.setitem(zoo.RECIPES, "tiny", TINY)
    return tmp_path


def test_the_base_model_is_registered_and_no_clock_decides_it():
    recipe = zoo.RECIPES["base-gpt"]
    assert "vocab_size" not in recipe.config
    for r in zoo.RECIPES.values():     # a fixed number of steps, never a time budget
        assert not hasattr(r, "max_seconds") and isinstance(r.steps, int) and r.steps > 0


def _weights(recipe):
    train_docs, _ = zoo.datasets(recipe)
    vocab = Vocab.build(train_docs)
    model, history = zoo.fit_recipe(recipe, vocab, train_docs, progress=False)
    return model.state_dict(), history


def test_a_busy_machine_trains_exactly_the_same_weights():
    """Two CPU hogs beside training change how long it takes, never what it learns."""
    quiet, quiet_history = _weights(SHORT)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        busy, busy_history = _weights(SHORT)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert quiet_history.steps == busy_history.steps == list(range(1, SHORT.steps + 1))
    assert quiet_history.train_loss == busy_history.train_loss
    assert quiet.keys() == busy.keys()
    for key in quiet:
        assert torch.equal(quiet[key], busy[key]), key


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_LIB_CACHE", raising=False)
    assert zoo.cache_dir() == zoo.REPO_ROOT / ".cache" / "zoo"
    monkeypatch.setenv("COURSE_LIB_CACHE", str(tmp_path))
    assert zoo.cache_dir() == tmp_path


def test_the_key_follows_recipe_and_seed(cache):
    path = zoo.cache_path("tiny", TINY)
    assert path.parent == cache and path.name.startswith("tiny-")
    assert zoo.cache_path("tiny", TINY) == path
    assert zoo.cache_path("tiny", zoo.Recipe(**{**TINY.__dict__, "seed": 1})) != path
    assert zoo.cache_path("tiny", zoo.Recipe(**{**TINY.__dict__, "n_train": 201})) != path
    other = zoo.Recipe(**{**TINY.__dict__, "config": {**TINY.config, "n_embd": 32}})
    assert zoo.cache_path("tiny", other) != path


def test_document_batch_makes_exactly_the_floors_predictions():
    docs = corpus.sample_documents(30, "test", seed=3)
    vocab = Vocab.build(docs)
    x, y = zoo.document_batch(vocab, docs)
    assert (x[:, 0] == vocab.bos_id).all()
    assert int((y != -100).sum()) == sum(len(d) + 1 for d in docs)
    assert zoo.predictions_per_document(docs) * len(docs) == pytest.approx(int((y != -100).sum()))
    for row, doc in enumerate(docs):
        assert vocab.decode(y[row, : len(doc) + 1].tolist()) == doc + [corpus.EOS]
        assert (x[row, len(doc) + 1:] == vocab.pad_id).all()
    with pytest.raises(ValueError, match="length"):
        zoo.document_batch(vocab, docs, length=3)


def test_document_loss_is_the_mean_over_documents_of_each_prediction():
    docs = corpus.sample_documents(12, "train", seed=1)
    vocab = Vocab.build(docs)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(vocab), block_size=48, n_layer=1, n_head=2, n_embd=16))
    total, count = 0.0, 0
    for doc in docs:                       # one document at a time, no padding at all
        ids = torch.tensor([vocab.encode_document(doc)])
        logits, _ = model(ids[:, :-1])
        total += F.cross_entropy(logits[0], ids[0, 1:], reduction="sum").item()
        count += len(doc) + 1
    assert zoo.document_loss(model, vocab, docs, batch_size=5) == pytest.approx(total / count, rel=1e-5)


def test_load_trains_once_then_reads_the_cache(cache, monkeypatch):
    first = zoo.load("tiny", progress=False)
    assert zoo.cache_path("tiny").exists()
    assert set(first.report) >= {"iid_loss", "iid_floor", "iid_ratio", "test_loss", "test_floor",
                                 "test_ratio", "seconds", "cpu_seconds", "steps", "params"}
    assert "floor" not in first.report and "ratio" not in first.report   # never an ambiguous floor
    assert first.report["iid_ratio"] == pytest.approx(first.report["iid_loss"] / first.report["iid_floor"])
    assert first.report["test_ratio"] == pytest.approx(first.report["test_loss"] / first.report["test_floor"])
    fresh = zoo.fresh_documents(TINY)
    assert all(corpus.split_of(doc) == "train" for doc in fresh)
    assert first.report["iid_floor"] == pytest.approx(corpus.floor_nats_per_token(fresh, split="train"))
    _, test_docs = zoo.datasets(TINY)
    assert first.report["test_floor"] == pytest.approx(corpus.floor_nats_per_token(test_docs, split="test"))
    assert first.report["steps"] == TINY.steps
    assert first.history["eval_steps"][0] == 0
    assert len(first.history["iid_eval_loss"]) == len(first.history["eval_loss"])

    def no_training(*args, **kwargs):
        raise AssertionError("load trained again instead of reading the cache")

    monkeypatch.setattr(zoo, "build", no_training)
    second = zoo.load("tiny")
    assert second.vocab.itos == first.vocab.itos
    assert second.report == first.report
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    assert not second.model.training


@pytest.mark.parametrize("damage", ["garbage", "truncated", "weights", "key"])
def test_a_bad_cache_file_is_never_used(cache, damage):
    trained = zoo.load("tiny", progress=False)
    path = zoo.cache_path("tiny")
    if damage == "garbage":
        path.write_bytes(b"not a model")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        payload = torch.load(path, weights_only=True)
        if damage == "weights":
            name = next(iter(payload["state"]))
            payload["state"][name] = payload["state"][name] + 1.0
        else:
            payload["key"]["recipe"]["steps"] = 999
        torch.save(payload, path)
    with pytest.warns(UserWarning, match="training 'tiny' again"):
        again = zoo.load("tiny", progress=False)
    assert again.vocab.itos == trained.vocab.itos
    zoo.read("tiny", TINY, path)              # the file was rebuilt and now reads cleanly


def test_unknown_name():
    with pytest.raises(KeyError, match="base-gpt"):
        zoo.load("no-such-model")


def test_warmup_cosine_schedule():
    schedule = train.warmup_cosine(steps=100, warmup=10, final=0.1)
    assert schedule(1) == pytest.approx(0.1)
    assert schedule(10) == pytest.approx(1.0)
    assert schedule(55) == pytest.approx(0.1 + 0.9 * 0.5)
    assert schedule(100) == pytest.approx(0.1)
    assert train.warmup_cosine(steps=10)(1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 10)))


def test_fit_follows_the_lr_schedule():
    model = torch.nn.Linear(3, 1)
    before = [p.detach().clone() for p in model.parameters()]
    batch = (torch.randn(8, 3), torch.randn(8, 1))
    train.fit(model, lambda m, b: F.mse_loss(m(b[0]), b[1]), lambda g: batch, steps=5, lr=0.1,
              lr_schedule=lambda step: 0.0, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    train.fit(model, lambda m, b: F.mse_loss(m(b[0]), b[1]), lambda g: batch, steps=5, lr=0.1,
              lr_schedule=lambda step: 1.0, progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
