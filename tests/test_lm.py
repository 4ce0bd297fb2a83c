"""course_lib.lm: training pairs, the bigram model, the MLP, scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib import corpus, lm
from course_lib.tokens import Vocab


@pytest.fixture(scope="module")
def data():
    train = corpus.sample_documents(300, "train", seed=0)
    test = corpus.sample_documents(60, "test", seed=0)
    return train, test, Vocab.build(train)


def test_document_pairs_match_the_floors_predictions(data):
    train, _, vocab = data
    contexts, targets = lm.document_pairs(train[:5], vocab, context_size=3)
    assert contexts.shape == (sum(len(d) + 1 for d in train[:5]), 3)
    assert targets.shape == (contexts.shape[0],)
    first = vocab.encode_document(train[0])
    # the first pair: <bos> (left-padded) -> the first word; the last: ... -> <eos>
    assert contexts[0].tolist() == [vocab.pad_id, vocab.pad_id, vocab.bos_id]
    assert targets[0].item() == first[1]
    n = len(first) - 1
    assert targets[n - 1].item() == vocab.eos_id
    assert contexts[n - 1].tolist() == first[-4:-1]


def test_document_pairs_rejects_bad_input(data):
    _, _, vocab = data
    with pytest.raises(ValueError):
        lm.document_pairs([["Paris"]], vocab, context_size=0)
    with pytest.raises(ValueError):
        lm.document_pairs([], vocab, context_size=2)


def test_bigram_counts_and_smoothing(data):
    train, _, vocab = data
    model = lm.BigramModel.fit(train, vocab, alpha=0.5)
    assert model.counts.sum() == sum(len(d) + 1 for d in train)
    assert model.counts[vocab.bos_id].sum() == len(train)
    np.testing.assert_allclose(model.table.sum(axis=1), 1.0)
    row = model.counts[vocab.stoi["the"]]
    expected = (row + 0.5) / (row.sum() + 0.5 * len(vocab))
    np.testing.assert_allclose(model.next_word_probs(vocab.stoi["the"]), expected)
    assert np.all(model.table > 0)  # smoothing: nothing is impossible
    with pytest.raises(ValueError):
        lm.BigramModel(model.counts, alpha=0.0)


def test_loss_and_accuracy_by_hand():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    targets = torch.tensor([0, 1])
    nll, acc = lm.loss_and_accuracy(probs, targets)
    assert nll == pytest.approx(-(math.log(0.7) + math.log(0.3)) / 2, rel=1e-6)
    assert acc == pytest.approx(0.5)


def test_bigram_loss_is_above_the_floor(data):
    train, test, vocab = data
    model = lm.BigramModel.fit(train, vocab)
    nll, acc = lm.evaluate(model, test, vocab)
    assert nll > corpus.floor_nats_per_token(test, split="test")
    assert 0 < acc < 1


def test_mlp_shapes_and_probabilities(data):
    _, _, vocab = data
    torch.manual_seed(0)
    model = lm.NextWordMLP(len(vocab), context_size=4, n_embd=8, n_hidden=16)
    contexts = torch.randint(0, len(vocab), (5, 4))
    assert model(contexts).shape == (5, len(vocab))
    torch.testing.assert_close(model.probs(contexts).sum(dim=-1), torch.ones(5))


def test_training_beats_the_bigram_model(data):
    train, test, vocab = data
    torch.manual_seed(0)
    model = lm.NextWordMLP(len(vocab), context_size=8, n_embd=8, n_hidden=64)
    curves = lm.train_next_word(model, train, test, vocab, steps=300, eval_every=100, seed=0)
    assert curves.steps == [0, 100, 200, 300]
    assert len(curves.train_loss) == len(curves.test_loss) == 4
    assert curves.train_loss[-1] < curves.train_loss[0]
    bigram_loss, _ = lm.evaluate(lm.BigramModel.fit(train, vocab), train, vocab)
    neural_loss, _ = lm.evaluate(model, train, vocab)
    assert neural_loss < bigram_loss
    assert neural_loss == pytest.approx(curves.train_loss[-1], rel=1e-4)


def test_next_word_table_and_continue_text(data):
    train, _, vocab = data
    model = lm.BigramModel.fit(train, vocab)
    rows = lm.next_word_table(model, vocab, "She needs to head to the".split(), k=5)
    assert len(rows) == 5
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)
    truth = corpus.next_word_probs("She needs to head to the".split())
    assert all(p_true == truth.get(word, 0.0) for word, _, p_true in rows)
    words = lm.continue_text(model, vocab, ["Paris"], max_words=10, seed=1)
    assert len(words) <= 10 and all(w in vocab for w in words)
    assert words == lm.continue_text(model, vocab, ["Paris"], max_words=10, seed=1)


def test_temperature_sharpens_and_flattens():
    probs = {"store": 0.5, "market": 0.3, "office": 0.2}
    assert lm.with_temperature(probs, 1.0) == pytest.approx(probs)
    cold, hot = lm.with_temperature(probs, 0.5), lm.with_temperature(probs, 2.0)
    assert sum(cold.values()) == pytest.approx(1.0) and sum(hot.values()) == pytest.approx(1.0)
    assert cold["store"] > probs["store"] > hot["store"]
    assert cold["office"] < probs["office"] < hot["office"]
    assert cold == pytest.approx({w: p ** 2 / sum(q ** 2 for q in probs.values()) for w, p in probs.items()})
    assert lm.with_temperature(probs, 1e-3)["store"] == pytest.approx(1.0)
    # tensors: the same numbers, along the last axis, without underflow at small temperatures
    tensor = torch.tensor([[0.5, 0.3, 0.2], [1e-30, 0.5, 0.5]])
    out = lm.with_temperature(tensor, 0.5)
    torch.testing.assert_close(out[0], torch.tensor(list(cold.values())))
    torch.testing.assert_close(out.sum(dim=-1), torch.ones(2))
    assert torch.isfinite(lm.with_temperature(tensor, 1e-3)).all()
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            lm.with_temperature(probs, bad)


def test_sample_next_draws_like_multinomial_row_by_row():
    probs = torch.softmax(torch.randn(5, 7, generator=torch.Generator().manual_seed(0)), dim=-1)
    draws = lm.sample_next(probs, torch.Generator().manual_seed(4))
    assert draws.shape == (5, 1)
    assert torch.equal(draws, torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(4)))
    assert lm.sample_next(probs[0], torch.Generator().manual_seed(4)).shape == (1,)


def test_continue_text_at_low_temperature_follows_the_top_word(data):
    train, _, vocab = data
    model = lm.BigramModel.fit(train, vocab)
    words = lm.continue_text(model, vocab, ["The"], max_words=5, temperature=1e-4)
    previous = "The"
    for word in words:  # each word is the most likely one after the previous word
        assert vocab.itos[int(np.argmax(model.next_word_probs(vocab.stoi[previous])))] == word
        previous = word
    assert lm.continue_text(model, vocab, ["The"], max_words=8, seed=2, temperature=1.5) == \
        lm.continue_text(model, vocab, ["The"], max_words=8, seed=2, temperature=1.5)


def test_training_is_a_fixed_number_of_steps_and_repeats_exactly(data):
    train, test, vocab = data

    def run():
        torch.manual_seed(0)
        model = lm.NextWordMLP(len(vocab), context_size=4, n_embd=8, n_hidden=16)
        curves = lm.train_next_word(model, train, test, vocab, steps=40, eval_every=20, seed=3)
        return model, curves

    (first, c1), (second, c2) = run(), run()
    assert c1.steps == [0, 20, 40] and c1.history.steps[-1] == 40
    assert c1.test_loss == c2.test_loss
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(TypeError):  # no clock decides how long a model trains
        lm.train_next_word(first, train, test, vocab, steps=1, max_seconds=1.0)


def test_next_word_table_uses_the_named_split(data):
    train, _, vocab = data
    model = lm.BigramModel.fit(train, vocab)
    prefix = "She needs to head to the".split()
    rows = lm.next_word_table(model, vocab, prefix, k=3, split="test")
    truth = corpus.next_word_probs(prefix, split="test")
    assert all(p_true == truth.get(word, 0.0) for word, _, p_true in rows)
    with pytest.raises(ValueError):  # no train-split document starts so
        lm.next_word_table(model, vocab, prefix, split="train")
