"""Functions the grader passes to a learner's answer, by name (see ``course_lib.instructor.wire``).

A check that calls ``neuron(x, w, b, activation)`` or ``evaluate(next_probs,
docs)`` cannot send a function over the grading channel: it sends a name
from this module (and, for a factory, plain data to build the function
from), and the worker that runs the learner's code looks it up here. The
trusted grader calls the same functions on its side to compute references.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


# --- activations (Chapter 1) -------------------------------------------------------

def identity(z):
    return z


def step(z):
    return 1.0 if z > 0 else 0.0


def relu(z):
    return np.maximum(0.0, z)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- language models (Chapter 2) -------------------------------------------------

def constant_probs(probs: list) -> Callable:
    """A silly model that ignores the prefix and always predicts ``probs``."""
    table = np.array(probs, dtype=float)

    def next_probs(prefix):
        return table.copy()
    return next_probs


def predictor(by_last: np.ndarray, by_length: np.ndarray) -> Callable:
    """A made-up model whose guesses depend on the last id and the prefix length."""
    by_last, by_length = np.asarray(by_last, dtype=float), np.asarray(by_length, dtype=float)

    def next_probs(prefix) -> np.ndarray:
        prefix = [int(i) for i in prefix]
        if not prefix:
            raise AssertionError("evaluate asked for a prediction with an empty prefix: the first "
                                 "prediction is the word after <bos>, so the prefix is at least [<bos>].")
        scores = by_last[prefix[-1]] + by_length[len(prefix) % len(by_length)]
        p = np.exp(scores - scores.max())
        return p / p.sum()
    return next_probs


# --- functions to differentiate (Chapter 3) ----------------------------------------

def power_sum(power: int) -> Callable:
    """f(v) = sum(v ** power)."""
    def f(v):
        return float(np.sum(v ** power))
    return f


def quadratic_form(A: np.ndarray) -> Callable:
    """f(x) = x @ A @ x."""
    A = np.asarray(A, dtype=float)

    def f(x):
        return float(x @ A @ x)
    return f


def sin_times_x(x):
    """f(x) = sum(sin(x) * x)."""
    return float(np.sum(np.sin(x) * x))


def log_sum_exp(x):
    """f(x) = log(sum(exp(x)))."""
    return float(np.log(np.sum(np.exp(x))))


def weighted_cube(c: np.ndarray, shape: list) -> Callable:
    """f(v) = sum(c * v ** 3), for arrays of ``shape`` only."""
    c, shape = np.asarray(c, dtype=float), tuple(shape)

    def f(v):
        if np.shape(v) != shape:
            raise AssertionError(f"the shape of the array passed to f: expected {shape!r}, got "
                                 f"{np.shape(v)!r}. Call f with an array shaped like x, with one entry changed.")
        return float(np.sum(c * v**3))
    return f
