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


# Tampering: notebooks with no real answer that try to get points anyway (issue 13). Each is
# the released exercise with every answer a stub that returns something of the right shape
# (so that a neutered check in the kernel passes), and the trick in the first answer cell.
TAMPER_DIR = Path(__file__).resolve().parent / "tamper"
JUNK = {
    "neuron": "def neuron(x, w, b, activation):\n    return 0.0\n",
    "activations": ("import numpy as np\n\ndef relu(z):\n    return np.zeros_like(z)\n\n"
                    "def sigmoid(z):\n    return np.zeros_like(z)\n\ndef tanh(z):\n    return np.zeros_like(z)\n"),
    "dense": "def dense(X, W, b):\n    return np.zeros(1)\n",
    "mlp": "def mlp(X, params, activation):\n    return np.zeros((X.shape[0], params[-1][0].shape[1]))\n",
    "count_parameters": "def count_parameters(layer_sizes):\n    return 0\n",
}
NEUTER = ("import contextlib\n"
          "def answer(*args, **kwargs):\n    return contextlib.nullcontext()\n"
          "def assert_close(*args, **kwargs):\n    pass\n"
          "assert_equal = assert_shape = assert_true = assert_close\n")
STEAL = ("import json\n"
         "def _steal(text):\n"
         "    for cell in json.loads(text)['cells']:\n"
         "        if cell['cell_type'] == 'code' and cell['metadata'].get('nbgrader', {}).get('solution'):\n"
         "            exec(''.join(cell['source']), globals())\n")
TAMPER = {
    # the kernel reports every later cell as a success
    "ast_transformer": (
        "import ast\n"
        "class Swallow(ast.NodeTransformer):\n"
        "    def visit_Module(self, node):\n"
        "        handler = ast.ExceptHandler(type=ast.Name('BaseException', ast.Load()), name=None, body=[ast.Pass()])\n"
        "        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]\n"
        "        return ast.fix_missing_locations(node)\n"
        "get_ipython().ast_transformers.append(Swallow())\n", {}),
    "exception_handler": (
        "shell = get_ipython()\n"
        "shell.set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
        "original_run_cell = shell.run_cell\n"
        "def run_cell(*args, **kwargs):\n"
        "    result = original_run_cell(*args, **kwargs)\n"
        "    result.error_in_exec = None\n"
        "    return result\n"
        "shell.run_cell = run_cell\n", {}),
    # the checks themselves replaced
    "grading_functions_replaced": (
        "import course_lib.grading as grading\n" + NEUTER +
        "for name in ('answer', 'assert_close', 'assert_equal', 'assert_shape', 'assert_true'):\n"
        "    setattr(grading, name, globals()[name])\n", {}),
    "sys_modules_entry": (
        "import sys, types\n" + NEUTER +
        "fake = types.ModuleType('course_lib.grading')\n"
        "fake.__dict__.update(answer=answer, assert_close=assert_close, assert_equal=assert_equal,\n"
        "                     assert_shape=assert_shape, assert_true=assert_true)\n"
        "sys.modules['course_lib.grading'] = fake\n", {}),
    "redefined_asserts": (NEUTER, {}),
    "numpy_allclose": ("import numpy\nnumpy.allclose = lambda *args, **kwargs: True\n", {}),
    # answers that compare equal to anything
    "always_equal_int": ("", {"count_parameters": (
        "class Anything(int):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n"
        "def count_parameters(layer_sizes):\n    return Anything(0)\n")}),
    "ne_returns_false": ("", {"count_parameters": (
        "class Agreeable:\n"
        "    def __ne__(self, other):\n        return False\n"
        "def count_parameters(layer_sizes):\n    return Agreeable()\n")}),
    # the course's own reference, hidden from the tripwire
    "default_argument": ("from course_lib import numpy_nn\n", {
        "activations": ("from course_lib import numpy_nn\n"
                        "def relu(z, _f=numpy_nn.relu):\n    return _f(z)\n"
                        "def sigmoid(z, _f=numpy_nn.sigmoid):\n    return _f(z)\n"
                        "def tanh(z, _f=numpy_nn.tanh):\n    return _f(z)\n"),
        "mlp": "def mlp(X, params, activation, _f=numpy_nn.mlp):\n    return _f(X, params, activation)\n"}),
    "closure": ("from course_lib import numpy_nn\n", {
        "dense": ("def _make():\n    reference = numpy_nn.dense\n"
                  "    def dense(X, W, b):\n        return reference(X, W, b)\n    return dense\n"
                  "dense = _make()\n"),
        "count_parameters": ("def _make():\n    reference = numpy_nn.count_parameters\n"
                             "    def count_parameters(sizes):\n        return reference(sizes)\n"
                             "    return count_parameters\ncount_parameters = _make()\n")}),
    "patched_forbidden": (
        "import contextlib\nimport course_lib.grading as grading\nfrom course_lib import numpy_nn\n"
        "grading._forbidden = lambda name, targets: contextlib.nullcontext([])\n", {
            "activations": "relu, sigmoid, tanh = numpy_nn.relu, numpy_nn.sigmoid, numpy_nn.tanh\n",
            "mlp": "mlp = numpy_nn.mlp\n"}),
    "frame_expected": ("", {"count_parameters": (
        "import sys\n"
        "def count_parameters(layer_sizes):\n"
        "    frame = sys._getframe(1)\n"
        "    while frame is not None:\n"
        "        if 'expected' in frame.f_locals:\n"
        "            return frame.f_locals['expected']\n"
        "        frame = frame.f_back\n"
        "    return 0\n")}),
    # someone else's answers
    "exec_submissions_zip": (
        STEAL + "import glob, zipfile\n"
        "for path in glob.glob('../../../submissions.zip') + glob.glob('../../../../submissions.zip'):\n"
        "    with zipfile.ZipFile(path) as archive:\n"
        "        for name in archive.namelist():\n"
        "            if name.endswith('.ipynb') and 'tamper' not in name:\n"
        "                try:\n"
        "                    _steal(archive.read(name))\n"
        "                except Exception:\n"
        "                    continue\n"
        "                break\n", {}),
    "exec_second_clone": (
        STEAL + "import glob, os, course_lib\n"
        "repository = os.path.dirname(os.path.dirname(course_lib.__file__))\n"
        "for path in glob.glob(repository + '/solutions/ch1/*.ipynb') + glob.glob('/work/*/solutions/ch1/*.ipynb'):\n"
        "    try:\n"
        "        _steal(open(path).read())\n"
        "        break\n"
        "    except Exception:\n"
        "        continue\n", {}),
    # the grader's own worker
    "worker_tripwire": (
        "from course_lib import numpy_nn\n"
        "try:\n"
        "    import course_lib.instructor.worker as worker\n"
        "    worker.Tripwire.__enter__ = lambda self: self\n"
        "except Exception:\n"
        "    pass\n", {"activations": "relu, sigmoid, tanh = numpy_nn.relu, numpy_nn.sigmoid, numpy_nn.tanh\n"}),
    "builtins_patched": (
        "import builtins\n"
        "builtins.isinstance = lambda *args: True\n"
        "builtins.len = lambda *args: 0\n", {}),
}


