"""course_lib.plots and course_lib.widgets draw what they promise."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets
import matplotlib.pyplot as plt

from course_lib import classifier, datasets, numpy_nn, plots, widgets


def teardown_function():
    plt.close("all")


def test_pipeline_links_only_written_chapters():
    fig = plots.pipeline([("random\nnetwork", "chapters/01_neural_networks"), ("RLHF", "")])
    urls = [a.get_url() for a in fig.axes[0].patches if a.get_url()]
    assert urls == ["chapters/01_neural_networks.html"]
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == ["random\nnetwork", "RLHF"]


def test_network_diagram_draws_every_neuron_and_weight():
    fig = plots.network_diagram([3, 4, 2])
    ax = fig.axes[0]
    assert len(ax.collections) == 3 + 4 + 2
    assert len(ax.lines) == 3 * 4 + 4 * 2


def test_neuron_response_matches_the_neuron():
    fig = plots.neuron_response(1.0, -1.0, 0.5, "sigmoid")
    assert "sigmoid" in fig.axes[0].get_title()
    fig = plots.neuron_gallery([(1, 1, 0, "relu"), (1, -1, 0, "tanh")])
    assert len([a for a in fig.axes if a.get_title()]) == 2


def test_decision_boundary_and_scale_plots():
    X, y = datasets.make_xor(n=50)
    model = classifier.fit_classifier(X, y, hidden_sizes=(4,), steps=20)
    fig = plots.decision_boundary(lambda P: classifier.predict_proba(model, P), X, y, title="xor")
    assert fig.axes[0].get_title() == "xor"
    fig = plots.parameter_scale(["a", "b"], [10, 1e9])
    assert fig.axes[0].get_xscale() == "log"
    fig = plots.activations()
    assert [a.get_title() for a in fig.axes] == list(numpy_nn.ACTIVATIONS)


def test_neuron_widget_redraws_when_a_slider_moves(monkeypatch):
    drawn = []
    real = plots.neuron_response
    monkeypatch.setattr(plots, "neuron_response", lambda **kw: drawn.append(kw) or real(**kw))
    widget = widgets.neuron_widget()
    controls, output = widget.children
    sliders = controls.children
    assert [s.description for s in sliders] == ["weight w1", "weight w2", "bias b", "activation"]
    assert isinstance(output, ipywidgets.Output)
    sliders[2].value = 1.5
    sliders[3].value = "tanh"
    assert drawn[0] == {"w1": 1.0, "w2": -1.0, "b": 0.0, "activation": "sigmoid"}
    assert drawn[-1] == {"w1": 1.0, "w2": -1.0, "b": 1.5, "activation": "tanh"}


def test_widget_cells_are_hidden_on_the_site_and_followed_by_their_figure():
    """A widget saved in a page is code with an empty output on the website: every
    chapter cell that makes a widget is tagged remove-cell (it runs in JupyterLab),
    and the next code cell draws the static twin, a numbered figure. (Chapter 3's
    are also tagged skip-execution: executing a widget can leave the build
    waiting for the cell timeout.)"""
    from pathlib import Path

    import jupytext

    chapters = sorted((Path(__file__).resolve().parent.parent / "book" / "chapters").glob("*.md"))
    seen = 0
    for path in chapters:
        cells = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
        for i, cell in enumerate(cells):
            if "widgets." not in cell.source or "_widget(" not in cell.source:
                continue
            seen += 1
            assert "remove-cell" in cell.metadata.get("tags", []), f"{path.name}: {cell.source!r}"
            if path.name == "03_learning.md":
                assert "skip-execution" in cell.metadata.get("tags", []), cell.source
            figure = cells[i + 1].metadata.get("mystnb", {}).get("figure", {})
            assert figure.get("caption") and figure.get("name"), f"{path.name}: no figure after the widget"
    assert seen >= 3  # the neuron (Chapter 1), the knobs and the learning rate (Chapter 3)
