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

