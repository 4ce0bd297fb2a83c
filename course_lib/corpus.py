"""The course's own language: English text from a small probabilistic grammar.

Nothing is downloaded: every chapter trains on text generated here. Because
we wrote the generator, we also know the true probability of every next word,
so every model can be compared with an exact floor.

A document is a list of word tokens (punctuation is a token of its own). It
is one of four kinds:

- errands:  "Mia needs bread , so she has to go to the bakery ."  (the place
  follows from the item, the pronoun from the name) and
  "She needs to head to the store ."  (the place is genuinely uncertain);
- facts:    "Paris is the capital of France ." and other paraphrases;
- quizzes:  "Quiz : What is the capital of Peru ? What is the capital of ..."
- Q/A pages: "Q : What is the capital of France ? A : Paris ."

A document is an optional header ("Quiz :") followed by k sentences drawn
independently from its kind's pool of sentences, where k itself is random.
Documents are independent of each other; after the last sentence comes the
end-of-document symbol ``EOS``.

Splits hold out whole combinations, so that the test split measures
generalisation, not memorisation. A sentence is held out when it is

- an errand for one of the held-out (name, item) pairs (``heldout_errand``);
- "She/He needs to head to the ..." (the pronoun with this phrasing);
- a fact in the one paraphrase held out for its country (``heldout_fact``);
- "Which city is the capital of X ?" for X in ``HELDOUT_QUIZ_COUNTRIES``;
- a Q/A pair about a country in ``HELDOUT_QA_COUNTRIES``.

A document belongs to the test split when it contains a held-out sentence,
to the train split otherwise. The choice is fixed (not seed-dependent), so
every chapter agrees. Every word, every country and every capital still
appears in the train split.

Probabilities (``next_word_probs``, ``document_logprob``) are those of the
full language, both splits together, unless a ``split`` is named: the train
split is the language *on condition that* a document holds no held-out
sentence, the test split the language on condition that it holds one. A floor
is only a bound for the distribution the documents were actually drawn from,
so ``floor_nats_per_token`` always takes the split its documents came from.
"""

from __future__ import annotations

import functools
import math
import operator
import random
from dataclasses import dataclass, field
from typing import Sequence

EOS = "<eos>"
SPLITS = ("train", "test", "all")

# --- the words --------------------------------------------------------------

COUNTRIES: dict[str, str] = {
    "France": "Paris", "Japan": "Tokyo", "Peru": "Lima", "Italy": "Rome",
    "Spain": "Madrid", "Germany": "Berlin", "Egypt": "Cairo",
    "Kenya": "Nairobi", "Canada": "Ottawa", "Russia": "Moscow",
    "China": "Beijing", "Greece": "Athens", "Portugal": "Lisbon",
    "Austria": "Vienna", "Norway": "Oslo", "Sweden": "Stockholm",
    "Finland": "Helsinki", "Ireland": "Dublin", "Poland": "Warsaw",
    "Hungary": "Budapest", "Cuba": "Havana", "Chile": "Santiago",
    "Thailand": "Bangkok", "Morocco": "Rabat", "Ghana": "Accra",
    "Australia": "Canberra", "Denmark": "Copenhagen", "Vietnam": "Hanoi",
}

# Q/A pages about these countries appear in the train split only; Q/A pages
# about the others only in the test split (Chapter 5 fine-tunes on the first
# group and tests on the second).
HELDOUT_QA_COUNTRIES: tuple[str, ...] = (
    "Japan", "Spain", "Kenya", "China", "Austria",
    "Ireland", "Cuba", "Morocco", "Denmark",
)
QA_COUNTRIES: tuple[str, ...] = tuple(
    c for c in COUNTRIES if c not in HELDOUT_QA_COUNTRIES)

# "Which city is the capital of X ?" is held out for these countries.
HELDOUT_QUIZ_COUNTRIES: tuple[str, ...] = (
    "Peru", "Germany", "Canada", "Greece", "Norway",
    "Poland", "Chile", "Ghana", "Vietnam",
)

