"""Chapter 1: neural networks from numpy building blocks.

A neuron computes a weighted sum of its inputs, adds a bias and passes the
result through an activation function. A layer is many neurons at once: a
matrix product plus a bias. A multi-layer perceptron (MLP) is layers in a row.

Everything here is plain numpy; :mod:`course_lib.classifier` trains the
chapter's demo networks on the toy data of :mod:`course_lib.datasets`.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

Array = np.ndarray
Activation = Callable[[Array], Array]


# --- activations -----------------------------------------------------------

def identity(z: Array) -> Array:
    """No activation at all: the neuron stays linear."""
    return np.asarray(z, dtype=float)


def relu(z: Array) -> Array:
    """Rectified linear unit: ``max(0, z)`` element by element."""
    return np.maximum(0.0, np.asarray(z, dtype=float))


def sigmoid(z: Array) -> Array:
    """Logistic function ``1 / (1 + e^-z)``, squashing any number into (0, 1).

    Written so that large negative inputs do not overflow ``exp``.
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(z: Array) -> Array:
    """Hyperbolic tangent, squashing any number into (-1, 1)."""
    return np.tanh(np.asarray(z, dtype=float))


ACTIVATIONS: dict[str, Activation] = {
    "identity": identity,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
}


# --- neurons, layers, networks ---------------------------------------------

def neuron(x: Array, w: Array, b: float, activation: Activation = identity) -> float:
    """One neuron: ``activation(w . x + b)`` for a single input vector ``x``."""
    return float(activation(np.dot(w, x) + b))


def dense(X: Array, W: Array, b: Array) -> Array:
    """A dense layer on a batch: ``X @ W + b``.

    Shapes: ``X`` is (batch, n_in), ``W`` is (n_in, n_out), ``b`` is (n_out,);
    the result is (batch, n_out).
    """
    return X @ W + b


Params = list[tuple[Array, Array]]


def init_mlp(layer_sizes: Sequence[int], seed: int = 0) -> Params:
    """Random weights and zero biases for an MLP with the given layer sizes."""
    if len(layer_sizes) < 2 or min(layer_sizes) < 1:
        raise ValueError("layer_sizes needs at least an input and an output size, all >= 1")
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(n_in, n_out)), np.zeros(n_out))
        for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:])
    ]


def mlp(X: Array, params: Params, activation: Activation = relu) -> Array:
    """Forward pass of an MLP: the activation after every layer but the last."""
    h = np.asarray(X, dtype=float)
    for i, (W, b) in enumerate(params):
        h = dense(h, W, b)
        if i < len(params) - 1:
            h = activation(h)
    return h


def count_parameters(layer_sizes: Sequence[int]) -> int:
    """Weights plus biases of an MLP with these layer sizes (input first)."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]))
