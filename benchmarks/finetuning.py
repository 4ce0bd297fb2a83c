"""Chapter 5 figures: what fine-tuning achieves, as the chapter itself measures it.

The chapter page is executed as a notebook (as the book build does, base
model from the zoo's cache) and the figures are read back from its glued
values, so they are exactly the numbers the page prints:

- ``base_zero_shot_accuracy``: share of the base model's sampled continuations
  of "What is the capital of X ?" that name the right capital (held-out X);
- ``sft_heldout_accuracy``: the same share after SFT (target >= 0.80);
- ``reward_model_pair_accuracy_min``: held-out preference pairs ranked as
  people did, in the worst of the pairings (right/wrong x full/short, see
  ``chat.PAIRINGS``; target >= 0.90); ``reward_model_pair_accuracy`` is the
  mean over the pairings;
- ``rlhf_preferred_rate``, ``dpo_preferred_rate``: share of answers that are
  the preferred complete sentence with the right capital, after RLHF and
  after DPO (target >= 0.85);
- ``rlhf_right_capital_drop``, ``dpo_right_capital_drop``: SFT's share of
  right capitals minus the share after RLHF / DPO (a fraction; negative
  means it rose; target <= 0.02);
- ``chapter5_exec_s``: wall seconds to execute the whole page;
  ``chapter5_kernel_cpu_s``: CPU seconds of the page's kernel (one thread),
  close to the wall time on a quiet machine.

All rates are sampled at the temperature the chapter states, with fixed seeds.
"""

from __future__ import annotations

import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

from course_lib import zoo

PAGE = Path(__file__).resolve().parent.parent / "book" / "chapters" / "05_finetuning.md"
FIGURES = ("base_zero_shot_accuracy", "sft_heldout_accuracy", "reward_model_pair_accuracy_min",
           "reward_model_pair_accuracy", "rlhf_preferred_rate", "dpo_preferred_rate",
           "rlhf_right_capital_drop", "dpo_right_capital_drop")


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
    nb.cells.append(nbformat.v4.new_code_cell(
        "import time; print('KERNEL_CPU', time.process_time())"))
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(PAGE.parent)}}).execute()
    seconds = time.perf_counter() - start
    values = glued_values(nb)
    figures = {name: float(values[name]) for name in FIGURES}
    figures["chapter5_exec_s"] = seconds
    cpu = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))
    figures["chapter5_kernel_cpu_s"] = float(cpu.split()[-1])
    return figures


if __name__ == "__main__":
    for name, value in measure().items():
        print(f"{name}: {value:.4g}")
