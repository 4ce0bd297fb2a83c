"""course_lib.plots: the Welcome page's linked pipeline and Chapter 2's figures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from course_lib import plots


def teardown_function():
    plt.close("all")


def test_pipeline_svg_links_every_written_chapter_and_has_a_name():
    steps = [("random\nnetwork", "chapters/01_neural_networks"), ("base\nmodel", "chapters/02_pretraining"),
             ("RLHF", "")]
    svg = plots.pipeline_svg(steps, label="Three boxes & a label")
    root = ET.fromstring(svg)  # well-formed, ready to sit inside the page's HTML
    assert root.get("role") == "img" and root.get("aria-label") == "Three boxes & a label"
    assert root.get("width") == "100%" and root.get("viewBox")
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Three boxes & a label"
    links = set(re.findall(r'<a xlink:href="([^"]+)"', svg))
    assert links == {"chapters/01_neural_networks.html", "chapters/02_pretraining.html"}
    assert "_blank" not in svg  # links open in the same tab
    assert "Chapter 1" in svg and "Chapter 2" in svg  # text stays text
    assert svg == plots.pipeline_svg(steps, label="Three boxes & a label")  # the same page every build


def test_temperature_bars_one_panel_per_temperature():
    dists = {"T = 0.5": {"a": 0.8, "b": 0.2}, "T = 2": {"a": 0.6, "b": 0.4}}
    fig = plots.temperature_bars(dists, "x y")
    assert [ax.get_title() for ax in fig.axes] == list(dists)
    heights = [[bar.get_height() for bar in ax.patches] for ax in fig.axes]
    assert heights == [[0.8, 0.2], [0.6, 0.4]]


def test_next_word_model_diagram_shows_its_sizes():
    context = "so she has to go to the".split()
    fig = plots.next_word_model_diagram(context, n_embd=4, n_hidden=32, vocab_size=50,
                                        top=[("bakery", 0.9), ("market", 0.05)])
    texts = [t.get_text() for t in fig.axes[0].texts]
    for word in context + ["bakery", "market", "softmax", f"{len(context) * 4} numbers", "50 scores"]:
        assert word in texts
    assert any("32 tanh neurons" in t for t in texts)


@pytest.mark.parametrize("heldout_label", ["fresh documents", "test documents"])
def test_train_test_curves_names_its_held_out_documents(heldout_label):
    fig = plots.train_test_curves({"run": ([0, 10, 20], [3.0, 1.0, 0.5], [3.0, 1.2, 0.9])}, floor=0.4,
                                  heldout_label=heldout_label, floor_label="floor (x)")
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["training documents", heldout_label, "floor (x)"]
