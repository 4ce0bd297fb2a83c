"""Chapter 3's figures and widgets draw what they promise."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import plots, widgets  # noqa: E402
from course_lib.autograd import Value, topological_order  # noqa: E402


def teardown_function():
    plt.close("all")


def bowl(w1, w2):
    return 0.5 * (w1**2 + 10 * w2**2)


def bowl_grad(w):
    return np.array([w[0], 10 * w[1]])


def descend(lr, steps=10):
    path = [np.array([-3.0, 2.0])]
    for _ in range(steps):
        path.append(path[-1] - lr * bowl_grad(path[-1]))
    return np.array(path)


def knob_loss(knobs):
    return (knobs["a"] - 1.0) ** 2 + 2 * (knobs["b"] + 0.5) ** 2 + 0.1


def test_scores_to_probabilities_shows_both_sides():
    fig = plots.scores_to_probabilities(["x", "y"], [1.0, -1.0], [0.88, 0.12], highlight="y")
    left, right = fig.axes
    assert len(left.patches) == len(right.patches) == 2
    assert right.get_ylim() == (0.0, 1.0)
    assert [t.get_text() for t in right.texts] == ["0.88", "0.12"]
    assert left.patches[1].get_facecolor() != left.patches[0].get_facecolor()


def test_loss_of_probability_marks_points_on_the_curve():
    fig = plots.loss_of_probability(marked=[0.1, 0.5])
    ax = fig.axes[0]
    x, y = ax.lines[0].get_data()
    assert np.allclose(y, -np.log(x))
    offsets = np.vstack([c.get_offsets() for c in ax.collections])
    assert np.allclose(offsets, [[0.1, -np.log(0.1)], [0.5, -np.log(0.5)]])


def test_knob_slices_one_panel_per_knob():
    fig = plots.knob_slices(knob_loss, {"a": 1.0, "b": 0.0}, span=1.0)
    axes = fig.axes
    assert [ax.get_xlabel() for ax in axes] == ["knob a", "knob b"]
    xs, ys = axes[1].lines[0].get_data()
    assert np.allclose(ys, [knob_loss({"a": 1.0, "b": x}) for x in xs])
    base = knob_loss({"a": 1.0, "b": 0.0})
    levels = sorted(line.get_ydata()[0] for line in axes[0].lines[1:])
    assert levels == pytest.approx([base / 8, 3 * base])
    moved = plots.knob_slices(knob_loss, {"a": 1.0, "b": -0.5}, start={"a": 1.0, "b": 0.0})
    assert "0.17 x the start" in moved._suptitle.get_text()  # 0.1 / 0.6


def test_gradient_field_draws_uphill_arrows():
    fig = plots.gradient_field(bowl, bowl_grad)
    quiver = [c for c in fig.axes[0].collections if isinstance(c, matplotlib.quiver.Quiver)][0]
    points = quiver.get_offsets()
    uphill = np.sum(np.column_stack([quiver.U, quiver.V]) * points, axis=1)
    assert np.all(uphill >= 0)  # the bowl rises away from the origin


def test_descent_panels_show_each_path():
    paths = {"small": descend(0.01), "good": descend(0.15), "large": descend(0.21)}
    fig = plots.descent_panels(bowl, paths)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == list(paths)
    for ax, path in zip(fig.axes, paths.values()):
        assert np.allclose(np.column_stack(ax.lines[0].get_data()), path)


def test_training_curve_with_floor_and_eval():
    steps = list(range(1, 101))
    loss = list(np.linspace(3, 1, 100))
    fig = plots.training_curve(steps, loss, [0, 50, 100], [3.0, 2.0, 1.0], floor=0.5)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["mini-batch loss", "running mean", "held-out loss", "best possible (exact)"]
    assert ax.lines[-1].get_ydata()[0] == 0.5
    fig = plots.training_curve(steps, loss, [0, 100], [3.0, 1.0], eval_label="fresh documents")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][2] == "fresh documents"


def test_knobs_widget_redraws_when_a_knob_turns(monkeypatch):
    drawn = []
    real = plots.knob_slices
    monkeypatch.setattr(plots, "knob_slices", lambda *a, **kw: drawn.append((a, kw)) or real(*a, **kw))
    widget = widgets.knobs_widget(knob_loss, {"a": 1.0, "b": 0.0})
    sliders, output = widget.children
    assert isinstance(output, ipywidgets.Output)
    assert [s.description for s in sliders.children] == ["knob a", "knob b"]
    sliders.children[1].value = -0.5
    (_, values), kwargs = drawn[-1][0], drawn[-1][1]
    assert values == {"a": 1.0, "b": -0.5}
    assert kwargs["start"] == {"a": 1.0, "b": 0.0}


def test_learning_rate_widget_follows_the_slider(monkeypatch):
    titles = []
    real = plots.descent_panel
    monkeypatch.setattr(plots, "descent_panel", lambda f, path, title, *a: titles.append(title) or real(f, path, title, *a))
    widget = widgets.learning_rate_widget(bowl, descend, lr=0.1)
    slider, output = widget.children
    assert isinstance(slider, ipywidgets.FloatLogSlider) and isinstance(output, ipywidgets.Output)
    slider.value = 0.21
    assert titles[0].startswith("learning rate 0.1:")
    assert titles[-1].startswith("learning rate 0.21:")
    assert float(titles[-1].split("final loss ")[1]) == pytest.approx(bowl(*descend(0.21)[-1]), rel=1e-2)


def test_code_the_chapter_shows_is_where_it_says():
    """Chapter 3 shows library code with literalinclude: the targets must exist,
    and each function it shows says so in its docstring."""
    import inspect
    import re
    from pathlib import Path

    from course_lib import autograd, train

    chapter = (Path(__file__).resolve().parent.parent / "book" / "chapters" / "03_learning.md").read_text()
    shown = re.findall(r":pyobject: Value\.(\w+)", chapter)
    assert shown == ["__mul__", "backward"]
    for name in shown:
        assert "Shown in Chapter 3" in inspect.getdoc(getattr(autograd.Value, name))
    source = inspect.getsource(train)
    for marker in re.findall(r":(?:start-after|end-before): (.+)", chapter):
        assert source.count(marker) == 1, marker
    assert "Shown in Chapter 3" in inspect.getdoc(train.fit)
    start = source.index("Chapter 3 shows the loop from here")
    loop = source[start:source.index("Chapter 3 shows the loop up to here")]
    for step in ("get_batch(generator)", "loss.backward()", "opt.step()"):
        assert step in loop


def test_draw_graph_one_text_per_node():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b + a
    c.label = "c"
    out = c.tanh()
    out.backward()
    fig = plots.draw_graph(out)
    assert isinstance(fig, matplotlib.figure.Figure)
    nodes = topological_order(out)
    ops = [n for n in nodes if n.children]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == len(nodes) + len(ops)
    assert any(t.split("\n")[0].strip() == "a" and "data 2" in t for t in texts)
    assert sum("tanh" == t for t in texts) == 1
    fig.canvas.draw()  # renders without error
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3))  # an axes from the caller
    assert plots.draw_graph(Value(1.0, label="x"), ax=ax) is fig
    assert len(ax.texts) == 1
    plt.close(fig)