def tampered() -> dict[str, nbformat.NotebookNode]:
    """The tampering notebooks: stub answers, the trick first (see TAMPER)."""
    out = {}
    for name, (trick, answers) in TAMPER.items():
        nb = nbformat.read(pipeline.COURSE.exercises / "ch1" / NAME, as_version=4)
        sources = {**JUNK, **answers}
        if name.startswith("exec_"):  # the stolen answers, run last, define everything
            last = nb.cells[_cell(nb, LAST)]
            last.source = last.source + "\n\n" + trick
            out[name] = nb
            continue
        for grade_id, source in sources.items():
            nb.cells[_cell(nb, grade_id)].source = source
        first = nb.cells[_cell(nb, "neuron")]
        first.source = trick + "\n" + first.source
        out[name] = nb
    return out


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def solved() -> nbformat.NotebookNode:
    """The solution notebook, without outputs."""
    nb = nbformat.read(pipeline.COURSE.solutions / "ch1" / NAME, as_version=4)
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
    nb.cells[_cell(nb, "test_dense_values")] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata, id=cell.id)
    out["retyped_cell"] = nb
    nb = solved()
    nb.cells[_cell(nb, "test_mlp_deep")].source = "print('mlp: all right, trust me.')\n"
    out["edited_test"] = nb
    for name, source in HOSTILE.items():
        nb = solved()
        nb.cells[_cell(nb, LAST)].source = source
        out[name] = nb
    return out


def samples() -> dict[Path, str]:
    """Every sample file and its text, as :func:`main` writes it."""
    other = next(p for p in sorted(pipeline.COURSE.exercises.glob("*/*.ipynb")) if p.parent.name != "ch1")
    out = {HERE / "invalid_json.ipynb": '{"cells": [ {"cell_type": "code", "source": "print(1)"\n',
           HERE / "empty.ipynb": "",
           HERE / "other_assignment.ipynb": other.read_text(encoding="utf-8")}
    out.update({HERE / f"{name}.ipynb": nbformat.writes(nb) + "\n" for name, nb in broken().items()})
    out.update({TAMPER_DIR / f"{name}.ipynb": nbformat.writes(nb) + "\n" for name, nb in tampered().items()})
    return out


def main() -> None:
    for path, text in samples().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
