"""Chat data in the course language, and how to grade a model's answers (chapter 5).

A user asks ``What is the capital of Japan ?`` and the assistant answers,
either tersely (``Tokyo .``) or in a complete sentence
(``The capital is Tokyo .``). Every word is a word of the course language
(``course_lib.corpus``), so the base model's vocabulary covers it.

- ``SFT_COUNTRIES``: the countries of the SFT and preference training data;
  the same countries have Q/A pages in pretraining.
- ``HELDOUT_COUNTRIES``: never in SFT, in the training preference pairs or in
  a pretraining Q/A page; the base model only read prose facts about them
  ("Tokyo is the capital of Japan ."). Every evaluation uses these.

A chat sequence is ``<bos>`` + question + answer + ``<eos>``; the prompt is
``<bos>`` + question. The base model has never seen a question followed by an
answer in this form: in its pretraining text a question is followed by
another question (a quiz).

People's preferences: a correct answer beats a wrong one, and among correct
answers the complete sentence beats the terse one. The "preferred" answer
is therefore exactly ``The capital is Y .`` with the right Y.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import torch

from course_lib import corpus
from course_lib.finetune import Example, sft_example
from course_lib.gpt import GPT
from course_lib.tokens import Vocab

SFT_COUNTRIES: tuple[str, ...] = corpus.QA_COUNTRIES
HELDOUT_COUNTRIES: tuple[str, ...] = corpus.HELDOUT_QA_COUNTRIES
CAPITALS: frozenset[str] = frozenset(corpus.COUNTRIES.values())

QUESTION = "What is the capital of {country} ?"
STYLES: dict[str, str] = {
    "terse": "{capital} .",
    "full": "The capital is {capital} .",
}
# What the SFT labellers wrote: half of them answered tersely, half in a sentence.
SFT_STYLES: tuple[str, ...] = ("terse", "full")
FEW_SHOT_COUNTRIES: tuple[str, ...] = ("France", "Peru")


# ---------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------

def question(country: str) -> list[str]:
    """The user's question about ``country``, as words."""
    return QUESTION.format(country=country).split()


def answer(country: str, style: str, capital: str | None = None) -> list[str]:
    """An answer in ``style`` ("terse" or "full"); ``capital`` defaults to the right one."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {tuple(STYLES)}, got {style!r}")
    capital = corpus.COUNTRIES[country] if capital is None else capital
    return STYLES[style].format(country=country, capital=capital).split()


def few_shot_prompt(country: str, examples: Sequence[str] = FEW_SHOT_COUNTRIES) -> list[str]:
    """A prompt shaped like a Q/A page of the pretraining text, with answered examples.

    ``Q : What is the capital of France ? A : Paris . ... Q : What is the
    capital of <country> ? A :`` - the model completes the pattern.
    """
    words: list[str] = []
    for shown in examples:
        words += ["Q", ":"] + question(shown) + ["A", ":"] + answer(shown, "terse")
    return words + ["Q", ":"] + question(country) + ["A", ":"]


# ---------------------------------------------------------------------------
# Token ids
# ---------------------------------------------------------------------------

def answer_ids(vocab: Vocab, words: Sequence[str]) -> list[int]:
    """The ids of the answer's words and ``<eos>``: the model learns to stop."""
    return vocab.encode(words) + [vocab.eos_id]


def sft_examples(vocab: Vocab, countries: Sequence[str] = SFT_COUNTRIES,
                 styles: Sequence[str] = SFT_STYLES) -> list[Example]:
    """One SFT example per country and entry of ``styles`` (prompt tokens masked)."""
    return [sft_example(vocab.encode_prompt(question(c)), answer_ids(vocab, answer(c, s)))
            for c in countries for s in styles]


def question_batch(vocab: Vocab, countries: Sequence[str]) -> torch.Tensor:
    """The prompts of ``countries`` as a (N, P) tensor (every question has P tokens)."""
    return torch.tensor([vocab.encode_prompt(question(c)) for c in countries])


# ---------------------------------------------------------------------------
# Preferences
# ---------------------------------------------------------------------------

