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

from course_lib import numpy_nn
from course_lib.autograd import Value, topological_order

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
    fig, ax = plt.subplots(figsize=(11, 2.4))
    ax.set_xlim(0, len(steps) * 1.5)
    ax.set_ylim(-0.05, 1.4)
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
            number = target.rsplit("/", 1)[-1].split("_", 1)[0].lstrip("0")
            if number.isdigit():
                fig.text(x + 0.575, 0.08, f"Chapter {number}", transform=ax.transData, ha="center",
                         va="center", fontsize=9, color="#1f4e9c", url=target + url_suffix)
        if i < len(steps) - 1:
            ax.add_patch(FancyArrowPatch((x + 1.2, 0.7), (x + 1.45, 0.7),
                                         arrowstyle="-|>", mutation_scale=14, color="black"))
    fig.tight_layout()
    return fig


def pipeline_svg(steps: Sequence[tuple[str, str]] = PIPELINE, url_suffix: str = ".html",
                 label: str = "From a random network to an assistant") -> str:
    """``pipeline`` as an inline SVG element whose boxes are links (the Welcome page).

    A PNG cannot hold links; an SVG drawn into the page can. The element
    scales to the width of the page, and ``label`` is its accessible name
    (``role="img"``, ``aria-label`` and a ``<title>``) for screen readers.
    """
    import io
    import re
    from html import escape

    # text stays text (selectable, found by the page search); ids and metadata are fixed,
    # so the same book gives the same page
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "pipeline"}):
        fig = pipeline(steps, url_suffix)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", facecolor="white", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prologue and doctype: this goes inside HTML
    svg = svg.replace(' target="_blank"', "")  # a chapter opens in the same tab, like any link of the book
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                 lambda m: f'<svg{m.group(1)} width="100%" role="img" aria-label="{escape(label)}"',
                 svg, count=1)
    head_end = svg.index(">") + 1
    return svg[:head_end] + f"<title>{escape(label)}</title>" + svg[head_end:]


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
    fig, axes = plt.subplots(1, len(numpy_nn.ACTIVATIONS), figsize=(12, 2.6), sharex=True)
    for ax, (name, f) in zip(axes, numpy_nn.ACTIVATIONS.items()):
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
    out = numpy_nn.ACTIVATIONS[activation](w1 * x1 + w2 * x2 + b)
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


# --- Chapter 2 -----------------------------------------------------------------

def loss_vs_floor(losses: dict[str, float], floor: float,
                  xlabel: str = "held-out loss (nats per word)") -> Figure:
    """One bar per model's loss, with the exact floor (the best any model can do) as a line."""
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.55 * len(losses)))
    names = list(losses)
    ax.barh(names, [losses[n] for n in names], color="tab:blue")
    ax.axvline(floor, color="black", ls="--", lw=1.2)
    ax.text(floor, len(names) - 0.45, f" floor {floor:.2f}", fontsize=9, va="bottom")
    for i, name in enumerate(names):
        ax.text(losses[name], i, f" {losses[name]:.2f} ({losses[name] / floor:.2f} x floor)",
                va="center", fontsize=9)
    ax.set_xlim(0, max(losses.values()) * 1.45)
    ax.set_ylim(-0.6, len(names) - 0.1)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    return fig


