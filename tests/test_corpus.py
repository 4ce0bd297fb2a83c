"""Tests of course_lib.corpus: the course's own language and its exact probabilities."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pytest

from course_lib import corpus
from course_lib.corpus import EOS


@pytest.fixture(scope="module")
def train_docs() -> list[list[str]]:
    return corpus.sample_documents(20_000, "train", seed=0)


@pytest.fixture(scope="module")
def test_docs() -> list[list[str]]:
    return corpus.sample_documents(5_000, "test", seed=0)


# --- the documents ------------------------------------------------------------

def test_documents_are_lists_of_words(train_docs):
    vocab = set(corpus.vocabulary())
    assert len(vocab) <= 300
    for doc in train_docs[:2000]:
        assert isinstance(doc, list) and 1 <= len(doc) <= 42
        assert all(isinstance(w, str) and w in vocab for w in doc)
        assert EOS not in doc


def test_every_kind_appears(train_docs, test_docs):
    for docs in (train_docs, test_docs):
        kinds = Counter(corpus.kind_of(d) for d in docs)
        assert set(kinds) == {"errand", "fact", "quiz", "qa"}
    kinds = Counter(corpus.kind_of(d) for d in train_docs)
    assert kinds["qa"] < kinds["quiz"] < kinds["fact"] < kinds["errand"]


def test_the_place_follows_from_the_item_and_the_pronoun_from_the_name():
    for name, pronoun in corpus.NAMES.items():
        for item, place in corpus.ITEMS.items():
            prefix = f"{name} needs {item} , so".split()
            assert corpus.next_word_probs(prefix) == {pronoun: 1.0}
            prefix += [pronoun, "walks", "to", "the"]
            assert corpus.next_word_probs(prefix) == {place: 1.0}


def test_she_needs_to_head_to_the_is_uncertain():
    probs = corpus.next_word_probs("She needs to head to the".split())
    assert probs == pytest.approx(corpus.HEAD_TO_PLACES)
    assert list(probs)[:3] == ["store", "market", "office"]


def test_a_question_is_followed_by_another_question():
    probs = corpus.next_word_probs("What is the capital of France ?".split())
    assert set(probs) == {"What", "Which"}


def test_qa_answer_is_the_capital():
    for country, capital in corpus.COUNTRIES.items():
        prefix = f"Q : What is the capital of {country} ? A :".split()
        assert corpus.next_word_probs(prefix) == {capital: 1.0}


def test_countries_and_capitals_are_single_distinct_tokens():
    words = list(corpus.COUNTRIES) + list(corpus.COUNTRIES.values())
    assert 24 <= len(corpus.COUNTRIES) <= 30
    assert len(set(words)) == len(words)
    assert all(w.isalpha() for w in words)


# --- exact probabilities ------------------------------------------------------

def test_next_word_probs_sum_to_one(train_docs, test_docs):
    for doc in train_docs[:200] + test_docs[:200]:
        for i in range(len(doc) + 1):
            probs = corpus.next_word_probs(doc[:i])
            assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-9)
            assert all(p > 0 for p in probs.values())
            assert (doc + [EOS])[i] in probs


def test_sampled_frequencies_match_next_word_probs():
    """Counts of the next word after common prefixes in 30,000 documents.

    Every frequency must lie within 4 standard errors of the exact
    probability: |freq - p| < 4 sqrt(p (1 - p) / n) (plus 1e-9). With a
    fixed seed the test is deterministic; a correct sampler would fail a
    given cell about once in 16,000 seeds.
    """
    docs = corpus.sample_documents(30_000, "all", seed=1)
    follow: dict[tuple, Counter] = defaultdict(Counter)
    for doc in docs:
        full = doc + [EOS]
        for i in range(min(len(doc), 8) + 1):
            follow[tuple(doc[:i])][full[i]] += 1
    checked = 0
    for prefix, counts in follow.items():
        n = sum(counts.values())
        if n < 1000:
            continue
        probs = corpus.next_word_probs(list(prefix))
        assert set(counts) <= set(probs)
        for word, p in probs.items():
            freq = counts[word] / n
            assert abs(freq - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-9, (prefix, word)
        checked += 1
    assert checked >= 20


def test_document_logprob_is_the_sum_of_next_word_logprobs(train_docs, test_docs):
    for doc in train_docs[:100] + test_docs[:100]:
        steps = sum(math.log(corpus.next_word_probs(doc[:i])[w])
                    for i, w in enumerate(doc + [EOS]))
        assert math.isclose(corpus.document_logprob(doc), steps, rel_tol=1e-9)


def test_all_documents_of_a_short_kind_sum_to_their_kind_probability():
    # Errand documents with one sentence: P(errand) * P(k = 1) in all.
    total = 0.0
    for s in corpus.kinds()[0].pool:
        total += math.exp(corpus.document_logprob(list(s.tokens)))
    assert math.isclose(total, 0.45 * 0.6, rel_tol=1e-9)


def _bigram_nats_per_token(train, test, alpha=0.1):
    """An add-alpha bigram model fitted on ``train``, scored on ``test``."""
    words = list(corpus.vocabulary()) + [EOS]
    counts: dict[str, Counter] = defaultdict(Counter)
    for doc in train:
        for prev, nxt in zip(["<bos>"] + doc, doc + [EOS]):
            counts[prev][nxt] += 1
    nats, n = 0.0, 0
    for doc in test:
        for prev, nxt in zip(["<bos>"] + doc, doc + [EOS]):
            c = counts[prev]
            p = (c[nxt] + alpha) / (sum(c.values()) + alpha * len(words))
            nats -= math.log(p)
            n += 1
    return nats / n


def test_floor_is_positive_and_models_cannot_beat_it(train_docs, test_docs):
    test = test_docs[:2000]
    floor = corpus.floor_nats_per_token(test, split="test")
    assert 0 < floor < math.log(len(corpus.vocabulary()))
    # The exact model scores exactly the floor ...
    nats, n = 0.0, 0
    for doc in test:
        for i, w in enumerate(doc + [EOS]):
            nats -= math.log(corpus.next_word_probs(doc[:i], "test")[w])
            n += 1
    assert math.isclose(nats / n, floor, rel_tol=1e-9)
    # ... and a bigram count model trained on the train split scores above it.
    assert _bigram_nats_per_token(train_docs, test) > floor + 0.1


# --- splits -------------------------------------------------------------------

def test_no_test_document_appears_in_train(train_docs, test_docs):
    assert {tuple(d) for d in train_docs}.isdisjoint(tuple(d) for d in test_docs)
    assert all(corpus.split_of(d) == "train" for d in train_docs)
    assert all(corpus.split_of(d) == "test" for d in test_docs)


def test_all_split_mixes_train_and_test():
    splits = Counter(corpus.split_of(d) for d in corpus.sample_documents(3000, "all"))
    assert 0.15 < splits["test"] / 3000 < 0.45


def test_every_word_and_every_capital_is_seen_in_train(train_docs, test_docs):
    train_words = {w for d in train_docs for w in d}
    assert {w for d in test_docs for w in d} <= train_words
    facts = {tuple(d) for d in train_docs if corpus.kind_of(d) == "fact"}
    text = " ".join(" ".join(d) for d in facts)
    for country, capital in corpus.COUNTRIES.items():
        assert f"{capital} is the capital of {country} ." in text \
            or f"The capital of {country} is {capital} ." in text


def test_held_out_combinations():
    assert set(corpus.QA_COUNTRIES).isdisjoint(corpus.HELDOUT_QA_COUNTRIES)
    assert set(corpus.QA_COUNTRIES) | set(corpus.HELDOUT_QA_COUNTRIES) == set(corpus.COUNTRIES)
    assert corpus.split_of("She needs to head to the store .".split()) == "test"
    assert corpus.split_of("Mia needs to head to the store .".split()) == "train"
    for country, capital in corpus.COUNTRIES.items():
        template = corpus.heldout_fact(country)
        fact = template.format(country=country, capital=capital).split()
        assert corpus.split_of(fact) == "test"
        others = [t for t in corpus.FACT_TEMPLATES if t != template]
        assert corpus.split_of(others[0].format(country=country, capital=capital).split()) == "train"
    pairs = [(n, i) for n in corpus.NAMES for i in corpus.ITEMS if corpus.heldout_errand(n, i)]
    assert 0 < len(pairs) < len(corpus.NAMES) * len(corpus.ITEMS) / 4
    assert {n for n, _ in pairs} == set(corpus.NAMES)  # every name keeps other items


def test_qa_pages_in_train_only_use_qa_countries(train_docs, test_docs):
    def countries(docs):
        return {w for d in docs if corpus.kind_of(d) == "qa" for w in d if w in corpus.COUNTRIES}
    assert countries(train_docs) == set(corpus.QA_COUNTRIES)
    assert countries(test_docs) & set(corpus.HELDOUT_QA_COUNTRIES)


# --- determinism and errors ---------------------------------------------------

def test_sampling_is_deterministic_for_a_seed():
    assert corpus.sample_documents(50, "train", seed=3) == corpus.sample_documents(50, "train", seed=3)
    assert corpus.sample_documents(50, "train", seed=3) != corpus.sample_documents(50, "train", seed=4)
    assert corpus.sample_documents(50, "train", seed=3) != corpus.sample_documents(50, "test", seed=3)
    assert corpus.sample_documents(0) == []
    assert len(corpus.sample_documents(7, "test")) == 7


@pytest.mark.parametrize("kwargs", [dict(n=-1), dict(n=5, split="dev"), dict(n=5, split="Train")])
def test_bad_sampling_arguments(kwargs):
    with pytest.raises(ValueError):
        corpus.sample_documents(**kwargs)


def test_bad_types():
    with pytest.raises(TypeError):
        corpus.sample_documents(2.5)
    with pytest.raises(TypeError):
        corpus.next_word_probs("She needs to")
    with pytest.raises(TypeError):
        corpus.next_word_probs(["She", 3])


@pytest.mark.parametrize("prefix", [["Paris", "Paris"], ["she"], ["Mia", "needs", "Paris"],
                                    ["Q", ":", EOS], "Paris is the capital of France . <eos>".split()])
def test_impossible_prefixes_are_rejected(prefix):
    with pytest.raises(ValueError, match="not the start"):
        corpus.next_word_probs(prefix)


@pytest.mark.parametrize("doc", [[], ["Quiz", ":"], "Paris is the capital of".split(),
                                 "What is the capital of France ?".split(),
                                 "Paris is the capital of Peru .".split()])
def test_non_documents_are_rejected(doc):
    with pytest.raises(ValueError, match="not a document"):
        corpus.document_logprob(doc)
    with pytest.raises(ValueError, match="not a document"):
        corpus.split_of(doc)


def test_floor_needs_documents():
    with pytest.raises(ValueError):
        corpus.floor_nats_per_token([], split="test")


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_split_is_the_language_on_condition(split):
    """Each split's next-word probabilities chain to P(doc) / P(split), and sum to 1."""
    docs = corpus.sample_documents(150, split, seed=7)
    for doc in docs:
        steps = 0.0
        for i, w in enumerate(doc + [EOS]):
            probs = corpus.next_word_probs(doc[:i], split)
            assert math.isclose(sum(probs.values()), 1.0, rel_tol=1e-9)
            steps += math.log(probs[w])
        expected = corpus.document_logprob(doc) - math.log(corpus.split_probability(split))
        assert math.isclose(steps, expected, rel_tol=1e-9)
        assert math.isclose(corpus.document_logprob(doc, split), expected, rel_tol=1e-9)


def test_split_probabilities_are_exact():
    """P(train) computed from the pools matches the sampled share of train documents."""
    p_train = corpus.split_probability("train")
    assert math.isclose(p_train + corpus.split_probability("test"), 1.0)
    docs = corpus.sample_documents(20_000, "all", seed=3)
    share = sum(corpus.split_of(d) == "train" for d in docs) / len(docs)
    assert abs(share - p_train) < 4 * math.sqrt(p_train * (1 - p_train) / len(docs))


def test_the_floor_of_a_split_is_below_the_languages():
    """A model of the test distribution knows a held-out sentence is coming: its floor is lower."""
    test = corpus.sample_documents(500, "test", seed=0)
    conditional = corpus.floor_nats_per_token(test, split="test")
    unconditional = corpus.floor_nats_per_token(test, split="all")
    gain = -math.log(corpus.split_probability("test")) * len(test) / sum(len(d) + 1 for d in test)
    assert math.isclose(unconditional - conditional, gain, rel_tol=1e-9)
    with pytest.raises(ValueError, match="train split"):
        corpus.floor_nats_per_token(test[:1], split="train")