NAMES: dict[str, str] = {  # name -> pronoun
    "Mia": "she", "Tom": "he", "Emma": "she", "Leo": "he",
    "Anna": "she", "Sam": "he", "Lily": "she", "Ben": "he",
    "Sara": "she", "Max": "he", "Zoe": "she", "Jack": "he",
}

ITEMS: dict[str, str] = {  # item -> the place that sells it
    "bread": "bakery", "cake": "bakery", "apples": "market", "fish": "market",
    "milk": "store", "eggs": "store", "soap": "store",
    "medicine": "pharmacy", "books": "library", "money": "bank",
    "tickets": "station", "meat": "butcher",
}

# Where "She needs to head to the ___" goes: genuinely uncertain.
HEAD_TO_PLACES: dict[str, float] = {
    "store": 0.30, "market": 0.20, "office": 0.20, "bakery": 0.10,
    "bank": 0.08, "library": 0.07, "station": 0.05,
}

ERRAND_TEMPLATES: dict[str, float] = {
    "{subject} needs {item} , so {pronoun} {goes} {place} .": 0.6,
    "{subject} is out of {item} , so {pronoun} {goes} {place} .": 0.4,
}
GOES = ("has to go to the", "needs to head to the", "walks to the", "goes to the")
HEAD_TO_TEMPLATE = "{subject} needs to head to the {place} ."

FACT_TEMPLATES = (
    "{capital} is the capital of {country} .",
    "The capital of {country} is {capital} .",
    "{country} has its capital in {capital} .",
    "In {country} , the capital city is {capital} .",
    "The government of {country} sits in {capital} .",
)

QUIZ_TEMPLATES: dict[str, float] = {
    "What is the capital of {country} ?": 0.7,
    "Which city is the capital of {country} ?": 0.3,
}
QA_TEMPLATE = "Q : What is the capital of {country} ? A : {capital} ."


def heldout_errand(name: str, item: str) -> bool:
    """Is the errand of this (name, item) pair held out? About 1 pair in 6."""
    i, j = list(NAMES).index(name), list(ITEMS).index(item)
    return (i + j) % 6 == 5


def heldout_fact(country: str) -> str:
    """The one paraphrase of ``FACT_TEMPLATES`` held out for ``country``."""
    return FACT_TEMPLATES[list(COUNTRIES).index(country) % len(FACT_TEMPLATES)]


# --- sentence pools ---------------------------------------------------------

@dataclass(frozen=True)
class Sentence:
    """One sentence of a pool: its tokens, probability and split."""
    tokens: tuple[str, ...]
    prob: float
    heldout: bool


def _subjects() -> dict[str, float]:
    """Who an errand is about: a name (80% in all) or a pronoun."""
    subjects = {name: 0.8 / len(NAMES) for name in NAMES}
    subjects.update({"She": 0.1, "He": 0.1})
    return subjects


def _pronoun(subject: str) -> str:
    return NAMES.get(subject, subject.lower())


def _errand_pool() -> list[Sentence]:
    """Errands (75%) and the uncertain "... needs to head to the ___" (25%)."""
    pool = []
    for subject, p_subject in _subjects().items():
        for item, place in ITEMS.items():
            held = subject in NAMES and heldout_errand(subject, item)
            for template, p_template in ERRAND_TEMPLATES.items():
                for goes in GOES:
                    text = template.format(subject=subject, item=item, place=place,
                                           pronoun=_pronoun(subject), goes=goes)
                    p = 0.75 * p_subject / len(ITEMS) * p_template / len(GOES)
                    pool.append(Sentence(tuple(text.split()), p, held))
        for place, p_place in HEAD_TO_PLACES.items():
            text = HEAD_TO_TEMPLATE.format(subject=subject, place=place)
            held = subject not in NAMES  # "She needs to head to the ___"
            pool.append(Sentence(tuple(text.split()), 0.25 * p_subject * p_place, held))
    return pool


def _fact_pool() -> list[Sentence]:
    """Every country in every paraphrase, uniformly."""
    p = 1 / (len(COUNTRIES) * len(FACT_TEMPLATES))
    return [Sentence(tuple(t.format(country=c, capital=cap).split()), p,
                     t == heldout_fact(c))
            for c, cap in COUNTRIES.items() for t in FACT_TEMPLATES]


