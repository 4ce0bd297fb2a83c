"""Write the sample bad submissions of Chapter 1 (``tests/submissions/ch1/*``).

Each file is one learner's ``neural_networks.ipynb`` gone wrong in one way;
``tests/test_instructor.py`` collects them all, with good learners beside
them, and checks that each ends with a clear status and message. The hostile
ones are the solution notebook whose last answer (``count_parameters``, 2 of
the 13 points) is replaced by the hostile code, so the points before it show
that grading went on. Run again after Chapter 1's notebook changes::

    .venv/bin/python -m tests.submissions.make
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from tests import pipeline

HERE = Path(__file__).resolve().parent / "ch1"
NAME = "neural_networks.ipynb"
LAST = "count_parameters"

# The hostile cells. Paths are relative to the kernel's folder, autograded/<learner>/ch1/.
HOSTILE = {
    "infinite_loop": "while True:\n    pass\n",
    "memory_bomb": "hoard = []\nwhile True:\n    hoard.append(bytearray(64 * 2**20))\n",
    "huge_output": "for _ in range(40):\n    print('x' * 1_000_000)\n",
    "sys_exit": "import sys\nsys.exit(3)\n",
    "os_exit": "import os\nos._exit(0)\n",
    "kill_kernel": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "read_secrets": (
        "import glob, os, course_lib\n"
        "repository = os.path.dirname(os.path.dirname(course_lib.__file__))  # where course_lib came from\n"
        "leaked = []\n"
        "for pattern in ['../../../solutions/*/*.ipynb', '../../../gradebook.db', '../../../submitted/*/*/*',\n"
        "                '../../*/*/*.ipynb', repository + '/solutions/*/*.ipynb', repository + '/.git/config']:\n"
        "    for path in glob.glob(pattern):\n"
        "        try:\n"
        "            with open(path, 'rb') as f:\n"
        "                if f.read(1) and os.path.realpath(path) != os.path.realpath('" + NAME + "'):\n"
        "                    leaked.append(path)\n"
        "        except OSError as error:\n"
        "            print('refused:', path, type(error).__name__)\n"
        "print('LEAKED: ' + ', '.join(leaked) if leaked else 'nothing leaked')\n"
    ),
    "write_outside": (
        "written = []\n"
        "for path in ['../../../solutions/ch1/pwned.txt', '../../../gradebook.db', '../../../pwned.txt',\n"
        "             '../../pwned.txt', '/root/pwned.txt', '/usr/pwned.txt']:\n"
        "    try:\n"
        "        with open(path, 'a') as f:\n"
        "            f.write('pwned')\n"
        "        written.append(path)\n"
        "    except OSError as error:\n"
        "        print('refused:', path, type(error).__name__)\n"
        "print('WROTE: ' + ', '.join(written) if written else 'nothing written')\n"
    ),
    "fork_bomb": (
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        time.sleep(600)\n"
    ),
}


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def solved() -> nbformat.NotebookNode:
    """The solution notebook, without outputs."""
    nb = nbformat.read(pipeline.SOLUTIONS / "ch1" / NAME, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def broken() -> dict[str, nbformat.NotebookNode]:
    """The notebooks whose graded cells were edited (nbgrader repairs some, the report names all)."""
    out = {}
    nb = solved()
    del nb.cells[_cell(nb, "test_neuron_linear")]
    out["deleted_cell"] = nb
    nb = solved()
    nb.cells.insert(_cell(nb, LAST), nb.cells.pop(_cell(nb, "test_count_parameters_large")))
    out["moved_cell"] = nb
    nb = solved()
    cell = nb.cells[_cell(nb, "test_dense_values")]
    nb.cells[_cell(nb, "test_dense_values")] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    out["retyped_cell"] = nb
    nb = solved()
    nb.cells[_cell(nb, "test_mlp_deep")].source = "print('mlp: all right, trust me.')\n"
    out["edited_test"] = nb
    for name, source in HOSTILE.items():
        nb = solved()
        nb.cells[_cell(nb, LAST)].source = source
        out[name] = nb
    return out


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / "invalid_json.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "print(1)"\n')
    (HERE / "empty.ipynb").write_text("")
    other = next(p for p in sorted(pipeline.EXERCISES.glob("*/*.ipynb")) if p.parent.name != "ch1")
    nb = nbformat.read(other, as_version=4)
    nbformat.write(nb, HERE / "other_assignment.ipynb")
    for name, nb in broken().items():
        nbformat.write(copy.deepcopy(nb), HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
