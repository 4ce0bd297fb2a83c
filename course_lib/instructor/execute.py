"""nbgrader's Execute, hardened against a hostile or broken notebook.

* Output is capped while the cell runs (nbgrader's ``LimitOutput`` trims it
  only afterwards, when a printing loop may already have filled the grader's
  memory).
* When the kernel dies (``os._exit``, a kill, the CPU limit, a crash) or stops
  answering after a timeout, that cell and every later cell get an error output that says so,
  and grading goes on: cells that passed before keep their points, instead of
  the whole notebook failing.
"""

from __future__ import annotations

import json
from collections import defaultdict

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer

KERNEL_DIED = "KernelDied"
OUTPUT_CUT = "... output cut here: this cell printed more than {limit} bytes ..."


class GuardedExecute(Execute):
    """Execute with an output cap and a graceful end when the kernel dies."""

    max_output_bytes = Integer(200_000, help="Output kept per cell; the rest is dropped.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._dead_at: int | None = None
        self._output_bytes: dict[int, int] = defaultdict(int)
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        if cell.cell_type != "code":
            return cell, resources
        if self._dead_at is not None:
            cell.outputs = [_error(f"not run: the kernel had stopped in cell {self._dead_at + 1}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            message = ("the kernel stopped while running this cell (it exited, was killed, or went "
                       "over its memory or CPU-time limit)")
        except CellTimeoutError:
            message = "the kernel stopped answering after this cell ran out of time"
        self._dead_at = index
        cell.outputs.append(_error(message))
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data"):
            size = len(json.dumps(msg["content"]))
            used = self._output_bytes[cell_index]
            self._output_bytes[cell_index] = used + size
            if used + size > self.max_output_bytes:
                if used <= self.max_output_bytes:
                    outs.append(new_output("stream", name="stderr",
                                           text=OUTPUT_CUT.format(limit=self.max_output_bytes) + "\n"))
                return None
        return super().output(outs, msg, display_id, cell_index)


def _error(message: str) -> NotebookNode:
    return new_output("error", ename=KERNEL_DIED, evalue=message, traceback=[f"{KERNEL_DIED}: {message}"])
