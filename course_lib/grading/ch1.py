"""Hidden checks for Chapter 1 (neural networks).

Each function takes the learner's answer, draws fresh inputs at grading time,
compares with course_lib's reference and names the likely mistake on failure.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from course_lib import nn
from course_lib.grading import (
    answer,
    assert_close,
    assert_equal,
    assert_unchanged,
    check_call,
    fresh_rng,
)

FORBID = ("course_lib.nn",)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def neuron_linear(neuron: Callable) -> None:
    """Random inputs, identity activation: w . x + b."""
    rng = fresh_rng()
    for n in (1, 3, int(rng.integers(4, 9))):
        x, w, b = rng.normal(size=n), rng.normal(size=n), float(rng.normal())
        check_call(
            "neuron", neuron, (x, w, b, nn.identity), np.dot(w, x) + b,
            f"neuron with {n} inputs and no activation",
            mistakes={"forgetting the bias": np.dot(w, x), "subtracting the bias": np.dot(w, x) - b},
            forbid=FORBID,
            hint="A neuron adds up weight * input over all inputs, then adds the bias.",
        )


def neuron_activation(neuron: Callable) -> None:
    """Random inputs through sigmoid and tanh activations."""
    rng = fresh_rng()
    for activation in (_sigmoid, np.tanh, lambda z: np.maximum(0.0, z)):
        n = int(rng.integers(2, 7))
        x, w, b = rng.normal(size=n), rng.normal(size=n), float(rng.normal())
        z = np.dot(w, x) + b
        check_call(
            "neuron", neuron, (x, w, b, activation), activation(z),
            f"neuron with {n} inputs and an activation",
            mistakes={
                "returning the weighted sum without applying the activation": z,
                "applying the activation before adding the bias": activation(np.dot(w, x)) + b,
                "applying the activation to each input before the sum": np.dot(w, activation(x)) + b,
            },
            forbid=FORBID,
            hint="The activation is applied once, to the weighted sum plus the bias.",
        )


def _activation_cases(rng: np.random.Generator) -> list[np.ndarray]:
    return [
        rng.normal(0, 3, size=7),
        rng.normal(0, 3, size=(3, 4)),
        np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]),
    ]


def _check_activation(name: str, fn: Callable, reference: Callable, mistakes_of: Callable,
                      forbid: tuple[str, ...] = FORBID, hint: str = "") -> None:
    for z in _activation_cases(fresh_rng()):
        original = z.copy()
        with np.errstate(all="ignore"):
            mistakes = mistakes_of(z)
        check_call(name, fn, (z,), reference(z), f"{name} on an array of shape {z.shape}",
                   mistakes=mistakes, forbid=forbid, hint=hint)
        assert_unchanged(original, z, name)


def relu(fn: Callable) -> None:
    _check_activation("relu", fn, nn.relu, lambda z: {
        "the absolute value instead of cutting negatives to zero": np.abs(z),
        "keeping the negative part instead of the positive part": np.minimum(0, z),
    })


def sigmoid(fn: Callable) -> None:
    with np.errstate(all="ignore"):
        _check_activation("sigmoid", fn, nn.sigmoid, lambda z: {
            "a sign error: 1 / (1 + e^z) instead of 1 / (1 + e^-z)": 1 / (1 + np.exp(z)),
            "tanh instead of sigmoid": np.tanh(z),
        })


def tanh(fn: Callable) -> None:
    with np.errstate(all="ignore"):
        _check_activation("tanh", fn, nn.tanh, lambda z: {
            "sigmoid instead of tanh": nn.sigmoid(z),
            "a formula that overflows for large |z|": (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
        }, forbid=FORBID + ("numpy.tanh",),
            hint="For large |z|, e^z overflows to inf: find a form of tanh that stays finite.")


def _dense_mistakes(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    mistakes = {"forgetting the bias": X @ W}
    if X.shape[0] == W.shape[1]:
        mistakes["adding the bias along the batch axis instead of per output"] = X @ W + b[:, None]
    return mistakes


def dense_shapes(dense: Callable) -> None:
    rng = fresh_rng()
    for batch, n_in, n_out in ((1, 3, 2), (int(rng.integers(2, 9)), 5, 1), (4, 1, 6)):
        X, W, b = rng.normal(size=(batch, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
        with answer("dense", forbid=FORBID):
            out = dense(X, W, b)
        assert_equal(np.shape(out), (batch, n_out),
                     f"shape of dense(X, W, b) for X {X.shape}, W {W.shape}",
                     "Each row of X is one example; each column of W is one neuron.")


def dense_values(dense: Callable) -> None:
    rng = fresh_rng()
    n = int(rng.integers(2, 6))
    for batch, n_in, n_out in ((n, 4, n), (int(rng.integers(2, 9)), 3, 5), (1, 6, 2)):
        X, W, b = rng.normal(size=(batch, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
        check_call("dense", dense, (X, W, b), X @ W + b,
                   f"dense(X, W, b) for X {X.shape}, W {W.shape}",
                   mistakes=_dense_mistakes(X, W, b), forbid=FORBID)


def _random_params(rng: np.random.Generator, sizes: list[int]) -> nn.Params:
    return [(rng.normal(size=(a, c)), rng.normal(size=c)) for a, c in zip(sizes[:-1], sizes[1:])]


def _mlp_mistakes(X: np.ndarray, params: nn.Params, act: Callable) -> dict[str, np.ndarray]:
    mistakes = {
        "applying the activation after the last layer too": act(nn.mlp(X, params, act)),
        "forgetting the activation between layers": nn.mlp(X, params, nn.identity),
    }
    if len(params) > 1:
        mistakes["skipping the last layer"] = nn.mlp(X, params[:-1], act)
        mistakes["applying only the first layer's activation"] = act(nn.mlp(X, params[:-1], act)) @ params[-1][0] + params[-1][1]
    return mistakes


def mlp_one_layer(mlp: Callable) -> None:
    rng = fresh_rng()
    X = rng.normal(size=(5, 3))
    params = _random_params(rng, [3, 2])
    check_call("mlp", mlp, (X, params, nn.relu), X @ params[0][0] + params[0][1],
               "mlp with a single layer (no hidden layer)",
               mistakes={"applying the activation after the last layer": nn.relu(X @ params[0][0] + params[0][1])},
               forbid=FORBID, hint="The output layer has no activation.")


def mlp_deep(mlp: Callable) -> None:
    rng = fresh_rng()
    for sizes, act in (([2, 4, 1], np.tanh), ([3, 5, 4, 2], lambda z: np.maximum(0.0, z)),
                       ([4, 3, 3, 3, 2], _sigmoid)):
        X = rng.normal(size=(int(rng.integers(1, 7)), sizes[0]))
        params = _random_params(rng, sizes)
        check_call("mlp", mlp, (X, params, act), nn.mlp(X, params, act),
                   f"mlp with layer sizes {sizes}", mistakes=_mlp_mistakes(X, params, act),
                   forbid=FORBID)


def count_parameters(count: Callable) -> None:
    rng = fresh_rng()
    for _ in range(4):
        sizes = [int(s) for s in rng.integers(1, 50, size=int(rng.integers(2, 6)))]
        with answer("count_parameters", forbid=FORBID):
            got = count(sizes)
        weights = sum(a * c for a, c in zip(sizes[:-1], sizes[1:]))
        assert_close(got, nn.count_parameters(sizes), f"count_parameters({sizes})", mistakes={
            "forgetting the biases": weights,
            "counting one bias per input instead of per neuron": weights + sum(sizes[:-1]),
            "counting the neurons instead of the parameters": sum(sizes),
            "giving the input layer biases too": weights + sum(sizes),
        }, atol=0.0, rtol=0.0)
        assert_equal(isinstance(got, (int, np.integer)), True, f"type of count_parameters({sizes})",
                     "A count of parameters is a whole number: return an int.")
