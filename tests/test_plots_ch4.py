"""Chapter 4's figures in course_lib.plots draw what they promise."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from course_lib import plots


def teardown_function():
    plt.close("all")


def test_heatmap_shows_the_matrix_with_its_labels():
    values = np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None]
    fig = plots.heatmap(values, xlabels=["a", "b", "c"], ylabels=["a", "b", "c"], title="weights")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), values)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_title() == "weights"
    assert len(fig.axes) == 2                     # the matrix and its colour bar


def test_gradient_norms_on_a_log_scale():
    fig = plots.gradient_norms([1e-6, 1e-3, 1.0], title="rnn")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1e-6, 1e-3, 1.0])


def test_timings_one_line_per_method_in_milliseconds():
    fig = plots.timings([8, 16], {"RNN": [0.001, 0.002], "attention": [0.0005, 0.0006]})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["RNN", "attention"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 2.0])
    assert ax.get_xscale() == "log"



def test_attention_step_one_bar_per_word_with_the_focus_in_its_own_colour():
    fig = plots.attention_step(["a", "b", "c"], [0.1, 0.7, 0.2], "weights", "weight", focus=1)
    ax = fig.axes[0]
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], [0.1, 0.7, 0.2])
    colours = [bar.get_facecolor() for bar in ax.patches]
    assert colours[0] == colours[2] != colours[1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert "0.70" in [t.get_text() for t in ax.texts]


def test_attention_vectors_draws_values_weighted_values_and_their_sum():
    values = np.array([[1.0, 0.0], [0.0, 1.0]])
    fig = plots.attention_vectors(["x", "y"], values, [0.25, 0.75], np.array([0.25, 0.75]),
                                  axis_names=("thing", "pleasant"))
    ax = fig.axes[0]
    arrows = [p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == 2 + 2 + 1          # values, weighted values, the output
    assert ax.get_xlabel() == "thing" and ax.get_ylabel() == "pleasant"
    assert "  output" in [t.get_text() for t in ax.texts]


def test_the_gpt_and_block_diagrams_name_their_parts():
    gpt_texts = " ".join(t.get_text() for t in plots.gpt_diagram(2, 64, 126, 48).axes[0].texts)
    for part in ("token embedding", "position embedding", "block 1", "block 2", "layer norm",
                 "126 tokens", "softmax"):
        assert part in gpt_texts, part
    block_texts = " ".join(t.get_text() for t in plots.block_diagram().axes[0].texts)
    for part in ("layer norm", "multi-head attention", "MLP", "residual", "+"):
        assert part in block_texts, part


def test_two_measurements_keeps_each_curve_with_its_own_floor():
    fig = plots.two_measurements([1, 2, 3], [3.0, 2.0, 1.5], [0, 3], [2.5, 1.1], 1.0, [2.6, 1.4], 0.9)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels.count("their exact floor") == 2
    floors = sorted(line.get_ydata()[0] for line in ax.lines if line.get_label() == "their exact floor")
    assert floors == [0.9, 1.0]
