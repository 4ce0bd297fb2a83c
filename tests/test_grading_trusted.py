"""The trusted grader's parts, without nbgrader: the wire format, the worker, the proxies, the static check.

The whole pipeline (nbgrader autograde with the trusted grader, mutants and
alternatives, tampering samples) is tested in test_grading_pipeline.py and
test_instructor.py.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch

from course_lib.grading import ForbiddenCallError
from course_lib.instructor import wire
from course_lib.instructor.trusted import import_grader

import_grader()  # grader/ on the path when course_grader is not installed
from course_grader import static  # noqa: E402
from course_grader.channel import Answers, Worker, answer, fn  # noqa: E402

SETUP = ("setup", "import numpy as np\n")


def test_wire_keeps_types_and_dtypes_and_refuses_objects():
    value = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "t": torch.ones(2, dtype=torch.float64),
             "s": np.float32(1.5), 3: (1, "x", None, [2.5, True])}
    back = wire.decode(wire.encode(value))
    assert back["a"].dtype == np.int16 and back["a"].shape == (2, 3)
    assert isinstance(back["t"], torch.Tensor) and back["t"].dtype == torch.float64
    assert isinstance(back["s"], np.float32) and back[3] == (1, "x", None, [2.5, True])
    frame = io.BytesIO()
    wire.write_frame(frame, wire.encode(value))
    frame.seek(0)
    assert wire.decode(wire.read_frame(frame))["a"].tolist() == [[0, 1, 2], [3, 4, 5]]

    class Anything(int):
        def __eq__(self, other):
            return True
    for bad in (Anything(3), np.array([object()]), object(), {1, 2}):
        with pytest.raises(wire.WireError):
            wire.encode(bad)
    with pytest.raises(wire.WireError):  # a pickled array is refused on reading
        buffer = io.BytesIO()
        np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
        import base64
        wire.decode({"$": "nd", "kind": "array", "npy": base64.b64encode(buffer.getvalue()).decode(), "grad": False})


def _answers(tmp_path, *cells, seconds=10.0):
    worker = Worker([SETUP, *cells], str(tmp_path), cell_seconds=seconds)
    return worker, Answers(worker)


def test_calls_cross_as_plain_data_and_prints_do_not_break_the_channel(tmp_path):
    worker, answers = _answers(tmp_path, ("dense", (
        "import sys\nprint('x' * 100000)\nsys.stdout.write('junk')\nos_fd = 1\n"
        "def dense(X, W, b):\n    print('hello', X)\n    X += 1\n    return X @ W + b\n")))
    try:
        X = np.zeros((2, 3))
        out = answers.dense(X, np.ones((3, 2)), np.array([0.5, -0.5]))
        assert out.tolist() == [[3.5, 2.5], [3.5, 2.5]]
        assert X.tolist() == [[1.0] * 3] * 2  # the in-place change came back to the caller's array
        assert worker.errors == {} and worker.starts == 1
    finally:
        worker.close()


def test_functions_cross_by_name_and_the_tripwire_catches_forbidden_calls(tmp_path):
    worker, answers = _answers(tmp_path, ("neuron", (
        "from course_lib import numpy_nn\n"
        "def neuron(x, w, b, activation):\n    return activation(np.dot(w, x) + b)\n"
        "def relu(z):\n    return numpy_nn.relu(z)\n"
        "tanh = np.tanh\n")))
    try:
        relu_fixture = fn("course_lib.grading.fixtures.relu")
        assert answers.neuron(np.array([1.0]), np.array([-2.0]), 0.5, relu_fixture) == 0.0
        assert relu_fixture(np.array(-1.0)) == 0.0  # the same fixture, run on the trusted side
        with answer("relu", forbid=["course_lib.numpy_nn"]), pytest.raises(ForbiddenCallError, match="course_lib.numpy_nn.relu"):
            answers.relu(np.ones(3))
        with answer("tanh", forbid=["numpy.tanh"]), pytest.raises(ForbiddenCallError, match="your answer is numpy.tanh"):
            answers.tanh(np.ones(3))
        with answer("ghost"), pytest.raises(AssertionError, match="NameError"):
            answers.ghost(1)
    finally:
        worker.close()


def test_a_forbidden_module_imported_during_the_call_is_still_caught(tmp_path):
    worker, answers = _answers(tmp_path, ("count", (
        "def count_parameters(sizes):\n"
        "    from course_lib import numpy_nn  # loaded only now: the worker runs the call again with the tripwire\n"
        "    return numpy_nn.count_parameters(sizes)\n")))
    try:
        with answer("count_parameters", forbid=["course_lib.numpy_nn"]), \
                pytest.raises(ForbiddenCallError, match="course_lib.numpy_nn.count_parameters"):
            answers.count_parameters([2, 3])
    finally:
        worker.close()


def test_time_limits_and_dying_cells_are_the_graders(tmp_path):
    worker, answers = _answers(tmp_path, ("spin", "def spin():\n    while True:\n        pass\n"),
                               ("exit", "import os\nos._exit(0)\n"), ("hang", "while True:\n    pass\n"),
                               ("after", "def ok():\n    return 42\n"), seconds=3.0)
    try:
        assert answers.ok() == 42  # the cells that killed or hung the worker were left out
        assert set(worker.broken) == {"exit", "hang"}
        with answer("spin", seconds=1), pytest.raises(AssertionError, match="still running after 1 s"):
            answers.spin()
        assert answers.ok() == 42  # a fresh worker after the kill
    finally:
        worker.close()


def test_gradients_come_back_as_grad(tmp_path):
    worker, answers = _answers(tmp_path, ("loss", (
        "import torch\n"
        "def loss(a, b):\n    return (a * 2 + b.detach()).sum()\n")))
    try:
        a, b = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
        out = answers.loss(a, b)
        assert out.requires_grad and float(out.detach()) == 9.0
        assert a.grad.tolist() == [2.0, 2.0, 2.0] and b.grad is None
    finally:
        worker.close()


def test_static_check_finds_hidden_shortcuts_and_constructs_to_review():
    setup = [("setup", "import numpy as np\nfrom course_lib import numpy_nn\n")]
    learner = [
        ("activations", "def relu(z, _f=numpy_nn.relu):\n    return _f(z)\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"),
        ("dense", "def _make():\n    ref = numpy_nn.dense\n    def dense(X, W, b):\n        return ref(X, W, b)\n"
                  "    return dense\ndense = _make()\n"),
        ("tanh", "from numpy import tanh as t\ndef tanh(z):\n    return helper(z)\ndef helper(z):\n    return t(z)\n"),
        ("extra", "import inspect, sys\nnp.allclose = lambda *a, **k: True\nf = sys._getframe(0).f_back\n"
                  "exec('x = 1')\nclass E(int):\n    def __eq__(self, o):\n        return True\n"),
    ]
    forbidden = {"test_relu": ("relu", ("course_lib.numpy_nn",)), "test_sigmoid": ("sigmoid", ("course_lib.numpy_nn",)),
                 "test_dense": ("dense", ("course_lib.numpy_nn",)), "test_tanh": ("tanh", ("numpy.tanh",))}
    found = static.read_source(learner, setup, forbidden)
    assert set(found.forbidden) == {"test_relu", "test_dense", "test_tanh"}
    assert "course_lib.numpy_nn.relu" in found.forbidden["test_relu"]
    text = "\n".join(found.review)
    for construct in ("imports inspect", "changes numpy.allclose", "_getframe", ".f_back", "uses exec", "defines __eq__"):
        assert construct in text, (construct, text)
    assert not static.read_source([("ok", "def relu(z):\n    return np.maximum(z, 0)\n")], setup, forbidden).review


def test_hidden_checks_live_outside_course_lib():
    import course_lib
    package = os.path.dirname(course_lib.__file__)
    names = set(os.listdir(os.path.join(package, "grading")))
    assert not names & {"ch1.py", "ch2.py", "ch3.py", "ch5.py"}, names
    for root, _, files in os.walk(package):
        for name in files:
            if name.endswith(".py") and name != "trusted.py":
                with open(os.path.join(root, name)) as f:
                    assert "import course_grader" not in f.read(), name