# The four kinds of answer: the right or a wrong capital, in a full sentence or short.
ANSWER_KINDS: tuple[str, ...] = ("right full", "right short", "wrong full", "wrong short")
# Every pairing of two kinds where people have a preference, chosen kind first.
# People want the truth first and the complete sentence second: a right short
# answer beats a wrong full one. Between two wrong answers they have none.
PAIRINGS: tuple[tuple[str, str], ...] = (
    ("right full", "right short"),     # format only
    ("right full", "wrong full"),      # truth only
    ("right full", "wrong short"),     # both
    ("right short", "wrong full"),     # truth against format
    ("right short", "wrong short"),    # truth only, short
)
# The pairings a first, naive collection would hold: the best answer against
# each of the others, never a right short answer against a wrong full one.
BEST_VERSUS_REST: tuple[tuple[str, str], ...] = tuple(p for p in PAIRINGS if p[0] == "right full")


def answer_of_kind(country: str, kind: str, wrong: str) -> list[str]:
    """The answer of ``kind`` (one of ``ANSWER_KINDS``); ``wrong`` is the wrong capital to use."""
    if kind not in ANSWER_KINDS:
        raise ValueError(f"kind must be one of {ANSWER_KINDS}, got {kind!r}")
    truth, style = kind.split()
    return answer(country, "full" if style == "full" else "terse",
                  None if truth == "right" else wrong)


def kind_of_answer(country: str, words: Sequence[str]) -> str | None:
    """Which of ``ANSWER_KINDS`` an answer is, or None if it is none of them."""
    words = list(words)
    for capital in sorted(CAPITALS):
        truth = "right" if capital == corpus.COUNTRIES[country] else "wrong"
        if words == answer(country, "full", capital):
            return f"{truth} full"
        if words == answer(country, "terse", capital):
            return f"{truth} short"
    return None


@dataclass(frozen=True)
class Pair:
    """Two answers to the question about ``country``; people preferred ``chosen``.

    ``pairing`` names the kinds of the two answers, e.g. ("right short", "wrong full").
    """
    country: str
    chosen: tuple[str, ...]
    rejected: tuple[str, ...]
    pairing: tuple[str, str] = ("right full", "right short")


def preference_pairs(countries: Sequence[str], wrong_per_country: int = 3, seed: int = 0,
                     pairings: Sequence[tuple[str, str]] = PAIRINGS) -> list[Pair]:
    """Pairs of answers about ``countries``, each with the one people chose.

    For each country and each of ``wrong_per_country`` wrong capitals, people
    compared the four kinds of answer (``ANSWER_KINDS``) in every pairing of
    ``pairings``: the right capital beats a wrong one whatever the format, and
    between two right answers the complete sentence wins (that pair, which
    holds no wrong capital, is shown once per wrong capital all the same, so
    each pairing weighs the same). The wrong capitals are drawn at random from the capitals
    of the other ``countries``, so pairs about one group of countries never
    mention the capitals of another group.
    """
    for pairing in pairings:
        if tuple(pairing) not in PAIRINGS:
            raise ValueError(f"people have no preference in the pairing {pairing!r}; "
                             f"known pairings: {PAIRINGS}")
    rng = random.Random(f"pairs/{seed}")
    pool = {corpus.COUNTRIES[c] for c in countries}
    pairs = []
    for country in countries:
        others = sorted(pool - {corpus.COUNTRIES[country]})
        for wrong in rng.sample(others, wrong_per_country):
            for chosen, rejected in pairings:
                pairs.append(Pair(country, tuple(answer_of_kind(country, chosen, wrong)),
                                  tuple(answer_of_kind(country, rejected, wrong)),
                                  (chosen, rejected)))
    return pairs


def pair_sequences(vocab: Vocab, pairs: Sequence[Pair]) -> list[tuple[list[int], list[int]]]:
    """Whole chosen and rejected sequences (prompt + answer), for the reward model."""
    out = []
    for p in pairs:
        prompt = vocab.encode_prompt(question(p.country))
        out.append((prompt + answer_ids(vocab, p.chosen), prompt + answer_ids(vocab, p.rejected)))
    return out


