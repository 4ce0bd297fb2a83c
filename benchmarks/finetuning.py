"""Chapter 5 figures: what fine-tuning achieves, as the chapter itself measures it.

The chapter page is executed as a notebook (as the book build does, base
model from the zoo's cache) and the figures are read back from its glued
values, so they are exactly the numbers the page prints:

- ``base_zero_shot_accuracy``: share of the base model's sampled continuations
  of "What is the capital of X ?" that name the right capital (held-out X);
- ``sft_heldout_accuracy``: the same share after SFT;
- ``reward_model_pair_accuracy``: held-out preference pairs ranked correctly;
- ``rlhf_preferred_rate``, ``dpo_preferred_rate``: share of answers that are
  the preferred complete sentence, after RLHF and after DPO;
- ``rlhf_accuracy_drop``, ``dpo_accuracy_drop``: SFT accuracy minus accuracy
  after RLHF / DPO (points as a fraction; negative means it rose);
- ``chapter5_exec_s``: seconds to execute the whole page.
"""

from __future__ import annotations

import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

from course_lib import zoo

PAGE = Path(__file__).resolve().parent.parent / "book" / "chapters" / "05_finetuning.md"
FIGURES = ("base_zero_shot_accuracy", "sft_heldout_accuracy", "reward_model_pair_accuracy",
           "rlhf_preferred_rate", "dpo_preferred_rate", "rlhf_accuracy_drop", "dpo_accuracy_drop")


def glued_values(nb) -> dict[str, str]:
    """Every value the notebook glued (myst_nb.glue), as its text/plain repr."""
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap is not None:   # glue(display=False) prefixes the mime types
                key = scrap.get("mime_prefix", "") + "text/plain"
                values[scrap["name"]] = output.get("data", {}).get(key, "")
    return values


def measure() -> dict[str, float]:
    zoo.load("base-gpt")   # the book builds with the base model cached
    nb = jupytext.read(PAGE)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(PAGE.parent)}}).execute()
    seconds = time.perf_counter() - start
    values = glued_values(nb)
    figures = {name: float(values[name]) for name in FIGURES}
    figures["chapter5_exec_s"] = seconds
    return figures


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name}: {value:.4g}")
