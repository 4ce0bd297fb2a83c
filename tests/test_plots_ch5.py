"""Chapter 5's diagram in course_lib.plots draws the assistant pipeline it promises."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.colors import to_rgba

from course_lib import plots


def teardown_function():
    plt.close("all")


def test_assistant_pipeline_names_every_step_in_black_on_white():
    fig = plots.assistant_pipeline()
    ax = fig.axes[0]
    texts = {t.get_text().replace("\n", " ") for t in ax.texts}
    for step in ("pretraining", "base model", "supervised fine-tuning", "SFT model",
                 "reward model", "RLHF", "DPO", "assistant"):
        assert step in texts, f"the diagram lacks the box {step!r}"
    assert any("preference pairs" in t for t in texts)
    # readable in both themes: an opaque white figure, dark text on mid-tone boxes
    assert to_rgba(fig.get_facecolor()) == to_rgba("white")
    boxes = [t for t in ax.texts if t.get_text().replace("\n", " ") in texts and t.get_weight() == "bold"]
    assert boxes and all(to_rgba(t.get_color()) == to_rgba("black") for t in boxes)
    assert len(ax.patches) >= 16          # 8 boxes and at least 8 arrows
