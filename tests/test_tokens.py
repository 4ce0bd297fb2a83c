"""Tests of course_lib.tokens: splitting text and the word vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import corpus
from course_lib.tokens import BOS, EOS, PAD, UNK, Vocab, join_words, split_words


def test_specials():
    assert (PAD, UNK, BOS, EOS) == ("<pad>", "<unk>", "<bos>", "<eos>")
    assert EOS == corpus.EOS


def test_split_words():
    assert split_words("Mia needs bread, so she goes to the bakery.") == \
        ["Mia", "needs", "bread", ",", "so", "she", "goes", "to", "the", "bakery", "."]
    assert split_words("Q: What is the capital of France? A: Paris.") == \
        "Q : What is the capital of France ? A : Paris .".split()
    assert split_words("  ") == []
    assert split_words("The end <eos>") == ["The", "end", "<eos>"]


@pytest.mark.parametrize("text", [
    "Mia needs bread, so she has to go to the bakery.",
    "Quiz: What is the capital of Peru? What is the capital of Japan?",
    "Q: What is the capital of France? A: Paris.",
    "Tom (who needs money) walks to the bank!",
])
def test_join_inverts_split(text):
    assert join_words(split_words(text)) == text


def test_corpus_documents_round_trip_through_text():
    for doc in corpus.sample_documents(300, "all", seed=2):
        assert split_words(join_words(doc)) == doc


def test_build_orders_by_frequency_then_alphabet():
    vocab = Vocab.build([["b", "a", "c", "b"], ["c", "b", "d"]])
    assert vocab.itos == [PAD, UNK, BOS, EOS, "b", "c", "a", "d"]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert vocab.stoi["c"] == 5 and len(vocab) == 8
    assert "a" in vocab and "z" not in vocab
    # Same documents, same ids.
    assert Vocab.build([["c", "b", "d"], ["b", "a", "c", "b"]]).itos == vocab.itos


def test_min_count_drops_rare_words():
    vocab = Vocab.build([["b", "a", "c", "b"], ["c", "b", "d"]], min_count=2)
    assert vocab.itos[4:] == ["b", "c"]
    assert vocab.encode(["a", "b"]) == [vocab.unk_id, 4]


def test_encode_decode_round_trip():
    docs = corpus.sample_documents(500, "train")
    vocab = Vocab.build(docs)
    for doc in docs[:50]:
        ids = vocab.encode(doc)
        assert all(isinstance(i, int) for i in ids)
        assert vocab.decode(ids) == doc
        assert vocab.encode_document(doc) == [vocab.bos_id] + ids + [vocab.eos_id]
        assert vocab.encode_prompt(doc) == vocab.encode_document(doc)[:-1]
    assert len(vocab) <= len(corpus.vocabulary()) + 4


def test_unknown_words_become_unk():
    vocab = Vocab.build([["Mia", "needs", "bread", "."]])
    ids = vocab.encode(["Mia", "needs", "pizza", "."])
    assert ids[2] == vocab.unk_id
    assert vocab.decode(ids) == ["Mia", "needs", UNK, "."]


def test_decode_accepts_numpy_and_torch_integers():
    vocab = Vocab.build([["a", "b"]])
    assert vocab.decode(np.array([4, 5])) == ["a", "b"]
    assert vocab.decode(torch.tensor([3, 0])) == [EOS, PAD]


def test_specials_in_documents_are_not_counted_twice():
    vocab = Vocab.build([["a", EOS, UNK]])
    assert vocab.itos == [PAD, UNK, BOS, EOS, "a"]


@pytest.mark.parametrize("docs", [[], [[]], [["a"]] * 0])
def test_empty_vocabulary_is_an_error(docs):
    with pytest.raises(ValueError, match="empty vocabulary"):
        Vocab.build(docs)


def test_errors():
    vocab = Vocab.build([["a", "b"]])
    with pytest.raises(ValueError, match="out of range"):
        vocab.decode([0, 6])
    with pytest.raises(ValueError, match="out of range"):
        vocab.decode([-1])
    with pytest.raises(TypeError):
        vocab.decode([1.5])
    with pytest.raises(TypeError):
        vocab.encode(["a", 3])
    with pytest.raises(TypeError, match="not a string"):
        vocab.encode("a b")
    with pytest.raises(TypeError):
        Vocab.build([["a", None]])
    with pytest.raises(TypeError):
        Vocab.build(["a b c"])
    with pytest.raises(ValueError, match="min_count"):
        Vocab.build([["a"]], min_count=0)
    with pytest.raises(ValueError, match="empty vocabulary"):
        Vocab.build([["a"]], min_count=2)
    with pytest.raises(TypeError):
        split_words(["a"])
