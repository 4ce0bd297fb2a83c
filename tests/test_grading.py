"""course_lib.grading: the messages learners read, and the shortcuts it catches."""

from __future__ import annotations

import time
from functools import reduce

import numpy as np
import pytest

from course_lib import grading, numpy_nn
from course_lib.instructor.trusted import import_grader

import_grader()  # puts grader/ on the path when course_grader is not installed
from course_grader import ch1  # noqa: E402


def test_assert_close_reports_expected_got_and_likely_mistake():
    with pytest.raises(AssertionError) as error:
        grading.assert_close([1.0, 2.0], [1.5, 2.5], "f(x)", mistakes={"forgetting the bias": [1.0, 2.0]})
    message = str(error.value)
    assert "f(x): expected [1.5 2.5], got [1. 2.]" in message
    assert "forgetting the bias" in message


def test_assert_close_explains_shape_none_and_nan():
    with pytest.raises(AssertionError, match=r"expected shape \(2,\), got \(3,\)"):
        grading.assert_close([1, 2, 3], [1, 2], "f")
    with pytest.raises(AssertionError, match="forget `return`"):
        grading.assert_close(None, 1.0, "f")
    with pytest.raises(AssertionError, match="nan or inf"):
        grading.assert_close([np.nan], [1.0], "f")
    grading.assert_close(np.float32(0.1), 0.1, "f", atol=1e-6)


def test_assert_equal_reads_an_array_as_its_list_and_says_what_differs():
    grading.assert_equal(np.array([4, 5, 1]), [4, 5, 1], "ids")
    with pytest.raises(AssertionError, match=r"ids: expected \[4, 5, 1\], got \[4, 5, 2\]\. Look again"):
        grading.assert_equal(np.array([4, 5, 2]), [4, 5, 1], "ids", "Look again.")
    with pytest.raises(AssertionError, match="got None"):
        grading.assert_equal(None, [4], "ids")


def test_answer_turns_not_implemented_into_advice():
    def stub():
        raise NotImplementedError()
    with pytest.raises(AssertionError, match="not written yet"):
        with grading.answer("neuron"):
            stub()


def test_answer_reports_a_crash_with_its_name():
    with pytest.raises(AssertionError, match="dense raised ValueError"):
        with grading.answer("dense"):
            np.ones((2, 3)) @ np.ones((2, 3))


def test_forbidden_function_fails_and_is_restored():
    def my_tanh(z):
        return np.tanh(z)
    with pytest.raises(grading.ForbiddenCallError, match="numpy.tanh"):
        with grading.answer("tanh", forbid=["numpy.tanh"]):
            my_tanh(np.zeros(2))
    assert np.tanh(0.0) == 0.0  # restored


def test_forbidden_module_covers_each_of_its_functions():
    def uses_reference(X, W, b):
        return numpy_nn.dense(X, W, b)
    with pytest.raises(grading.ForbiddenCallError, match="course_lib.numpy_nn.dense"):
        with grading.answer("dense", forbid=["course_lib.numpy_nn"]):
            uses_reference(np.ones((1, 2)), np.ones((2, 1)), np.zeros(1))


def test_swallowed_forbidden_call_still_fails():
    def sneaky(z):
        try:
            return np.tanh(z)
        except Exception:
            return z
    with pytest.raises(grading.ForbiddenCallError):
        with grading.answer("tanh", forbid=["numpy.tanh"]):
            sneaky(np.zeros(2))


def test_passing_the_reference_itself_is_caught():
    with pytest.raises(grading.ForbiddenCallError):
        grading.check_call("relu", numpy_nn.relu, (np.zeros(2),), np.zeros(2), "relu", forbid=["course_lib.numpy_nn"])


def test_time_limit_stops_an_endless_loop():
    start = time.monotonic()
    with pytest.raises(AssertionError, match="still running"):
        with grading.answer("loop", seconds=0.3):
            while True:
                pass
    assert time.monotonic() - start < 2


def test_fresh_rng_draws_new_inputs_each_time():
    assert grading.fresh_rng().random() != grading.fresh_rng().random()


def test_unchanged_input_check():
    with pytest.raises(AssertionError, match="changed in place"):
        grading.assert_unchanged(np.zeros(2), np.ones(2), "relu")


def _relu(z):
    return np.maximum(z, 0)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_chapter1_hidden_checks_accept_correct_answers():
    ch1.neuron_linear(lambda x, w, b, f: f(x @ w + b))
    ch1.neuron_activation(lambda x, w, b, f: f(x @ w + b))
    ch1.relu(_relu)
    with np.errstate(over="ignore"):
        ch1.sigmoid(_sigmoid)
    ch1.tanh(lambda z: 2 / (1 + np.exp(-2 * np.clip(z, -300, 300))) - 1)
    ch1.dense_shapes(lambda X, W, b: X @ W + b)
    ch1.dense_values(lambda X, W, b: X @ W + b)
    ch1.count_parameters_hidden(lambda s: sum(a * b + b for a, b in zip(s[:-1], s[1:])))


@pytest.mark.parametrize("check, wrong, mistake", [
    (ch1.neuron_linear, lambda x, w, b, f: f(x @ w), "forgetting the bias"),
    (ch1.neuron_activation, lambda x, w, b, f: x @ w + b, "without applying the activation"),
    (ch1.relu, np.abs, "absolute value"),
    (ch1.dense_values, lambda X, W, b: X @ W, "forgetting the bias"),
    (ch1.mlp_deep, lambda X, p, f: reduce(lambda h, Wb: h @ Wb[0] + Wb[1], p, X), "forgetting the activation"),
    (ch1.count_parameters_hidden, lambda s: sum(s), "counting the neurons"),
])
def test_chapter1_hidden_checks_name_the_mistake(check, wrong, mistake):
    with pytest.raises(AssertionError, match=mistake):
        check(wrong)


def test_learners_see_their_cell_not_the_grading_machinery():
    class Shell:
        def showtraceback(self, exc_tuple, tb_offset=None):
            self.frames = []
            tb = exc_tuple[2]
            while tb is not None:
                self.frames.append(tb.tb_frame.f_code.co_filename)
                tb = tb.tb_next

    def neuron(x, w, b):
        raise NotImplementedError()

    try:
        with grading.answer("neuron"):
            neuron(1, 2, 3)
    except AssertionError as error:
        shell = Shell()
        grading._show_without_grading_frames(shell, type(error), error, error.__traceback__)
    assert shell.frames == [__file__]
