"""A small scalar autograd engine, for chapter 3 ("How a model learns").

Every number in a computation is wrapped in a :class:`Value`. Each operation
makes a new Value that remembers its inputs (``children``) and the *local*
derivative of its result with respect to each input. ``backward()`` then
walks the graph from the output back to the inputs and applies the chain rule:

    child.grad += local_derivative * node.grad

That one line is all of backpropagation. The results are checked against
torch autograd in ``tests/test_autograd.py``.

Example::

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> loss = (a * b + a).tanh()
    >>> loss.backward()
    >>> a.grad, b.grad     # d loss / d a, d loss / d b

Repeated ``backward()`` calls behave like torch: every call *adds* the
gradient of its output to the grads of the leaves (the Values you created
yourself, such as weights and inputs), so two calls give twice the gradient.
Call :func:`zero_grad` (or ``Module.zero_grad``) between training steps.
The grads of interior nodes are recomputed from scratch by each call, so
after ``backward()`` they always show this call's gradients.
"""

from __future__ import annotations

import math
import random
from typing import Union

Number = Union[int, float]


class Value:
    """One scalar in a computation graph, with its gradient."""

    def __init__(
        self,
        data: Number,
        children: tuple[Value, ...] = (),
        local_grads: tuple[float, ...] = (),
        op: str = "",
        label: str = "",
    ) -> None:
        self.data = float(data)
        self.grad = 0.0
        self.children = children  # the Values this one was computed from
        self.local_grads = local_grads  # d self / d child, one per child
        self.op = op  # the operation that made this Value ("" for a leaf)
        self.label = label

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.4g}, grad={self.grad:.4g})"

    # ----- arithmetic -----------------------------------------------------

    def __add__(self, other: Value | Number) -> Value:
        other = _as_value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other: Value | Number) -> Value:
        """``a * b`` (a is self): the local derivatives are b and a. Shown in Chapter 3."""
        other = _as_value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, exponent: Number) -> Value:
        """``self ** exponent`` for a constant (int or float) exponent."""
        if not isinstance(exponent, (int, float)):
            raise TypeError("Value ** x supports only a plain number x")
        x, p = self.data, float(exponent)
        if x == 0 and p < 0:
            raise ValueError(f"0 ** {exponent} is undefined (division by zero)")
        if x < 0 and not p.is_integer():
            raise ValueError(f"{x} ** {exponent}: a negative number to a fractional power")
        if p == 0:
            slope = 0.0  # x ** 0 is the constant 1, even at x = 0
        elif x == 0 and p < 1:
            slope = math.inf  # the slope of x ** p at 0 for 0 < p < 1 (as torch says)
        else:
            slope = p * x ** (p - 1)
        return Value(x**p, (self,), (slope,), f"**{exponent:g}")

    def __neg__(self) -> Value:
        return Value(-self.data, (self,), (-1.0,), "neg")

    def __sub__(self, other: Value | Number) -> Value:
        other = _as_value(other)
        return Value(self.data - other.data, (self, other), (1.0, -1.0), "-")

    def __truediv__(self, other: Value | Number) -> Value:
        other = _as_value(other)
        a, b = self.data, other.data
        if b == 0:
            raise ValueError(f"division by zero: {a} / 0")
        return Value(a / b, (self, other), (1.0 / b, -a / b**2), "/")

    # plain number on the left: 2 + v, 2 * v, 2 - v, 2 / v
    def __radd__(self, other: Number) -> Value:
        return _as_value(other) + self

    def __rmul__(self, other: Number) -> Value:
        return _as_value(other) * self

    def __rsub__(self, other: Number) -> Value:
        return _as_value(other) - self

    def __rtruediv__(self, other: Number) -> Value:
        return _as_value(other) / self

    # ----- functions ------------------------------------------------------

    def exp(self) -> Value:
        e = math.exp(self.data)
        return Value(e, (self,), (e,), "exp")

    def log(self) -> Value:
        """Natural logarithm; defined only for positive numbers."""
        if self.data <= 0:
            raise ValueError(f"log is defined only for positive numbers, got {self.data}")
        return Value(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,), "tanh")

    def relu(self) -> Value:
        positive = self.data > 0
        return Value(self.data if positive else 0.0, (self,), (1.0 if positive else 0.0,), "relu")

    # ----- backpropagation -----------------------------------------------

    def backward(self) -> None:
        """Add d self / d leaf to the ``grad`` of every leaf below this Value.

        Interior nodes get this call's gradients (their old grads are reset);
        leaves accumulate, as in torch, until :func:`zero_grad` is called.
        Shown in Chapter 3.
        """
        order = topological_order(self)
        for node in order:
            if node.children:
                node.grad = 0.0
        self.grad += 1.0  # d self / d self
        for node in reversed(order):  # from the output back to the inputs
            for child, local in zip(node.children, node.local_grads):
                child.grad += local * node.grad


