"""Chapter 2 (pretraining a base model): one check per graded test cell, visible and hidden parts.

Each ``test_<grade_id>(answers)`` repeats the notebook's visible checks, then
(after ``answers.hidden()``) draws fresh inputs at grading time, compares
with a reference and names the likely mistake on failure. The learner's
functions work on plain Python lists and numpy arrays.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Callable

import numpy as np

from course_lib import corpus
from course_lib.grading import assert_close, assert_equal, assert_true, fresh_rng
from course_grader.channel import answer, check_call, fn

FORBID = ("course_lib.lm", "course_lib.tokens")
UNK = "<unk>"
FIX = "course_lib.grading.fixtures."


# --- 1. encode ------------------------------------------------------------------

def _random_vocab(rng: np.random.Generator) -> dict[str, int]:
    """A vocabulary of real course words with shuffled, non-contiguous ids."""
    words = list(rng.choice(corpus.vocabulary(), size=int(rng.integers(5, 15)), replace=False))
    ids = rng.choice(1000, size=len(words) + 1, replace=False)
    vocab = {str(w): int(i) for w, i in zip(words, ids)}
    vocab[UNK] = int(ids[-1])
    return vocab


def _call_encode(encode: Callable, words: list[str], vocab: dict[str, int]) -> list:
    words_copy, vocab_copy = list(words), dict(vocab)
    with answer("encode", forbid=FORBID):
        got = encode(words_copy, vocab_copy)
    assert_equal(words_copy, words, "encode's input words", "Do not change the list you are given.")
    assert_equal(vocab_copy, vocab, "encode's vocabulary", "Do not add words to the vocabulary.")
    assert_true(got is not None, "encode returned None. Did you forget `return`?")
    return list(got)


def encode_known(encode: Callable) -> None:
    """Known words only, in a vocabulary whose ids are not their positions."""
    rng = fresh_rng()
    for _ in range(3):
        vocab = _random_vocab(rng)
        known = [w for w in vocab if w != UNK]
        words = [str(w) for w in rng.choice(known, size=int(rng.integers(1, 12)))]
        got = _call_encode(encode, words, vocab)
        assert_equal(got, [vocab[w] for w in words], f"encode({words}, vocab)",
                     "Look each word up in the vocabulary dict: vocab[word] is its id.")
    assert_equal(_call_encode(encode, [], _random_vocab(rng)), [], "encode([], vocab)",
                 "No words in, no ids out.")


def encode_unknown(encode: Callable) -> None:
    """Unknown words (including a different capitalisation) become the <unk> id."""
    rng = fresh_rng()
    for _ in range(3):
        vocab = _random_vocab(rng)
        known = [w for w in vocab if w != UNK]
        pool = known + ["zebra", "Quokka", known[0].upper() + "x", known[0].swapcase()]
        words = [str(w) for w in rng.choice(pool, size=int(rng.integers(3, 12)))]
        words.append("zebra")
        expected = [vocab.get(w, vocab[UNK]) for w in words]
        got = _call_encode(encode, words, vocab)
        hint = ("An unknown word must become vocab['<unk>'], one id per word: "
                "the result is as long as the input.")
        if len(got) < len(words):
            hint = "Unknown words were dropped: " + hint
        elif 0 in got and 0 not in expected:
            hint = "An unknown word became 0; use vocab['<unk>'] instead."
        assert_equal(got, expected, f"encode({words}, vocab) with vocab['<unk>'] = {vocab[UNK]}", hint)


# --- 2. make_pairs ----------------------------------------------------------------

def _pairs_reference(ids: list[int], k: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    padded = [pad] * k + list(ids)
    contexts = [padded[t - k:t] for t in range(k + 1, len(padded))]
    return np.array(contexts, dtype=int).reshape(-1, k), np.array(padded[k + 1:], dtype=int)


def _call_make_pairs(make_pairs: Callable, ids: list[int], k: int, pad: int):
    ids_copy = list(ids)
    with answer("make_pairs", forbid=FORBID):
        got = make_pairs(ids_copy, k, pad)
    assert_equal(ids_copy, ids, "make_pairs's input", "Do not change the list you are given.")
    assert_true(isinstance(got, tuple) and len(got) == 2,
                f"make_pairs should return a tuple (contexts, targets), got {type(got).__name__}.")
    return np.asarray(got[0]), np.asarray(got[1])


def _random_ids(rng: np.random.Generator) -> list[int]:
    n = int(rng.integers(1, 12))
    return [2] + [int(i) for i in rng.integers(4, 60, size=n)] + [3]


def make_pairs_shapes(make_pairs: Callable) -> None:
    """One pair per token after <bos>; contexts of exactly context_size ids."""
    rng = fresh_rng()
    for k in (1, int(rng.integers(2, 5)), 12):
        ids = _random_ids(rng)
        contexts, targets = _call_make_pairs(make_pairs, ids, k, 0)
        n = len(ids) - 1
        hint = (f"A document of {len(ids)} ids (<bos> and <eos> included) gives {n} pairs: every id "
                "after <bos> is a target. Pad short contexts on the left instead of skipping them.")
        assert_equal(contexts.shape, (n, k), f"shape of the contexts for {len(ids)} ids and context_size={k}", hint)
        assert_equal(targets.shape, (n,), f"shape of the targets for {len(ids)} ids and context_size={k}", hint)


def make_pairs_values(make_pairs: Callable) -> None:
    """Contexts are the k ids just before the target, left-padded with pad_id."""
    rng = fresh_rng()
    for _ in range(4):
        ids, k, pad = _random_ids(rng), int(rng.integers(1, 7)), int(rng.integers(0, 2))
        contexts, targets = _call_make_pairs(make_pairs, ids, k, pad)
        want_x, want_y = _pairs_reference(ids, k, pad)
        assert_close(targets, want_y, f"targets of make_pairs({ids}, {k}, pad_id={pad})",
                     "The targets are every id after the first one, in order.")
        padded = [pad] * (k + 1) + list(ids)  # one pad more, so that every slice below exists
        positions = range(k + 2, len(padded))  # padded[t] is target number t - k - 2
        assert_close(contexts, want_x, f"contexts of make_pairs({ids}, {k}, pad_id={pad})", mistakes={
            "padding on the right instead of the left":
                [(ids[max(0, t - k):t] + [pad] * k)[:k] for t in range(1, len(ids))],
            "a context that ends one id too early (off by one)": [padded[t - k - 1:t - 1] for t in positions],
            "a context that includes the target itself": [padded[t - k + 1:t + 1] for t in positions],
        }, hint="Context t holds the k ids just before target t, oldest first.")


# --- 3. split_documents -------------------------------------------------------------

def _corpus_with_duplicates(rng: np.random.Generator) -> list[list[str]]:
    """Documents of the course language, many of them repeated (as real web text is)."""
    distinct = corpus.sample_documents(int(rng.integers(30, 60)), "all", seed=int(rng.integers(1 << 30)))
    docs = [list(d) for d in distinct for _ in range(int(rng.integers(1, 4)))]
    return [docs[i] for i in rng.permutation(len(docs))]


def _call_split(split: Callable, docs: list[list[str]], fraction: float, seed: int):
    docs_copy = [list(d) for d in docs]
    with answer("split_documents", forbid=FORBID):
        got = split(docs_copy, fraction, seed)
    assert_true(docs_copy == docs, "split_documents changed the list it was given (shuffled or "
                "edited it in place). Shuffle a copy, or shuffle indices, instead.")
    assert_true(isinstance(got, tuple) and len(got) == 2,
                f"split_documents should return a tuple (train, test), got {type(got).__name__}.")
    return [tuple(d) for d in got[0]], [tuple(d) for d in got[1]]


def split_documents_sizes(split: Callable) -> None:
    """Every document lands on one side; the test side holds the right share."""
    rng = fresh_rng()
    for fraction in (0.2, round(float(rng.uniform(0.1, 0.5)), 2)):
        docs = _corpus_with_duplicates(rng)
        train, test = _call_split(split, docs, fraction, int(rng.integers(1000)))
        everything = Counter(tuple(d) for d in docs)
        assert_true(Counter(train) + Counter(test) == everything,
                    f"train + test should hold every one of the {len(docs)} documents exactly once "
                    f"(copies included); they hold {len(train)} + {len(test)}. "
                    "Did you drop the duplicate copies?")
        n_distinct, n_test = len(everything), len(set(test))
        want = fraction * n_distinct
        hint = ""
        if abs(len(set(train)) - want) <= 1:
            hint = " It looks like train and test are swapped."
        assert_true(abs(n_test - want) <= 1,
                    f"with test_fraction={fraction} and {n_distinct} distinct documents, the test side "
                    f"should hold about {want:.1f} distinct documents; it holds {n_test}.{hint}")


def split_documents_no_leak(split: Callable) -> None:
    """No document on both sides; the seed decides, and decides the same way twice."""
    rng = fresh_rng()
    docs = _corpus_with_duplicates(rng)
    seed = int(rng.integers(1000))
    train, test = _call_split(split, docs, 0.3, seed)
    both = sorted(set(train) & set(test))
    if both:
        raise AssertionError(f"{len(both)} documents appear in both train and test, e.g. "
                             f"{' '.join(both[0])!r}. Put all copies of a document on the same side.")
    again = _call_split(split, docs, 0.3, seed)
    assert_true(again == (train, test), "split_documents gave two different splits for the same seed. "
                "Draw random numbers only from a generator made from `seed`.")
    others = [set(_call_split(split, docs, 0.3, seed + s)[1]) for s in (1, 2, 3)]
    assert_true(any(o != set(test) for o in others),
                "different seeds always give the same test set: the split should be random "
                "(shuffled with the seed), not the same documents every time.")


# --- 4. bigram --------------------------------------------------------------------

def _random_id_docs(rng: np.random.Generator, vocab_size: int) -> list[list[int]]:
    return [[2] + [int(i) for i in rng.integers(4, vocab_size, size=int(rng.integers(1, 8)))] + [3]
            for _ in range(int(rng.integers(1, 6)))]


def _counts_reference(id_docs: list[list[int]], vocab_size: int) -> np.ndarray:
    counts = np.zeros((vocab_size, vocab_size))
    for ids in id_docs:
        for a, b in zip(ids[:-1], ids[1:]):
            counts[a, b] += 1
    return counts


def bigram_counts(counts_fn: Callable) -> None:
    rng = fresh_rng()
    for _ in range(3):
        V = int(rng.integers(6, 12))
        id_docs = _random_id_docs(rng, V)
        want = _counts_reference(id_docs, V)
        joined = _counts_reference([sum(id_docs, [])], V)
        check_call("bigram_counts", counts_fn, ([list(d) for d in id_docs], V), want,
                   f"bigram_counts({id_docs}, vocab_size={V})", mistakes={
                       "the rows and columns swapped: counts[a, b] is how often b follows a": want.T,
                       "counting pairs across document boundaries (<eos> followed by <bos>)": joined,
                   }, forbid=FORBID, hint="Count, within each document, how often id b comes right after id a.")


def _probs_reference(counts: np.ndarray, prev: int, alpha: float) -> np.ndarray:
    row = counts[prev] + alpha
    return row / row.sum()


def bigram_probs(probs_fn: Callable) -> None:
    rng = fresh_rng()
    for alpha in (1.0, round(float(rng.uniform(0.05, 0.9)), 3), 1e-3):
        V = int(rng.integers(5, 10))
        counts = rng.integers(0, 4, size=(V, V)).astype(float)
        counts[int(rng.integers(V))] = 0.0  # a token never seen first
        for prev in range(V):
            row = counts[prev]
            given = counts.copy()
            check_call("bigram_probs", probs_fn, (given, prev, alpha),
                       _probs_reference(counts, prev, alpha),
                       f"bigram_probs(counts, previous_id={prev}, alpha={alpha}) for counts row {row}",
                       mistakes={
                           "smoothing the numerator but not the denominator": (row + alpha) / max(row.sum(), 1e-12),
                           "dividing by the column total instead of the row total":
                               (row + alpha) / (counts[:, prev].sum() + alpha * V),
                           "adding alpha only once to the total, not once per token": (row + alpha) / (row.sum() + alpha),
                       }, forbid=FORBID,
                       hint="P(b | a) = (counts[a, b] + alpha) / (counts[a].sum() + alpha * V).")
            if not np.array_equal(given, counts):
                changed = "alpha was added to counts in place" if np.allclose(given[prev], counts[prev] + alpha) \
                    else "counts was changed"
                raise AssertionError(f"bigram_probs(counts, previous_id={prev}, alpha={alpha}) changed the "
                                     f"counts it was given ({changed}). Do not change counts: compute "
                                     "`counts[previous_id] + alpha` into a new array.")


# --- 5. evaluate ------------------------------------------------------------------

def _random_predictor(rng: np.random.Generator, V: int) -> Callable:
    """A made-up model whose guesses depend on the last id and the prefix length."""
    return fn(FIX + "predictor", rng.normal(0, 2, size=(V, V)), rng.normal(0, 1, size=(3, V)))


def _evaluate_reference(next_probs: Callable, id_docs: list[list[int]], log=np.log,
                        per_doc: bool = False, skip_last: bool = False) -> tuple[float, float]:
    hits, nlls, doc_means = [], [], []
    for ids in id_docs:
        stop = len(ids) - 1 if skip_last else len(ids)
        doc = [next_probs(ids[:t]) for t in range(1, stop)]
        doc_nll = [-log(p[ids[t]]) for t, p in zip(range(1, stop), doc)]
        hits += [int(np.argmax(p)) == ids[t] for t, p in zip(range(1, stop), doc)]
        nlls += doc_nll
        if doc_nll:
            doc_means.append(np.mean(doc_nll))
    nll = float(np.mean(doc_means)) if per_doc else float(np.mean(nlls))
    return float(np.mean(hits)), nll


def _call_evaluate(evaluate: Callable, next_probs: Callable, id_docs: list[list[int]]):
    with answer("evaluate", forbid=FORBID):
        got = evaluate(next_probs, [list(d) for d in id_docs])
    assert_true(isinstance(got, tuple) and len(got) == 2,
                f"evaluate should return a tuple (accuracy, mean_nll), got {got!r}.")
    return got


def evaluate_accuracy(evaluate: Callable) -> None:
    rng = fresh_rng()
    for _ in range(3):
        V = int(rng.integers(5, 9))
        next_probs, id_docs = _random_predictor(rng, V), _random_id_docs(rng, V)
        want = _evaluate_reference(next_probs, id_docs)
        got = _call_evaluate(evaluate, next_probs, id_docs)
        assert_close(got[0], want[0], f"accuracy of evaluate on {id_docs}", mistakes={
            "leaving out the prediction of <eos>": _evaluate_reference(next_probs, id_docs, skip_last=True)[0],
            "returning (mean_nll, accuracy) in the wrong order": want[1],
        }, hint="Accuracy is the share of predictions (every id after <bos>, <eos> included) "
                "whose most likely id is the true one.")


def evaluate_nll(evaluate: Callable) -> None:
    rng = fresh_rng()
    for _ in range(3):
        V = int(rng.integers(5, 9))
        next_probs, id_docs = _random_predictor(rng, V), _random_id_docs(rng, V)
        id_docs.append([2, 3])  # a document with no word: its only prediction is <eos>
        want = _evaluate_reference(next_probs, id_docs)
        got = _call_evaluate(evaluate, next_probs, id_docs)
        total = want[1] * sum(len(d) - 1 for d in id_docs)
        assert_close(got[1], want[1], f"mean_nll of evaluate on {id_docs}", mistakes={
            "using log base 2 instead of the natural log": _evaluate_reference(next_probs, id_docs, np.log2)[1],
            "averaging per document first, then over documents":
                _evaluate_reference(next_probs, id_docs, per_doc=True)[1],
            "leaving out the prediction of <eos>": _evaluate_reference(next_probs, id_docs, skip_last=True)[1],
            "the total instead of the mean": total,
            "forgetting the minus sign": -want[1],
            "returning (mean_nll, accuracy) in the wrong order": want[0],
        }, hint="Average -ln p(true id) over every prediction of every document, all pooled together.")
    assert_true(math.isfinite(float(got[1])), "mean_nll should be a finite number")


# --- one check per graded test cell ----------------------------------------------------

VOCAB = {"<pad>": 0, "<unk>": 1, "<bos>": 2, "<eos>": 3,
         "I": 4, "have": 5, "to": 6, "go": 7, "the": 8, "store": 9, ".": 10}
SENTENCE = "I have to go to the store .".split()
TOKEN_IDS = [2, 4, 5, 6, 7, 6, 8, 9, 10, 3]
DOCS = [
    "Mia needs bread , so she has to go to the bakery .".split(),
    "Paris is the capital of France .".split(),
    "Mia needs bread , so she has to go to the bakery .".split(),
    "Tom needs milk , so he walks to the store .".split(),
    "The capital of Japan is Tokyo .".split(),
    "Paris is the capital of France .".split(),
]
ALWAYS_THE_SAME = fn(FIX + "constant_probs", [0.0, 0.0, 0.0, 0.2, 0.8])
HELD_OUT = [[2, 4, 4, 3]]


def test_encode_known(answers) -> str:
    with answer("encode"):
        ids = answers.encode(list(SENTENCE), dict(VOCAB))
    assert_equal(ids, [4, 5, 6, 7, 6, 8, 9, 10], "encode('I have to go to the store .')")
    answers.hidden()
    encode_known(answers.encode)
    return "encode: known words get their ids."


def test_encode_unknown(answers) -> str:
    with answer("encode"):
        ids = answers.encode(["I", "have", "to", "go", "to", "the", "bakery", "now"], dict(VOCAB))
    assert_equal(ids, [4, 5, 6, 7, 6, 8, 1, 1], "encode('I have to go to the bakery now')",
                 "Unknown words get the id of '<unk>', which is 1 here.")
    answers.hidden()
    encode_unknown(answers.encode)
    return "encode: unknown words become <unk>."


def test_make_pairs_shapes(answers) -> str:
    with answer("make_pairs"):
        contexts, targets = answers.make_pairs(list(TOKEN_IDS), 3, 0)
    assert_equal(np.shape(contexts), (9, 3), "shape of the contexts for 10 ids and context_size=3",
                 "There is one pair per token after <bos>: short contexts are padded, not skipped.")
    assert_equal(np.shape(targets), (9,), "shape of the targets for 10 ids")
    answers.hidden()
    make_pairs_shapes(answers.make_pairs)
    return "make_pairs: one pair per target, contexts of the right length."


def test_make_pairs_values(answers) -> str:
    with answer("make_pairs"):
        contexts, targets = answers.make_pairs([2, 4, 5, 6, 3], 2, 0)
    assert_close(targets, [4, 5, 6, 3], "targets of make_pairs([2, 4, 5, 6, 3], 2, 0)")
    assert_close(contexts, [[0, 2], [2, 4], [4, 5], [5, 6]], "contexts of make_pairs([2, 4, 5, 6, 3], 2, 0)",
                 hint="Context t holds the 2 ids just before target t, padded on the left with 0.")
    answers.hidden()
    make_pairs_values(answers.make_pairs)
    return "make_pairs: contexts and targets are right."


def test_split_documents_sizes(answers) -> str:
    with answer("split_documents"):
        train, test = answers.split_documents([list(d) for d in DOCS], 0.25, seed=0)
    assert_equal(len(train) + len(test), 6, "number of documents in train + test", "Keep every copy.")
    assert_equal(len(set(map(tuple, test))), 1, "distinct documents in test (25% of 4 distinct ones)")
    answers.hidden()
    split_documents_sizes(answers.split_documents)
    return "split_documents: every document kept, the right share in test."


def test_split_documents_no_leak(answers) -> str:
    with answer("split_documents"):
        train, test = answers.split_documents([list(d) for d in DOCS], 0.5, seed=1)
    leaked = set(map(tuple, train)) & set(map(tuple, test))
    assert_true(not leaked, f"these documents are in both train and test: {leaked}")
    with answer("split_documents"):
        again = answers.split_documents([list(d) for d in DOCS], 0.5, seed=1)
    assert_true([list(map(tuple, side)) for side in again] == [list(map(tuple, side)) for side in (train, test)],
                "split_documents gave two different splits for seed=1: draw random numbers only from a "
                "generator made from `seed`.")
    answers.hidden()
    split_documents_no_leak(answers.split_documents)
    return "split_documents: no leak, the same seed gives the same split, and other seeds other splits."


def test_bigram_counts(answers) -> str:
    with answer("bigram_counts"):
        counts = answers.bigram_counts([[2, 4, 5, 3], [2, 4, 3]], 6)
    expected = np.zeros((6, 6))
    expected[2, 4], expected[4, 5], expected[5, 3], expected[4, 3] = 2, 1, 1, 1
    assert_close(counts, expected, "bigram_counts([[2, 4, 5, 3], [2, 4, 3]], 6)")
    answers.hidden()
    bigram_counts(answers.bigram_counts)
    return "bigram_counts: right."


def test_bigram_probs(answers) -> str:
    counts = np.array([[0.0, 2.0, 1.0], [0.0, 0.0, 0.0], [3.0, 0.0, 1.0]])
    with answer("bigram_probs"):
        p = answers.bigram_probs(counts, 0, 1.0)
    assert_close(p, [1 / 6, 3 / 6, 2 / 6], "bigram_probs(counts, 0, alpha=1) for counts row [0, 2, 1]")
    with answer("bigram_probs"):
        p = answers.bigram_probs(counts, 1, 0.5)
    assert_close(p, [1 / 3, 1 / 3, 1 / 3], "bigram_probs(counts, 1, alpha=0.5) for a row never seen",
                 hint="A row of zeros must give the uniform distribution, not nan.")
    answers.hidden()
    bigram_probs(answers.bigram_probs)
    return "bigram_probs: right, smoothing included."


def test_evaluate_accuracy(answers) -> str:
    with answer("evaluate"):
        accuracy, mean_nll = answers.evaluate(ALWAYS_THE_SAME, [list(d) for d in HELD_OUT])
    assert_close(accuracy, 2 / 3, "accuracy of the silly model on [<bos>, 4, 4, <eos>]",
                 hint="It guesses id 4 every time: right twice out of three predictions.")
    answers.hidden()
    evaluate_accuracy(answers.evaluate)
    return "evaluate: accuracy is right."


def test_evaluate_nll(answers) -> str:
    with answer("evaluate"):
        accuracy, mean_nll = answers.evaluate(ALWAYS_THE_SAME, [list(d) for d in HELD_OUT])
    assert_close(mean_nll, -(np.log(0.8) + np.log(0.8) + np.log(0.2)) / 3,
                 "mean_nll of the silly model on [<bos>, 4, 4, <eos>]")
    answers.hidden()
    evaluate_nll(answers.evaluate)
    return "evaluate: mean negative log-likelihood is right."


FORBIDDEN = {f"test_{name}_{aspect}": (name, FORBID) for name, aspect in (
    ("encode", "known"), ("encode", "unknown"), ("make_pairs", "shapes"), ("make_pairs", "values"),
    ("split_documents", "sizes"), ("split_documents", "no_leak"), ("evaluate", "accuracy"), ("evaluate", "nll"))}
FORBIDDEN.update({"test_bigram_counts": ("bigram_counts", FORBID), "test_bigram_probs": ("bigram_probs", FORBID)})
