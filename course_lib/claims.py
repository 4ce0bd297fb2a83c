"""A chapter's claims about its own results, checked when the book is built.

Every sentence of a chapter that depends on a computed result ("the test loss
is still falling", "RLHF raises the preferred rate") is checked in a cell
readers do not see, right after the computation::

    claim(eval_loss[-1] < eval_loss[-5], "the held-out loss is still falling when training stops")

A claim that stops being true stops the build (``make book``) with a message
that quotes it, so the prose can never drift from the numbers under it.
"""

from __future__ import annotations


class FalseClaim(AssertionError):
    """A chapter states something its own results do not show."""


def claim(holds: bool, text: str) -> None:
    """Stop the build unless the chapter's claim ``text`` holds for this build's results."""
    if not holds:
        raise FalseClaim(f"The chapter claims: \"{text}\", but this build's results do not show it. "
                         "Change the demo or the words.")