def _as_value(x: Value | Number) -> Value:
    return x if isinstance(x, Value) else Value(x)


def topological_order(root: Value) -> list[Value]:
    """Every Value in ``root``'s graph, each after all of its children."""
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:  # depth-first search without recursion (deep graphs are fine)
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            for child in reversed(node.children):
                stack.append((child, False))
    return order


def zero_grad(root: Value) -> None:
    """Set the grad of every Value in ``root``'s graph to zero."""
    for node in topological_order(root):
        node.grad = 0.0


# ----- a tiny neural network built from Values ------------------------------


class Module:
    """Something with parameters (a Neuron, a Layer, a ValueMLP)."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """``activation(w . x + b)`` with ``nin`` weights and one bias."""

    def __init__(self, nin: int, activation: str = "tanh", rng: random.Random | None = None,
                 name: str = "") -> None:
        if activation not in ("tanh", "relu", "linear"):
            raise ValueError(f"activation must be 'tanh', 'relu' or 'linear', got {activation!r}")
        rng = rng or random.Random(0)
        self.w = [Value(rng.uniform(-1, 1), label=f"{name}w{i}") for i in range(nin)]
        self.b = Value(0.0, label=f"{name}b")
        self.activation = activation

    def __call__(self, x: list[Value | Number]) -> Value:
        z = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if self.activation == "tanh":
            return z.tanh()
        if self.activation == "relu":
            return z.relu()
        return z

    def parameters(self) -> list[Value]:
        return self.w + [self.b]


class Layer(Module):
    """``nout`` neurons that all read the same ``nin`` inputs."""

    def __init__(self, nin: int, nout: int, activation: str = "tanh",
                 rng: random.Random | None = None, name: str = "") -> None:
        rng = rng or random.Random(0)
        self.neurons = [Neuron(nin, activation, rng, name=f"{name}n{j}.") for j in range(nout)]

    def __call__(self, x: list[Value | Number]) -> list[Value]:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class ValueMLP(Module):
    """A multi-layer perceptron of scalar :class:`Value` neurons (slow, every
    number visible); the last layer is linear (no activation).

    ``ValueMLP(2, [4, 4, 1])`` has two inputs, two hidden layers of 4 and one
    output. Parameters are ordered layer by layer, neuron by neuron, each
    neuron's weights then its bias.
    """

    def __init__(self, nin: int, nouts: list[int], activation: str = "tanh",
                 seed: int = 0) -> None:
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
        rng = random.Random(seed)
        sizes = [nin] + list(nouts)
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < len(nouts) - 1 else "linear",
                  rng, name=f"L{i}")
            for i in range(len(nouts))
        ]

    def __call__(self, x: list[Value | Number]) -> list[Value]:
        x = [_as_value(xi) for xi in x]  # one Value per input, shared by all neurons
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]


__all__ = ["Value", "topological_order", "zero_grad", "Module", "Neuron", "Layer", "ValueMLP"]