def _quiz_pool() -> list[Sentence]:
    """Questions without answers."""
    return [Sentence(tuple(t.format(country=c).split()), p_t / len(COUNTRIES),
                     t.startswith("Which") and c in HELDOUT_QUIZ_COUNTRIES)
            for c in COUNTRIES for t, p_t in QUIZ_TEMPLATES.items()]


def _qa_pool() -> list[Sentence]:
    """A question and its answer."""
    return [Sentence(tuple(QA_TEMPLATE.format(country=c, capital=cap).split()),
                     1 / len(COUNTRIES), c in HELDOUT_QA_COUNTRIES)
            for c, cap in COUNTRIES.items()]


# --- kinds of documents -----------------------------------------------------

class _Node:
    """A node of a prefix tree of sentences.

    ``mass`` is the total probability of the sentences through this node;
    ``sentence`` is set on the node where a sentence ends (always a leaf:
    every sentence ends with its only "." or "?").
    """
    __slots__ = ("mass", "children", "sentence")

    def __init__(self) -> None:
        self.mass = 0.0
        self.children: dict[str, _Node] = {}
        self.sentence: Sentence | None = None


@dataclass
class Kind:
    """A kind of document: ``header`` then k sentences drawn from ``pool``."""
    name: str
    prob: float
    header: tuple[str, ...]
    pool: list[Sentence]
    k_probs: dict[int, float]
    # The total probability of ``pool``: 1 for the language itself, less for a
    # pool with the held-out sentences removed (see ``_train_kinds``).
    pool_mass: float = 1.0
    root: _Node = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = _Node()
        self.root.mass = 1.0
        for s in self.pool:
            node = self.root
            for tok in s.tokens:
                node = node.children.setdefault(tok, _Node())
                node.mass += s.prob
            assert node.sentence is None and not node.children, s.tokens
            node.sentence = s

    def p_more(self, n: int) -> float:
        """P(a document with n sentences so far goes on), times the mass of the sentences after the next.

        For the language itself that is P(k > n); for a pool whose mass is
        less than 1, each further sentence must also come from the pool.
        """
        return sum(p * self.pool_mass ** (k - n - 1) for k, p in self.k_probs.items() if k > n)

    def p_whole(self) -> float:
        """P(every sentence of a document of this kind comes from the pool)."""
        return sum(p * self.pool_mass ** k for k, p in self.k_probs.items())


@functools.lru_cache(maxsize=None)
def kinds() -> tuple[Kind, ...]:
    """The mixture of document kinds (a quiz may or may not start with "Quiz :")."""
    errands, facts, quiz, qa = _errand_pool(), _fact_pool(), _quiz_pool(), _qa_pool()
    return (
        Kind("errand", 0.45, (), errands, {1: 0.6, 2: 0.4}),
        Kind("fact", 0.30, (), facts, {1: 0.4, 2: 0.35, 3: 0.25}),
        Kind("quiz", 0.075, ("Quiz", ":"), quiz, {2: 0.4, 3: 0.35, 4: 0.25}),
        Kind("quiz", 0.075, (), quiz, {2: 0.4, 3: 0.35, 4: 0.25}),
        Kind("qa", 0.10, (), qa, {1: 0.4, 2: 0.35, 3: 0.25}),
    )


@functools.lru_cache(maxsize=None)
def vocabulary() -> tuple[str, ...]:
    """Every word of the language (not ``EOS``), sorted."""
    words = set()
    for kind in kinds():
        words.update(kind.header)
        for s in kind.pool:
            words.update(s.tokens)
    return tuple(sorted(words))


# --- exact probabilities ----------------------------------------------------

def _walk(kind: Kind, tokens: Sequence[str]):
    """Read ``tokens`` (header already included) as sentences of ``kind``.

    Returns ``(mass, sentences, node)``: the probability of the kind times
    that of the completed sentences, the completed sentences, and where we
    are in the sentence being read (the root between sentences); or None if
    the tokens are no prefix of a document of this kind.
    """
    h = len(kind.header)
    if tuple(tokens[:h]) != kind.header:
        return None
    mass, sentences, node = kind.prob, [], kind.root
    for tok in tokens[h:]:
        node = node.children.get(tok)
        if node is None:
            return None
        if node.sentence is not None:
            mass *= node.sentence.prob
            sentences.append(node.sentence)
            node = kind.root
    return mass, sentences, node


