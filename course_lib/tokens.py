"""Words to token ids and back: a word-level vocabulary.

A model does not read text; it reads integers. ``split_words`` cuts text into
words and punctuation marks, and a ``Vocab`` gives each known word an id.
Four special tokens come first: padding, the unknown word, and the beginning
and end of a document.

    >>> vocab = Vocab.build([["Mia", "needs", "bread", "."]])
    >>> vocab.encode(["Mia", "needs", "cake"])
    [5, 7, 1]
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from typing import Iterable, Sequence

from course_lib.corpus import EOS

PAD = "<pad>"
UNK = "<unk>"
BOS = "<bos>"
SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0, 1, 2, 3

_TOKEN = re.compile(r"<[a-z]+>|\w+|[^\w\s]")
_NO_SPACE_BEFORE = set(".,?!:;)")
_NO_SPACE_AFTER = set("(")


def split_words(text: str) -> list[str]:
    """Cut ``text`` into words and punctuation marks.

    >>> split_words("Mia needs bread, so she goes to the bakery.")
    ['Mia', 'needs', 'bread', ',', 'so', 'she', 'goes', 'to', 'the', 'bakery', '.']
    """
    if not isinstance(text, str):
        raise TypeError(f"split_words expects a string, got {type(text).__name__}")
    return _TOKEN.findall(text)


def join_words(words: Iterable[str]) -> str:
    """Glue words back into text, with no space before punctuation.

    The inverse of ``split_words`` for ordinary text.
    """
    text = ""
    for word in words:
        if not isinstance(word, str):
            raise TypeError(f"join_words expects strings, got {word!r}")
        if text and word not in _NO_SPACE_BEFORE and text[-1] not in _NO_SPACE_AFTER:
            text += " "
        text += word
    return text


def _check_words(words: Sequence[str], what: str = "words") -> None:
    if isinstance(words, str):
        raise TypeError(f"{what} must be a list of tokens, not a string; "
                        "use split_words(text) first")
    for w in words:
        if not isinstance(w, str):
            raise TypeError(f"{what} must contain strings, got {w!r} "
                            f"({type(w).__name__})")


class Vocab:
    """A word vocabulary: ``stoi`` maps a token to its id, ``itos`` back."""

    def __init__(self, itos: Sequence[str]) -> None:
        itos = list(itos)
        _check_words(itos, "itos")
        if tuple(itos[:len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        if len(set(itos)) != len(itos):
            raise ValueError("a vocabulary must not list a token twice")
        if len(itos) == len(SPECIALS):
            raise ValueError("the vocabulary has no words, only special tokens")
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(itos)}
        # The special tokens come first, so their ids are the same in every vocabulary.
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.stoi[t] for t in SPECIALS)

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], min_count: int = 1) -> Vocab:
        """The vocabulary of ``docs``: specials, then words seen ``min_count`` times or more.

        Words are ordered by decreasing frequency, ties alphabetically, so the
        same documents always give the same ids.
        """
        if isinstance(docs, str):
            raise TypeError("docs must be a list of documents (lists of tokens), "
                            "not a string")
        if operator.index(min_count) < 1:
            raise ValueError(f"min_count must be 1 or more, got {min_count}")
        counts: Counter[str] = Counter()
        for doc in docs:
            _check_words(doc, "each document")
            counts.update(doc)
        words = [w for w, c in counts.items() if c >= min_count and w not in SPECIALS]
        if not words:
            raise ValueError("cannot build an empty vocabulary: no documents, or "
                             f"no word seen at least min_count={min_count} times")
        words.sort(key=lambda w: (-counts[w], w))
        return cls(list(SPECIALS) + words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.itos[4:9]}...)"

    def encode(self, words: Sequence[str]) -> list[int]:
        """Token ids of ``words``; an unknown word becomes the ``<unk>`` id."""
        _check_words(words)
        unk = self.unk_id
        return [self.stoi.get(w, unk) for w in words]

    def encode_prompt(self, words: Sequence[str]) -> list[int]:
        """``<bos>`` and the ids of ``words``: a beginning for a model to continue."""
        return [self.bos_id] + self.encode(words)

    def encode_document(self, doc: Sequence[str]) -> list[int]:
        """``<bos>``, the ids of ``doc``, ``<eos>``: what a model trains on."""
        return self.encode_prompt(doc) + [self.eos_id]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The tokens of ``ids`` (ints, numpy or torch integers)."""
        words = []
        for i in ids:
            try:
                i = operator.index(i)
            except TypeError:
                raise TypeError(f"token ids must be integers, got {i!r}") from None
            if not 0 <= i < len(self.itos):
                raise ValueError(f"token id {i} is out of range: the vocabulary "
                                 f"has ids 0 to {len(self.itos) - 1}")
            words.append(self.itos[i])
        return words
