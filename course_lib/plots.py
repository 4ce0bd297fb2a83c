"""Every figure of the course, drawn with matplotlib.

Each function draws one kind of figure and returns the matplotlib Figure, so
that a chapter can show it and a test can inspect it.
"""

from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from course_lib import nn

# --- the course pipeline (Welcome page) ---------------------------------------

PIPELINE: list[tuple[str, str]] = [
    ("random\nnetwork", "chapters/01_neural_networks"),
    ("pretraining", "chapters/02_pretraining"),
    ("base\nmodel", "chapters/02_pretraining"),
    ("supervised\nfine-tuning", "chapters/05_finetuning"),
    ("reward\nmodel", "chapters/05_finetuning"),
    ("RLHF", "chapters/05_finetuning"),
    ("assistant", "chapters/05_finetuning"),
]


def pipeline(steps: Sequence[tuple[str, str]] = PIPELINE, url_suffix: str = ".html") -> Figure:
    """Boxes from a random network to an assistant.

    ``steps`` pairs a label with its chapter's page; a box with a page links
    to it when the figure is saved as SVG, a box with ``""`` does not.
    """
    fig, ax = plt.subplots(figsize=(11, 2.2))
    ax.set_xlim(0, len(steps) * 1.5)
    ax.set_ylim(0, 1.4)
    ax.axis("off")
    colors = plt.cm.viridis(np.linspace(0.15, 0.85, len(steps)))
    for i, ((label, target), color) in enumerate(zip(steps, colors)):
        x = i * 1.5 + 0.1
        box = FancyBboxPatch((x, 0.25), 1.15, 0.9, boxstyle="round,pad=0.04",
                             facecolor=color, edgecolor="black", alpha=0.9)
        ax.add_patch(box)
        text = ax.text(x + 0.575, 0.7, label, ha="center", va="center", fontsize=10,
                       color="white" if i < len(steps) - 2 else "black", weight="bold")
        if target:  # a link, where the chapter exists (kept in SVG output)
            box.set_url(target + url_suffix)
            text.set_url(target + url_suffix)
        if i < len(steps) - 1:
            ax.add_patch(FancyArrowPatch((x + 1.2, 0.7), (x + 1.45, 0.7),
                                         arrowstyle="-|>", mutation_scale=14, color="black"))
    fig.tight_layout()
    return fig


# --- Chapter 1 -----------------------------------------------------------------

def network_diagram(layer_sizes: Sequence[int], ax: plt.Axes | None = None) -> Figure:
    """Circles for neurons in layers, lines for the weights that join them."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    fig = ax.figure
    top = max(layer_sizes)
    positions = []
    for i, size in enumerate(layer_sizes):
        ys = np.linspace(0, top - 1, size) if size > 1 else np.array([(top - 1) / 2])
        positions.append([(i, y) for y in ys])
    for left, right in zip(positions[:-1], positions[1:]):
        for x0, y0 in left:
            for x1, y1 in right:
                ax.plot([x0, x1], [y0, y1], color="0.6", lw=0.8, zorder=1)
    for i, layer in enumerate(positions):
        color = "tab:green" if i == 0 else ("tab:orange" if i == len(positions) - 1 else "tab:blue")
        for x, y in layer:
            ax.scatter([x], [y], s=350, color=color, edgecolor="black", zorder=2)
    names = ["input"] + ["hidden"] * (len(layer_sizes) - 2) + ["output"]
    for i, name in enumerate(names):
        ax.text(i, -0.9, f"{name}\n({layer_sizes[i]})", ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5, len(layer_sizes) - 0.5)
    ax.set_ylim(-1.8, top - 0.3)
    ax.axis("off")
    return fig


def activations(zmin: float = -4.0, zmax: float = 4.0) -> Figure:
    """The identity, ReLU, sigmoid and tanh side by side."""
    z = np.linspace(zmin, zmax, 401)
    fig, axes = plt.subplots(1, len(nn.ACTIVATIONS), figsize=(12, 2.6), sharex=True)
    for ax, (name, f) in zip(axes, nn.ACTIVATIONS.items()):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.plot(z, f(z), lw=2)
        ax.set_title(name)
        ax.set_xlabel("z")
    fig.tight_layout()
    return fig


def neuron_response(w1: float, w2: float, b: float, activation: str = "sigmoid",
                    ax: plt.Axes | None = None) -> Figure:
    """A two-input neuron's output over the (x1, x2) plane, as a colour map."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.4))
    fig = ax.figure
    grid = np.linspace(-3, 3, 121)
    x1, x2 = np.meshgrid(grid, grid)
    out = nn.ACTIVATIONS[activation](w1 * x1 + w2 * x2 + b)
    image = ax.contourf(x1, x2, out, levels=20, cmap="RdBu_r")
    fig.colorbar(image, ax=ax, shrink=0.85, label="output")
    if abs(w2) > 1e-9:  # the line where the weighted sum plus bias is zero
        ax.plot(grid, -(w1 * grid + b) / w2, color="black", lw=1, ls="--")
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(f"{activation}({w1:g}·x1 + {w2:g}·x2 + {b:g})", fontsize=9)
    return fig


def neuron_gallery(settings: Sequence[tuple[float, float, float, str]]) -> Figure:
    """Several neuron settings side by side: the static twin of the neuron widget."""
    fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 3.4))
    for ax, (w1, w2, b, activation) in zip(np.atleast_1d(axes), settings):
        neuron_response(w1, w2, b, activation, ax=ax)
    fig.tight_layout()
    return fig


def decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray,
                      title: str = "", ax: plt.Axes | None = None) -> Figure:
    """A classifier's probability of label 1 over the plane, with the data on top."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    fig = ax.figure
    pad = 0.5
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 150)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 150)
    gx, gy = np.meshgrid(xs, ys)
    prob = predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolor="black", s=18)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def parameter_scale(names: Sequence[str], counts: Sequence[float]) -> Figure:
    """Parameter counts on a log scale, one bar per model."""
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.5 * len(names)))
    ax.barh(list(names), list(counts), color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel("parameters (log scale)")
    for i, count in enumerate(counts):
        ax.text(count * 1.3, i, f"{count:,.0f}", va="center", fontsize=9)
    ax.set_xlim(1, max(counts) * 500)
    fig.tight_layout()
    return fig