def _next_masses(kind: Kind, prefix: Sequence[str]) -> dict[str, float]:
    """P(document of this kind starts with ``prefix`` and then ``word``), per word."""
    h = len(kind.header)
    if len(prefix) < h:
        if tuple(prefix) == kind.header[:len(prefix)]:
            return {kind.header[len(prefix)]: kind.prob * kind.p_whole()}
        return {}
    walked = _walk(kind, prefix)
    if walked is None:
        return {}
    mass, sentences, node = walked
    n = len(sentences)
    out = {}
    if node is kind.root and kind.k_probs.get(n, 0.0) > 0:
        out[EOS] = mass * kind.k_probs[n]
    more = mass * kind.p_more(n)  # at least one more sentence
    if more > 0:
        for tok, child in node.children.items():
            out[tok] = more * child.mass
    return out


def _check_tokens(tokens: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(tokens, str):
        raise TypeError(f"{what} must be a list of word tokens, not a string; "
                        "split it first (course_lib.tokens.split_words)")
    tokens = tuple(tokens)
    for tok in tokens:
        if not isinstance(tok, str):
            raise TypeError(f"{what} must contain strings, got {tok!r}")
    return tokens


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


@functools.lru_cache(maxsize=None)
def _train_kinds() -> tuple[Kind, ...]:
    """The kinds with their held-out sentences removed (masses not renormalised).

    A prefix's mass under these is P(the document starts so *and* holds no
    held-out sentence), because the sentences of a document are independent.
    """
    kept = [(k, [s for s in k.pool if not s.heldout]) for k in kinds()]
    return tuple(Kind(k.name, k.prob, k.header, pool, k.k_probs, sum(s.prob for s in pool))
                 for k, pool in kept)


def _masses(prefix: tuple[str, ...], split: str) -> dict[str, float]:
    """P(a document of ``split`` starts with ``prefix`` then ``word``), unnormalised, per word."""
    def total(kind_list: tuple[Kind, ...]) -> dict[str, float]:
        out: dict[str, float] = {}
        for kind in kind_list:
            for tok, m in _next_masses(kind, prefix).items():
                out[tok] = out.get(tok, 0.0) + m
        return out

    if split == "all":
        return total(kinds())
    train = total(_train_kinds())
    if split == "train":
        return train
    # test: every continuation, less those that never meet a held-out sentence
    everything = total(kinds())
    return {tok: m - train.get(tok, 0.0) for tok, m in everything.items()
            if m - train.get(tok, 0.0) > 1e-15 * m}


@functools.lru_cache(maxsize=200_000)
def _next_word_probs(prefix: tuple[str, ...], split: str) -> tuple[tuple[str, float], ...]:
    masses = _masses(prefix, split)
    total = sum(masses.values())
    if total == 0:
        where = "the language" if split == "all" else f"the {split} split"
        raise ValueError(f"{' '.join(prefix)!r} is not the start of any document of {where}")
    ranked = sorted(masses.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple((tok, m / total) for tok, m in ranked)


def next_word_probs(prefix: Sequence[str], split: str = "all") -> dict[str, float]:
    """The true distribution of the next token (``EOS`` included) after ``prefix``.

    ``prefix`` is the start of a document (a list of words, possibly empty).
    ``split`` names the distribution: the whole language ("all"), or
    documents of the "train" or "test" split only (see the module's note).
    The result is ordered from the most to the least likely token.
    Raises ValueError if no document of that distribution starts with ``prefix``.
    """
    return dict(_next_word_probs(_check_tokens(prefix, "prefix"), _check_split(split)))


@functools.lru_cache(maxsize=None)
def split_probability(split: str) -> float:
    """The exact probability that a document of the language falls in ``split``.

    A document is in the train split when none of its k sentences is held
    out: for each kind, the sum over k of P(k) * (mass of the kept sentences)^k.
    """
    if _check_split(split) == "all":
        return 1.0
    train = sum(kind.prob * kind.p_whole() for kind in _train_kinds())
    return train if split == "train" else 1.0 - train


def document_logprob(doc: Sequence[str], split: str = "all") -> float:
    """Natural log of the probability of the whole document, ``EOS`` included.

    Equals the sum of ``log next_word_probs(doc[:i], split)[doc[i]]`` over
    every position i, plus the final step to ``EOS``. For a split, that is
    log P(doc) - log P(split) for a document of the split.
    """
    doc = _check_tokens(doc, "doc")
    p = sum(_next_masses(kind, doc).get(EOS, 0.0) for kind in kinds())
    if p == 0:
        raise ValueError(f"{' '.join(doc)!r} is not a document of the language")
    if _check_split(split) != "all" and split_of(doc) != split:
        raise ValueError(f"{' '.join(doc)!r} is not a document of the {split} split")
    return math.log(p) - math.log(split_probability(split))


def floor_nats_per_token(docs: Sequence[Sequence[str]], *, split: str) -> float:
    """The exact cross-entropy floor of ``docs``, in nats per prediction.

    ``split`` is the distribution the documents were drawn from ("train",
    "test" or "all", as given to :func:`sample_documents`): the floor is a
    bound only for that distribution. The result is the mean over every
    prediction (each word of each document, plus its ``EOS``) of
    ``-log p(next | prefix)`` under that distribution, the best any model
    can do on average on such documents. A model's loss on the same
    documents can be compared with it.
    """
    if len(docs) == 0:
        raise ValueError("floor_nats_per_token needs at least one document")
    nats = sum(-document_logprob(doc, split) for doc in docs)
    predictions = sum(len(doc) + 1 for doc in docs)
    return nats / predictions


def _parse(doc: Sequence[str]) -> tuple[Kind, list[Sentence]]:
    doc = _check_tokens(doc, "doc")
    for kind in kinds():
        walked = _walk(kind, doc)
        if walked is not None and walked[2] is kind.root and len(walked[1]) in kind.k_probs:
            return kind, walked[1]
    raise ValueError(f"{' '.join(doc)!r} is not a document of the language")


def split_of(doc: Sequence[str]) -> str:
    """"test" if the document holds a held-out combination, else "train"."""
    _, sentences = _parse(doc)
    return "test" if any(s.heldout for s in sentences) else "train"


def kind_of(doc: Sequence[str]) -> str:
    """The kind of a document: "errand", "fact", "quiz" or "qa"."""
    return _parse(doc)[0].name


# --- sampling ---------------------------------------------------------------

def _cumulative(probs: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for p in probs:
        total += p
        out.append(total)
    return out


@functools.lru_cache(maxsize=None)
def _samplers() -> tuple[list[float], list[tuple]]:
    """Cumulative weights for ``random.choices``, per kind."""
    ks = kinds()
    per_kind = [(kind, list(kind.k_probs), _cumulative(list(kind.k_probs.values())),
                 _cumulative([s.prob for s in kind.pool])) for kind in ks]
    return _cumulative([kind.prob for kind in ks]), per_kind


def sample_documents(n: int, split: str = "train", seed: int = 0) -> list[list[str]]:
    """``n`` random documents of the ``split`` ("train", "test" or "all").

    Deterministic for a given ``seed``. A document of the train (test) split
    is drawn from the language until it has no (some) held-out combination.
    """
    n, seed = operator.index(n), operator.index(seed)
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    rng = random.Random(f"{split}/{seed}")
    kind_cum, per_kind = _samplers()
    docs = []
    while len(docs) < n:
        kind, k_values, k_cum, pool_cum = rng.choices(per_kind, cum_weights=kind_cum)[0]
        k = rng.choices(k_values, cum_weights=k_cum)[0]
        sentences = rng.choices(kind.pool, cum_weights=pool_cum, k=k)
        if split != "all":
            in_test = any(s.heldout for s in sentences)
            if in_test != (split == "test"):
                continue
        doc = list(kind.header)
        for s in sentences:
            doc.extend(s.tokens)
        docs.append(doc)
    return docs