def pair_examples(vocab: Vocab, pairs: Sequence[Pair]) -> list[tuple[Example, Example]]:
    """Chosen and rejected SFT-style examples (prompt masked), for DPO."""
    out = []
    for p in pairs:
        prompt = vocab.encode_prompt(question(p.country))
        out.append((sft_example(prompt, answer_ids(vocab, p.chosen)),
                    sft_example(prompt, answer_ids(vocab, p.rejected))))
    return out


# ---------------------------------------------------------------------------
# Asking a model and grading its answers
# ---------------------------------------------------------------------------

def ask(model: GPT, vocab: Vocab, prompts: Sequence[Sequence[str]], samples: int = 1,
        temperature: float = 1.0, max_new_tokens: int = 10, seed: int = 0) -> list[list[list[str]]]:
    """``samples`` answers of ``model`` to each prompt (lists of words, without ``<eos>``).

    Prompts must all have the same number of words. An answer ends at the
    first ``<eos>`` or after ``max_new_tokens`` words.
    """
    idx = torch.tensor([vocab.encode_prompt(p) for p in prompts]).repeat_interleave(samples, 0)
    generator = torch.Generator().manual_seed(seed)
    out = model.generate(idx, max_new_tokens, temperature=temperature,
                         generator=generator, stop_token=vocab.eos_id)
    answers = []
    for row in out[:, idx.size(1):].tolist():
        words = vocab.decode(row)
        answers.append(words[: words.index(corpus.EOS)] if corpus.EOS in words else words)
    return [answers[i * samples:(i + 1) * samples] for i in range(len(prompts))]


def first_sentence(words: Sequence[str]) -> list[str]:
    """The words up to and including the first "." or "?" (all of them if there is none)."""
    for i, w in enumerate(words):
        if w in (".", "?"):
            return list(words[: i + 1])
    return list(words)


def is_correct(country: str, words: Sequence[str]) -> bool:
    """Does the answer's first sentence name the right capital, and no other?

    Only the first sentence counts: after a few-shot prompt the base model
    may answer and then go on to write the next question of the page.
    """
    named = {w for w in first_sentence(words) if w in CAPITALS}
    return named == {corpus.COUNTRIES[country]}


def is_preferred(country: str, words: Sequence[str]) -> bool:
    """Is the answer exactly the complete sentence with the right capital?"""
    return list(words) == answer(country, "full")


def is_question(words: Sequence[str]) -> bool:
    """Does the continuation start another question?"""
    return len(words) > 0 and words[0] in ("What", "Which")


def is_wrong_full(country: str, words: Sequence[str]) -> bool:
    """Is the answer a complete sentence that names a wrong capital ("The capital is Vienna .")?"""
    return kind_of_answer(country, words) == "wrong full"


def rates(countries: Sequence[str], answers: Sequence[Sequence[Sequence[str]]]) -> dict[str, float]:
    """Shares of answers that are correct, preferred, another question, or confidently wrong.

    "wrong_full" is the share of complete sentences naming a wrong capital.
    """
    flat = [(c, a) for c, group in zip(countries, answers) for a in group]
    n = len(flat)
    return {
        "correct": sum(is_correct(c, a) for c, a in flat) / n,
        "preferred": sum(is_preferred(c, a) for c, a in flat) / n,
        "question": sum(is_question(a) for _, a in flat) / n,
        "wrong_full": sum(is_wrong_full(c, a) for c, a in flat) / n,
    }


def rates_by_country(countries: Sequence[str],
                     answers: Sequence[Sequence[Sequence[str]]]) -> dict[str, dict[str, float]]:
    """``rates`` of each country's answers on its own."""
    return {c: rates([c], [group]) for c, group in zip(countries, answers)}


__all__ = [
    "SFT_COUNTRIES", "HELDOUT_COUNTRIES", "CAPITALS", "QUESTION", "STYLES", "SFT_STYLES",
    "question", "answer", "few_shot_prompt", "answer_ids", "sft_examples",
    "question_batch", "first_sentence", "ANSWER_KINDS", "PAIRINGS", "BEST_VERSUS_REST",
    "answer_of_kind", "kind_of_answer", "Pair", "preference_pairs", "pair_sequences",
    "pair_examples", "ask", "is_correct", "is_preferred", "is_question", "is_wrong_full",
    "rates", "rates_by_country",
]