def _project_2d(table: np.ndarray) -> np.ndarray:
    """The first two principal components of the rows of ``table``."""
    centred = table - table.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def embedding_maps(tables: dict[str, np.ndarray], words: Sequence[str],
                   groups: Sequence[str]) -> Figure:
    """Each embedding table (rows for ``words``) projected to 2-D, coloured by group."""
    fig, axes = plt.subplots(1, len(tables), figsize=(6 * len(tables), 5))
    names = list(dict.fromkeys(groups))
    colors = dict(zip(names, plt.cm.tab10.colors))
    for ax, (title, table) in zip(np.atleast_1d(axes), tables.items()):
        xy = _project_2d(np.asarray(table, dtype=float))
        for group in names:
            rows = [i for i, g in enumerate(groups) if g == group]
            ax.scatter(xy[rows, 0], xy[rows, 1], color=colors[group], label=group, s=25)
        for (x, y), word in zip(xy, words):
            ax.annotate(word, (x, y), fontsize=7, xytext=(2, 2), textcoords="offset points")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    np.atleast_1d(axes)[-1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def train_test_curves(runs: dict[str, tuple[Sequence[int], Sequence[float], Sequence[float]]],
                      floor: float | None = None, heldout_label: str = "test documents",
                      floor_label: str = "floor (test)") -> Figure:
    """Train and held-out loss against training steps, one panel per run (title -> (steps, train, held-out)).

    ``heldout_label`` names the held-out documents and ``floor_label`` the
    dashed line at ``floor``, the exact floor of those documents' distribution.
    """
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.6), sharey=True)
    # the untrained model's loss (the first point) is far above the rest: leave it off the scale
    top = 1.15 * max(max(list(train[1:]) + list(test[1:])) for _, train, test in runs.values())
    for ax, (title, (steps, train_loss, test_loss)) in zip(np.atleast_1d(axes), runs.items()):
        ax.plot(steps, train_loss, "o-", ms=3, color="tab:blue", label="training documents")
        ax.plot(steps, test_loss, "o-", ms=3, color="tab:orange", label=heldout_label)
        if floor is not None:
            ax.axhline(floor, color="black", ls="--", lw=1, label=floor_label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("training step")
        ax.set_ylim(0, top)
    np.atleast_1d(axes)[0].set_ylabel("loss (nats per word)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def next_word_bars(rows: Sequence[tuple[str, float, float]], prefix: str) -> Figure:
    """A model's probabilities for the next word beside the true ones ((word, model, true) rows)."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r[1] for r in rows], width=0.4, color="tab:blue", label="model")
    ax.bar(x + 0.2, [r[2] for r in rows], width=0.4, color="0.6", label="true")
    ax.set_xticks(x, [r[0] for r in rows], rotation=30)
    ax.set_ylabel("probability")
    ax.set_title(f'next word after "{prefix}"', fontsize=10)
    ax.legend()
    fig.tight_layout()
    return fig


def temperature_bars(dists: dict[str, dict[str, float]], prefix: str) -> Figure:
    """One panel per temperature: the next-word distribution (title -> {word: p})."""
    fig, axes = plt.subplots(1, len(dists), figsize=(3.6 * len(dists), 3.0), sharey=True)
    words = list(next(iter(dists.values())))
    x = np.arange(len(words))
    top = 1.15 * max(max(probs.values()) for probs in dists.values())
    for ax, (title, probs) in zip(np.atleast_1d(axes), dists.items()):
        ax.bar(x, [probs.get(w, 0.0) for w in words], color="tab:blue")
        ax.set_xticks(x, words, rotation=45, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, top)
    np.atleast_1d(axes)[0].set_ylabel(f'P(next word | "{prefix}")', fontsize=9)
    fig.tight_layout()
    return fig


def next_word_model_diagram(context: Sequence[str], n_embd: int, n_hidden: int, vocab_size: int,
                            top: Sequence[tuple[str, float]]) -> Figure:
    """Chapter 2's neural next-word model: context words -> embeddings -> hidden layer -> softmax.

    ``context`` are the words the model reads (its context window), ``top`` a
    few (word, probability) pairs of its output, shown as bars at the right.
    Drawn in dark lines on a white background, so it reads in both themes.
    """
    fig, ax = plt.subplots(figsize=(12, 5.2))
    ax.set_xlim(0, 12.4)
    ax.set_ylim(-0.9, 10.6)
    ax.axis("off")
    n = len(context)
    ys = np.linspace(9.2, 0.6, n)
    rng = np.random.default_rng(0)
    arrow = dict(arrowstyle="-|>", mutation_scale=12, color="0.25", lw=1)
    cell = 1.5 / n_embd
    for y, word in zip(ys, context):
        ax.text(0.9, y, word, ha="center", va="center", fontsize=10,
                bbox=dict(boxstyle="round,pad=0.25", facecolor="#fde9c9", edgecolor="0.3"))
        ax.add_patch(FancyArrowPatch((1.45, y), (2.05, y), **arrow))
        for j, v in enumerate(rng.normal(size=n_embd)):  # the word's row of the embedding table
            ax.add_patch(plt.Rectangle((2.1 + j * cell, y - 0.28), cell, 0.56,
                                       facecolor=plt.cm.coolwarm(0.5 + 0.25 * np.tanh(v)),
                                       edgecolor="0.4", lw=0.3))
        ax.add_patch(FancyArrowPatch((3.65, y), (4.55, y), **{**arrow, "lw": 0.6, "color": "0.55"}))
    # the vectors side by side
    ax.add_patch(FancyBboxPatch((4.6, 0.5), 0.45, 8.8, boxstyle="round,pad=0.05",
                                facecolor="#dbe9f6", edgecolor="0.3"))
    ax.text(4.82, 4.9, f"{n * n_embd} numbers", rotation=90, ha="center", va="center", fontsize=9)
    # the hidden layer
    hy = np.array([8.6, 7.5, 6.4, 3.4, 2.3, 1.2])
    for y in hy:
        for x0, x1 in [(5.1, 6.45), (6.45, 7.9)]:
            for y_box in (1.5, 4.9, 8.3):
                ends = ((x0, y_box), (x1, y)) if x0 == 5.1 else ((x0, y), (x1, y_box))
                ax.plot(*zip(*ends), color="0.7", lw=0.5, zorder=1)
    ax.scatter(np.full(len(hy), 6.45), hy, s=260, facecolor="#c7e3c0", edgecolor="0.3", zorder=3)
    ax.text(6.45, 4.9, "⋮", ha="center", va="center", fontsize=16)
    # the scores and the softmax
    ax.add_patch(FancyBboxPatch((7.95, 0.5), 0.45, 8.8, boxstyle="round,pad=0.05",
                                facecolor="#e8dcf2", edgecolor="0.3"))
    ax.text(8.17, 4.9, f"{vocab_size} scores", rotation=90, ha="center", va="center", fontsize=9)
    ax.add_patch(FancyArrowPatch((8.5, 4.9), (9.25, 4.9), **arrow))
    ax.text(8.87, 5.15, "softmax", ha="center", va="bottom", fontsize=9)
    # the probabilities of a few words
    py = np.linspace(8.2, 1.6, len(top))
    width = 1.8  # a probability of 1 fills the column
    for y, (word, p) in zip(py, top):
        ax.text(10.05, y, word, ha="right", va="center", fontsize=9)
        ax.add_patch(plt.Rectangle((10.15, y - 0.25), p * width, 0.5, facecolor="tab:blue"))
        ax.text(10.2 + p * width, y, f"{p:.2f}", va="center", fontsize=8)
    labels = [(0.9, "the last\nwords read"), (2.85, f"embeddings\n({n_embd} numbers each)"),
              (4.82, "side by\nside"), (6.45, f"hidden layer\n({n_hidden} tanh neurons)"),
              (8.17, "one score\nper token"), (11.0, "probability\nof the next word")]
    for x, text in labels:
        ax.text(x, 10.3, text, ha="center", va="top", fontsize=9, weight="bold")
    ax.text(11.0, 0.6, f"(the top {len(top)} of {vocab_size})", ha="center", fontsize=8, color="0.3")
    fig.tight_layout()
    return fig


# --- Chapter 3 -----------------------------------------------------------------

def scores_to_probabilities(words: Sequence[str], scores: Sequence[float],
                            probs: Sequence[float], highlight: str | None = None) -> Figure:
    """Two bar charts: a model's raw scores (logits) and the probabilities softmax makes of them."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    colors = ["tab:orange" if w == highlight else "tab:blue" for w in words]
    left.bar(words, scores, color=colors)
    left.axhline(0, color="0.5", lw=0.8)
    left.set_title("scores (logits): any real numbers")
    right.bar(words, probs, color=colors)
    right.set_ylim(0, 1)
    right.set_title("probabilities: positive, sum to 1")
    for i, p in enumerate(probs):
        right.text(i, p + 0.02, f"{p:.2f}", ha="center", fontsize=9)
    for ax in (left, right):
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def loss_of_probability(marked: Sequence[float] = (), word: str = "store") -> Figure:
    """The loss of one prediction, -log p, as the probability p of the right word rises."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    p = np.linspace(0.005, 1.0, 400)
    ax.plot(p, -np.log(p), lw=2)
    for q in marked:
        ax.scatter([q], [-np.log(q)], color="tab:orange", zorder=3)
        ax.annotate(f"p = {q:.2f}\nloss = {-np.log(q):.2f}", (q, -np.log(q)),
                    textcoords="offset points", xytext=(8, 6), fontsize=9)
    ax.set_xlabel(f'probability the model gives to "{word}"')
    ax.set_ylabel("loss = -log p")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, None)
    fig.tight_layout()
    return fig


def knob_slices(loss_at: Callable[[dict[str, float]], float], values: dict[str, float],
                start: dict[str, float] | None = None, span: float = 1.5) -> Figure:
    """The knobs picture: the loss as each knob alone is turned, the others held fixed.

    ``loss_at(knobs)`` is the loss for a dict of knob values. One panel per
    knob; the dot is the current setting; the dashed lines mark 3 times and
    an eighth of the loss at ``start`` (default: ``values``).
    The static twin of :func:`course_lib.widgets.knobs_widget`.
    """
    start = dict(values) if start is None else start
    base = loss_at(start)
    current = loss_at(values)
    fig, axes = plt.subplots(1, len(values), figsize=(3.3 * len(values), 3.0), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), values):
        xs = np.linspace(values[name] - span, values[name] + span, 121)
        ax.plot(xs, [loss_at({**values, name: x}) for x in xs], lw=2)
        ax.scatter([values[name]], [current], color="tab:orange", zorder=3)
        for factor, label in ((3.0, "3 x start"), (1 / 8, "start / 8")):
            ax.axhline(base * factor, color="0.5", ls="--", lw=0.8)
            ax.text(xs[0], base * factor, label, fontsize=8, va="bottom", color="0.3")
        ax.set_xlabel(f"knob {name}")
        ax.set_yscale("log")
    np.atleast_1d(axes)[0].set_ylabel("loss (log scale)")
    fig.suptitle(f"loss {current:.3g} ({current / base:.2g} x the start)", fontsize=10)
    fig.tight_layout()
    return fig


def gradient_field(f: Callable[[np.ndarray, np.ndarray], np.ndarray],
                   grad: Callable[[np.ndarray], np.ndarray],
                   extent: tuple[float, float, float, float] = (-4, 4, -3, 3)) -> Figure:
    """A 2-D loss surface as contour lines, with gradient arrows pointing uphill."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    _contours(ax, f, extent)
    gx, gy = np.meshgrid(np.linspace(extent[0], extent[1], 9)[1:-1],
                         np.linspace(extent[2], extent[3], 7)[1:-1])
    arrows = np.array([grad(np.array([a, b])) for a, b in zip(gx.ravel(), gy.ravel())])
    ax.quiver(gx.ravel(), gy.ravel(), arrows[:, 0], arrows[:, 1], color="tab:red",
              angles="xy", scale_units="xy", scale=12, width=0.004)
    ax.set_title("gradient arrows point uphill; longer = steeper")
    fig.tight_layout()
    return fig


def _contours(ax: plt.Axes, f: Callable[[np.ndarray, np.ndarray], np.ndarray],
              extent: tuple[float, float, float, float]) -> None:
    xs = np.linspace(extent[0], extent[1], 200)
    ys = np.linspace(extent[2], extent[3], 200)
    gx, gy = np.meshgrid(xs, ys)
    z = f(gx, gy)
    levels = np.quantile(z, np.linspace(0.0, 1.0, 16) ** 2)
    ax.contourf(gx, gy, z, levels=np.unique(levels), cmap="viridis_r", alpha=0.8)
    ax.contour(gx, gy, z, levels=np.unique(levels), colors="white", linewidths=0.5)
    ax.scatter([xs[np.argmin(z.min(axis=0))]], [ys[np.argmin(z.min(axis=1))]], marker="*",
               s=150, color="white", edgecolor="black", zorder=3)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")


def descent_panel(f: Callable[[np.ndarray, np.ndarray], np.ndarray], path: np.ndarray,
                  title: str = "", extent: tuple[float, float, float, float] = (-4, 4, -3, 3),
                  ax: plt.Axes | None = None) -> Figure:
    """The points of a gradient descent run (``path``, shape (steps + 1, 2)) on a loss surface."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.6))
    fig = ax.figure
    _contours(ax, f, extent)
    path = np.asarray(path, dtype=float)
    ax.plot(path[:, 0], path[:, 1], "-o", color="tab:red", ms=3, lw=1.2, clip_on=True)
    ax.scatter(path[:1, 0], path[:1, 1], color="white", edgecolor="black", s=50, zorder=4)
    ax.set_title(title, fontsize=10)
    return fig


def descent_panels(f: Callable[[np.ndarray, np.ndarray], np.ndarray], paths: dict[str, np.ndarray],
                   extent: tuple[float, float, float, float] = (-4, 4, -3, 3)) -> Figure:
    """Several descent runs side by side (one per title): the static twin of the learning-rate widget."""
    fig, axes = plt.subplots(1, len(paths), figsize=(4.4 * len(paths), 3.6))
    for ax, (title, path) in zip(np.atleast_1d(axes), paths.items()):
        descent_panel(f, path, title, extent, ax=ax)
    fig.tight_layout()
    return fig


def training_curve(steps: Sequence[int], train_loss: Sequence[float],
                   eval_steps: Sequence[int] = (), eval_loss: Sequence[float] = (),
                   floor: float | None = None, ax: plt.Axes | None = None,
                   eval_label: str = "held-out loss") -> Figure:
    """Loss against training steps: each mini-batch's loss, its running mean, the
    evaluated loss (legend ``eval_label``) and, if given, the best loss any model
    can reach on the evaluated documents (``floor``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    fig = ax.figure
    ax.plot(steps, train_loss, color="tab:blue", alpha=0.3, lw=0.8, label="mini-batch loss")
    window = max(1, len(train_loss) // 20)
    smooth = np.convolve(train_loss, np.ones(window) / window, mode="valid")
    ax.plot(list(steps)[window - 1:], smooth, color="tab:blue", lw=2, label="running mean")
    if len(eval_steps):
        ax.plot(eval_steps, eval_loss, "o-", color="tab:orange", label=eval_label)
    if floor is not None:
        ax.axhline(floor, color="black", ls="--", lw=1, label="best possible (exact)")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (nats per word)")
    ax.set_ylim(0, None)
    ax.legend()
    fig.tight_layout()
    return fig


# The computation graph of an autograd Value (Chapter 3, "Backpropagation, by hand and by machine").

def draw_graph(root: Value, ax: plt.Axes | None = None) -> Figure:
    """Draw the computation graph of an ``autograd.Value``, inputs on the left, ``root`` on the right.

    Each Value is a box showing its label (if any), data and grad; each
    operation is a small circle feeding the Value it produced. The axes hold
    exactly one text per box and one per circle. Returns the Figure.
    Legible up to about 30 Values.
    """
    nodes = topological_order(root)
    column, y = _graph_layout(nodes)

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


def _graph_layout(nodes: list[Value]) -> tuple[dict, dict]:
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


# --- Chapter 4 -----------------------------------------------------------------

def heatmap(values: np.ndarray, xlabels: Sequence[str] | None = None,
            ylabels: Sequence[str] | None = None, title: str = "", xlabel: str = "",
            ylabel: str = "", cmap: str = "viridis", vmin: float | None = None,
            vmax: float | None = None, ax: plt.Axes | None = None) -> Figure:
    """A matrix as coloured cells (attention weights, position encodings, masks)."""
    values = np.asarray(values, dtype=float)
    if ax is None:
        width = min(10.0, 2.0 + 0.35 * values.shape[1]) if xlabels is not None else 7.0
        _, ax = plt.subplots(figsize=(width, width * 0.8 if ylabels is not None else 3.5))
    fig = ax.figure
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    fig.colorbar(image, ax=ax, shrink=0.85)
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), list(xlabels), rotation=90, fontsize=8)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), list(ylabels), fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def gradient_norms(norms: Sequence[float], title: str = "") -> Figure:
    """How strongly the loss at the last step reacts to the input at each earlier step."""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.semilogy(range(len(norms)), list(norms), marker="o", ms=3)
    ax.set_xlabel("time step of the input (the loss is computed at the last step)")
    ax.set_ylabel("gradient norm (log scale)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def timings(lengths: Sequence[int], seconds: dict[str, Sequence[float]]) -> Figure:
    """Time of one pass against sequence length, one line per method, log-log."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in seconds.items():
        ax.loglog(list(lengths), [1000 * s for s in values], marker="o", label=label)
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel("milliseconds per pass")
    ax.legend()
    fig.tight_layout()
    return fig


# Chapter 4: attention in steps, the diagrams of a GPT and of one block, the two curves.
# Mid-tone colours and dark-grey lines on the white figure background, which reads
# in the website's light and dark themes alike.

STEP_COLOR, FOCUS_COLOR = "#5b8fc7", "#e07b39"


def attention_step(labels: Sequence[str], values: Sequence[float], title: str, ylabel: str,
                   focus: int | None = None, fmt: str = "{:.2f}") -> Figure:
    """One step of attention for one query token: a bar per earlier token, its value written on it.

    ``focus`` (an index into ``labels``) is drawn in the accent colour.
    """
    values = [float(v) for v in values]
    fig, ax = plt.subplots(figsize=(max(6.4, 0.62 * len(values)), 2.6))
    colors = [FOCUS_COLOR if i == focus else STEP_COLOR for i in range(len(values))]
    bars = ax.bar(range(len(values)), values, color=colors, edgecolor="0.25")
    for bar, value in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, value, fmt.format(value), ha="center",
                va="bottom" if value >= 0 else "top", fontsize=9)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xticks(range(len(labels)), list(labels), rotation=45 if len(labels) > 8 else 0)
    low, high = min(0.0, *values), max(0.0, *values)
    pad = 0.2 * (high - low or 1.0)
    ax.set_ylim(low - (pad if low < 0 else 0), high + pad)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def attention_vectors(labels: Sequence[str], vectors: np.ndarray, weights: Sequence[float] | None = None,
                      total: np.ndarray | None = None, title: str = "",
                      axis_names: tuple[str, str] = ("dimension 1", "dimension 2")) -> Figure:
    """2-D vectors as arrows from the origin: each token's value (faint), scaled by its weight
    (solid) when ``weights`` are given, and their sum ``total`` (thick, accent colour)."""
    vectors = np.asarray(vectors, dtype=float)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.axhline(0, color="0.75", lw=0.8)
    ax.axvline(0, color="0.75", lw=0.8)
    arrow = dict(arrowstyle="-|>", mutation_scale=12)
    points = [np.zeros(2)]
    for i, (label, v) in enumerate(zip(labels, vectors)):
        ax.add_patch(FancyArrowPatch((0, 0), tuple(v), color="0.6", lw=1, ls="--", **arrow))
        ax.text(v[0], v[1], f" {label}", fontsize=9, color="0.35", va="center")
        points.append(v)
        if weights is not None:
            scaled = float(weights[i]) * v
            ax.add_patch(FancyArrowPatch((0, 0), tuple(scaled), color=STEP_COLOR, lw=2, **arrow))
    if total is not None:
        total = np.asarray(total, dtype=float)
        ax.add_patch(FancyArrowPatch((0, 0), tuple(total), color=FOCUS_COLOR, lw=3, **arrow))
        ax.text(total[0], total[1], "  output", fontsize=10, color=FOCUS_COLOR, weight="bold",
                va="bottom")
        points.append(total)
    points = np.array(points)
    span = max(1.0, float(np.abs(points).max())) * 1.25
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _box(ax: plt.Axes, x: float, y: float, w: float, h: float, text: str, color: str,
         fontsize: int = 10) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.06",
                                facecolor=color, edgecolor="0.25", lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color="black")


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float], **style) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13,
                                 color=style.pop("color", "0.25"), lw=style.pop("lw", 1.3), **style))


def gpt_diagram(n_layer: int, n_embd: int, vocab_size: int, block_size: int) -> Figure:
    """A GPT from bottom to top: token ids -> token embeddings + position embeddings ->
    ``n_layer`` blocks -> layer norm -> a score for every token of the vocabulary."""
    fig, ax = plt.subplots(figsize=(6.2, 6.4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10.3)
    ax.axis("off")
    x = 5.0
    ax.text(x, 0.4, f"token ids (up to {block_size} of them)", ha="center", va="center", fontsize=10)
    _box(ax, 3.0, 1.9, 4.0, 0.9, f"token embedding\n({vocab_size} × {n_embd} table)", "#f3c98b", 9)
    _box(ax, 7.4, 1.9, 3.6, 0.9, f"position embedding\n({block_size} × {n_embd} table)", "#f3c98b", 9)
    _arrow(ax, (3.8, 0.65), (3.2, 1.4))
    _arrow(ax, (6.2, 0.65), (7.2, 1.4))
    ax.text(x, 3.05, "+", ha="center", va="center", fontsize=18)
    _arrow(ax, (3.0, 2.4), (4.6, 2.95))
    _arrow(ax, (7.4, 2.4), (5.4, 2.95))
    _arrow(ax, (x, 3.35), (x, 3.95))
    top = 4.0
    shown = min(n_layer, 3)
    for i in range(shown):
        y = top + 0.55 + i * 1.35
        label = f"block {i + 1}" if i < shown - 1 or shown == n_layer else f"block {n_layer}"
        _box(ax, x, y, 5.2, 0.9, f"{label}: attention + MLP", "#a9c8e8")
        _arrow(ax, (x, y + 0.5), (x, y + 0.85))
        if shown < n_layer and i == shown - 2:
            ax.text(x + 3.3, y + 0.68, "⋮", ha="center", va="center", fontsize=14)
    ax.text(x - 3.4, top + 0.55 + (shown - 1) * 0.675, f"× {n_layer}", ha="center", va="center",
            fontsize=14, weight="bold", color="0.3")
    y = top + 0.55 + shown * 1.35
    _box(ax, x, y, 3.4, 0.8, "layer norm", "#c9c9c9")
    _arrow(ax, (x, y + 0.45), (x, y + 0.85))
    y += 1.3
    _box(ax, x, y, 5.2, 0.9, f"output layer: a score for each\nof the {vocab_size} tokens "
         "(the token table again)", "#c7e3c0", 9)
    _arrow(ax, (x, y + 0.5), (x, y + 0.9))
    ax.text(x, y + 1.2, "softmax: probability of the next token", ha="center", va="center",
            fontsize=10)
    fig.tight_layout()
    return fig


def block_diagram() -> Figure:
    """One pre-norm transformer block: x -> layer norm -> attention -> add to x, then
    layer norm -> MLP -> add, the residual paths drawn beside the two branches."""
    fig, ax = plt.subplots(figsize=(6.2, 7.4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 12.4)
    ax.axis("off")
    main, side = 4.2, 8.3
    ax.text(main, 0.35, "x: one vector per token (from below)", ha="center", va="center", fontsize=10)
    stages = [(1.6, "layer norm", "#c9c9c9"), (3.2, "multi-head attention\n(tokens exchange information)", "#a9c8e8"),
              (6.6, "layer norm", "#c9c9c9"), (8.2, "MLP: widen 4×, GELU, back\n(each token on its own)", "#f3c98b")]
    for y, text, color in stages:
        _box(ax, main, y, 4.8, 0.95, text, color, 9)
    for y_add in (4.85, 9.85):
        ax.add_patch(plt.Circle((main, y_add), 0.35, facecolor="white", edgecolor="0.25", lw=1.2))
        ax.text(main, y_add, "+", ha="center", va="center", fontsize=14)
    _arrow(ax, (main, 0.6), (main, 1.1))
    _arrow(ax, (main, 2.1), (main, 2.7))
    _arrow(ax, (main, 3.7), (main, 4.5))
    _arrow(ax, (main, 5.2), (main, 6.1))
    _arrow(ax, (main, 7.1), (main, 7.7))
    _arrow(ax, (main, 8.7), (main, 9.5))
    _arrow(ax, (main, 10.2), (main, 11.1))
    residual = dict(color=FOCUS_COLOR, lw=2)
    for y0, y1 in ((0.9, 4.85), (5.55, 9.85)):
        ax.plot([main, side, side], [y0, y0, y1], color=FOCUS_COLOR, lw=2)
        _arrow(ax, (side, y1), (main + 0.38, y1), **residual)
    ax.text(side + 0.15, 2.9, "residual\npath: x goes\naround and\nis added\nback", fontsize=9,
            color="0.2", va="center")
    ax.text(side + 0.15, 7.7, "residual\npath", fontsize=9, color="0.2", va="center")
    ax.text(main, 11.5, "x: the same shape, to the next block", ha="center", va="center", fontsize=10)
    fig.tight_layout()
    return fig


def two_measurements(steps: Sequence[int], train_loss: Sequence[float], eval_steps: Sequence[int],
                     iid_loss: Sequence[float], iid_floor: float, test_loss: Sequence[float],
                     test_floor: float) -> Figure:
    """Training curves with the two measurements kept apart: fresh documents of the training
    distribution against their floor, and held-out combinations against theirs."""
    fig, ax = plt.subplots(figsize=(7.4, 4.0))
    ax.plot(steps, train_loss, color="0.55", alpha=0.35, lw=0.8, label="mini-batch loss (training)")
    ax.plot(eval_steps, iid_loss, "o-", color=STEP_COLOR, ms=4,
            label="fresh documents of the training distribution")
    ax.axhline(iid_floor, color=STEP_COLOR, ls="--", lw=1.2, label="their exact floor")
    ax.plot(eval_steps, test_loss, "s-", color=FOCUS_COLOR, ms=4, label="held-out combinations (test split)")
    ax.axhline(test_floor, color=FOCUS_COLOR, ls=":", lw=1.5, label="their exact floor")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (nats per prediction)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --- Chapter 5 -----------------------------------------------------------------

def assistant_pipeline() -> Figure:
    """Chapter 5's diagram: from the course text to an assistant, step by step.

    Rounded, filled boxes are models; square, outlined boxes are training
    steps; plain italic text is the data each step learns from. Mid-tone
    colours and black text on the figure's own white background keep it
    readable in the site's light and dark themes.
    """
    fig, ax = plt.subplots(figsize=(11, 4.4))
    ax.set_xlim(0, 15.2)
    ax.set_ylim(0, 5.2)
    ax.axis("off")
    model_color, step_color, data_color = "#9ecae1", "#fdd49e", "#555555"

    def box(x, y, label, kind, w=1.9, h=0.95):
        style = "round,pad=0.06,rounding_size=0.25" if kind == "model" else "square,pad=0.06"
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=style,
                                    facecolor=model_color if kind == "model" else step_color,
                                    edgecolor="#333333", linewidth=1.2))
        ax.text(x, y, label, ha="center", va="center", fontsize=10, color="black",
                weight="bold" if kind == "model" else "normal")

    def data(x, y, label):
        ax.text(x, y, label, ha="center", va="center", fontsize=9, style="italic",
                color=data_color)

    def arrow(start, end, dashed=False):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13,
                                     color="#333333", linewidth=1.2,
                                     linestyle="--" if dashed else "-",
                                     shrinkA=0, shrinkB=0))

    y = 2.5                                     # the main row
    data(1.0, y, "course text\n(Chapters 2-4)")
    box(3.0, y, "pretraining", "step", w=1.7)
    box(5.2, y, "base model", "model", w=1.6)
    box(7.6, y, "supervised\nfine-tuning", "step", w=1.8)
    box(10.0, y, "SFT model", "model", w=1.6)
    box(12.2, y, "RLHF", "step", w=1.3)
    box(14.3, y, "assistant", "model", w=1.5)
    for x0, x1 in ((1.75, 2.15), (3.85, 4.4), (6.0, 6.7), (8.5, 9.2), (10.8, 11.55),
                   (12.85, 13.55)):
        arrow((x0, y), (x1, y))
    # SFT learns from answers people wrote
    data(7.6, 4.45, "answers written\nby people")
    arrow((7.6, 4.0), (7.6, y + 0.53))
    # preferences -> reward model -> RLHF
    data(9.9, 4.3, "preference pairs:\npeople's choices\nbetween two answers")
    box(12.2, 4.3, "reward model", "model", w=1.9, h=0.7)
    arrow((10.95, 4.3), (11.2, 4.3))
    arrow((12.2, 3.95), (12.2, y + 0.53))
    # DPO: the same pairs, no reward model
    box(12.2, 0.7, "DPO", "step", w=1.3, h=0.7)
    data(9.7, 0.7, "the same preference pairs")
    arrow((10.95, 0.7), (11.55, 0.7))
    arrow((10.6, y - 0.45), (11.6, 0.95))
    arrow((12.85, 0.9), (13.8, y - 0.5))
    ax.text(12.85, 1.55, "or", ha="left", va="center", fontsize=9, color=data_color)
    fig.tight_layout()
    return fig
