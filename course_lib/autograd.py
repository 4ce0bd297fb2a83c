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
from typing import Iterable, Union

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
        return Value(x**p, (self,), (p * x ** (p - 1),), f"**{exponent:g}")

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
    """Something with parameters (a Neuron, a Layer, an MLP)."""

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


class MLP(Module):
    """Layers of neurons; the last layer is linear (no activation).

    ``MLP(2, [4, 4, 1])`` has two inputs, two hidden layers of 4 and one
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


# ----- drawing the graph ----------------------------------------------------


def draw_graph(root: Value, ax=None):
    """Draw ``root``'s computation graph, inputs on the left, ``root`` on the right.

    Each Value is a box showing its label (if any), data and grad; each
    operation is a small circle feeding the Value it produced. The axes hold
    exactly one text per box and one per circle. Returns the Figure.
    Legible up to about 30 Values.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    nodes = topological_order(root)
    column, y = _layout(nodes)

    dx, dy, fontsize = 1.25, 0.75, 8  # spacing in inches; one data unit = one inch
    width = (max(column.values()) + 1) * dx + 0.4
    height = (max(y.values()) - min(y.values()) + 1) * dy + 0.3
    if ax is None:
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0, 0, 1, 1))
    fig = ax.figure
    ax.set_xlim(-dx / 2 - 0.2, width - dx / 2 - 0.2)
    ax.set_ylim(-(max(y.values()) + 0.5) * dy - 0.15, -(min(y.values()) - 0.5) * dy + 0.15)
    ax.axis("off")
    bbox = ax.get_window_extent().transformed(fig.dpi_scale_trans.inverted())
    inches_per_unit = bbox.width / (ax.get_xlim()[1] - ax.get_xlim()[0])
    char_w = 0.6 * fontsize / 72 / inches_per_unit  # width of one monospace character
    pad = 0.4 * fontsize / 72 / inches_per_unit

    def xy(key: tuple[str, int]) -> tuple[float, float]:
        return column[key] * dx, -y[key] * dy

    half_width: dict[tuple[str, int], float] = {}
    for node in nodes:
        lines = ([node.label] if node.label else []) + [f"data {node.data:.4g}", f"grad {node.grad:.4g}"]
        n = max(len(s) for s in lines)
        text = "\n".join(s.ljust(n) for s in lines)
        color = "#cfe8ff" if not node.children else ("#d8f5d0" if node is root else "#f2f2f2")
        ax.text(*xy(("v", id(node))), text, ha="center", va="center", family="monospace",
                fontsize=fontsize, zorder=3,
                bbox=dict(boxstyle="round,pad=0.4", facecolor=color, edgecolor="#555555"))
        half_width[("v", id(node))] = n * char_w / 2 + pad
        if node.children:
            ax.text(*xy(("op", id(node))), node.op, ha="center", va="center",
                    fontsize=fontsize + 1, zorder=3,
                    bbox=dict(boxstyle="circle,pad=0.3", facecolor="#fff2b3", edgecolor="#555555"))
            half_width[("op", id(node))] = (len(node.op) * char_w + 2 * pad) / 2 + pad

    def arrow(a: tuple[str, int], b: tuple[str, int], bend: float = 0.0) -> None:
        (xa, ya), (xb, yb) = xy(a), xy(b)
        if column[b] - column[a] > 1 and abs(ya - yb) < dy / 2:
            bend = bend or -0.3  # a long flat edge would hide behind boxes: arc over them
        ax.add_patch(FancyArrowPatch((xa + half_width[a], ya), (xb - half_width[b], yb),
                                     connectionstyle=f"arc3,rad={bend}", arrowstyle="-|>",
                                     mutation_scale=9, color="#555555", shrinkA=0, shrinkB=0,
                                     zorder=1))

    for node in nodes:
        if node.children:
            for child in set(node.children):
                uses = node.children.count(child)  # a * a: one arrow per use
                for k in range(uses):
                    bend = 0.0 if uses == 1 else 0.4 * k / (uses - 1) - 0.2
                    arrow(("v", id(child)), ("op", id(node)), bend)
            arrow(("op", id(node)), ("v", id(node)))
    return fig


def _layout(nodes: list[Value]) -> tuple[dict, dict]:
    """Columns and rows for the boxes ("v", id) and op circles ("op", id).

    A Value's column is twice its depth (longest path from an input); its op
    sits one column to the left, on the same row. Inputs move right to sit
    just before their first use. Rows are chosen from the output backwards:
    each Value goes near the average row of the ops that use it.
    """
    depth: dict[int, int] = {}
    for node in nodes:  # children first
        depth[id(node)] = 1 + max((depth[id(c)] for c in node.children), default=-1)
    users: dict[int, list[Value]] = {id(n): [] for n in nodes}
    for node in nodes:
        for child in node.children:
            users[id(child)].append(node)
    for node in nodes:
        if not node.children and users[id(node)]:
            depth[id(node)] = min(depth[id(u)] for u in users[id(node)]) - 1

    row: dict[int, float] = {}
    for d in range(max(depth.values()), -1, -1):  # from the output to the inputs
        layer = [n for n in nodes if depth[id(n)] == d]
        wanted = [sum(row[id(u)] for u in users[id(n)]) / len(users[id(n)]) if users[id(n)] else 0.0
                  for n in layer]
        order = sorted(range(len(layer)), key=lambda i: wanted[i])
        placed: list[float] = []
        for i in order:  # keep at least one row between neighbours
            placed.append(wanted[i] if not placed else max(wanted[i], placed[-1] + 1))
        shift = sum(wanted[i] for i in order) / len(order) - sum(placed) / len(placed)
        for i, r in zip(order, placed):
            row[id(layer[i])] = r + shift

    column: dict[tuple[str, int], int] = {}
    y: dict[tuple[str, int], float] = {}
    for node in nodes:
        column[("v", id(node))] = 2 * depth[id(node)]
        y[("v", id(node))] = row[id(node)]
        if node.children:
            column[("op", id(node))] = 2 * depth[id(node)] - 1
            y[("op", id(node))] = row[id(node)]
    return column, y


__all__ = ["Value", "topological_order", "zero_grad", "Module", "Neuron", "Layer", "MLP",
           "draw_graph"]
