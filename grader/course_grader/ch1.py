"""Chapter 1 (neural networks): one check per graded test cell, visible and hidden parts.

Each ``test_<grade_id>(answers)`` repeats what the notebook's test cell
checks in the learner's kernel (the visible part), then, after
``answers.hidden()``, checks inputs drawn at grading time against
course_lib's reference, naming the likely mistake on failure. It returns the
line the cell prints when everything passed.
"""

from __future__ import annotations

import numpy as np

from course_lib import numpy_nn
from course_lib.grading import assert_close, assert_equal, assert_shape, assert_unchanged, fresh_rng
from course_grader.channel import answer, check_call, fn

FORBID = ("course_lib.numpy_nn",)
FIX = "course_lib.grading.fixtures."
IDENTITY, STEP, RELU, SIGMOID, TANH = (fn(FIX + "identity"), fn(FIX + "step"), fn(FIX + "relu"),
                                       fn(FIX + "sigmoid"), fn("numpy.tanh"))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- hidden checks ---------------------------------------------------------------------

def neuron_linear(neuron) -> None:
    """Random inputs, identity activation: w . x + b."""
    rng = fresh_rng()
    for n in (1, 3, int(rng.integers(4, 9))):
        x, w, b = rng.normal(size=n), rng.normal(size=n), float(rng.normal())
        check_call(
            "neuron", neuron, (x, w, b, IDENTITY), np.dot(w, x) + b,
            f"neuron with {n} inputs and no activation",
            mistakes={"forgetting the bias": np.dot(w, x), "subtracting the bias": np.dot(w, x) - b},
            forbid=FORBID,
            hint="A neuron adds up weight * input over all inputs, then adds the bias.",
        )


def neuron_activation(neuron) -> None:
    """Random inputs through sigmoid and tanh activations."""
    rng = fresh_rng()
    for activation in (SIGMOID, TANH, RELU):
        n = int(rng.integers(2, 7))
        x, w, b = rng.normal(size=n), rng.normal(size=n), float(rng.normal())
        z = np.dot(w, x) + b
        check_call(
            "neuron", neuron, (x, w, b, activation), activation(z),
            f"neuron with {n} inputs and an activation",
            mistakes={
                "returning the weighted sum without applying the activation": z,
                "applying the activation before adding the bias": activation(np.dot(w, x)) + b,
                "applying the activation to each input before the sum": np.dot(w, activation(x)) + b,
            },
            forbid=FORBID,
            hint="The activation is applied once, to the weighted sum plus the bias.",
        )


def _activation_cases(rng):
    return [
        rng.normal(0, 3, size=7),
        rng.normal(0, 3, size=(3, 4)),
        np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]),
    ]


def _check_activation(name, answer_fn, reference, mistakes_of, forbid=FORBID, hint=""):
    for z in _activation_cases(fresh_rng()):
        original = z.copy()
        with np.errstate(all="ignore"):
            mistakes = mistakes_of(z)
        check_call(name, answer_fn, (z,), reference(z), f"{name} on an array of shape {z.shape}",
                   mistakes=mistakes, forbid=forbid, hint=hint)
        assert_unchanged(original, z, name)


def relu(answer_fn) -> None:
    _check_activation("relu", answer_fn, numpy_nn.relu, lambda z: {
        "the absolute value instead of cutting negatives to zero": np.abs(z),
        "keeping the negative part instead of the positive part": np.minimum(0, z),
    })


def sigmoid(answer_fn) -> None:
    with np.errstate(all="ignore"):
        _check_activation("sigmoid", answer_fn, numpy_nn.sigmoid, lambda z: {
            "a sign error: 1 / (1 + e^z) instead of 1 / (1 + e^-z)": 1 / (1 + np.exp(z)),
            "tanh instead of sigmoid": np.tanh(z),
        })


def tanh(answer_fn) -> None:
    with np.errstate(all="ignore"):
        _check_activation("tanh", answer_fn, numpy_nn.tanh, lambda z: {
            "sigmoid instead of tanh": numpy_nn.sigmoid(z),
            "a formula that overflows for large |z|": (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
        }, forbid=FORBID + ("numpy.tanh",),
            hint="For large |z|, e^z overflows to inf: find a form of tanh that stays finite.")


def _dense_mistakes(X, W, b):
    mistakes = {"forgetting the bias": X @ W}
    if X.shape[0] == W.shape[1]:
        mistakes["adding the bias along the batch axis instead of per output"] = X @ W + b[:, None]
    return mistakes


def dense_shapes(dense) -> None:
    rng = fresh_rng()
    for batch, n_in, n_out in ((1, 3, 2), (int(rng.integers(2, 9)), 5, 1), (4, 1, 6)):
        X, W, b = rng.normal(size=(batch, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
        with answer("dense", forbid=FORBID):
            out = dense(X, W, b)
        assert_equal(np.shape(out), (batch, n_out),
                     f"shape of dense(X, W, b) for X {X.shape}, W {W.shape}",
                     "Each row of X is one example; each column of W is one neuron.")


def dense_values(dense) -> None:
    rng = fresh_rng()
    n = int(rng.integers(2, 6))
    for batch, n_in, n_out in ((n, 4, n), (int(rng.integers(2, 9)), 3, 5), (1, 6, 2)):
        X, W, b = rng.normal(size=(batch, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)
        check_call("dense", dense, (X, W, b), X @ W + b,
                   f"dense(X, W, b) for X {X.shape}, W {W.shape}",
                   mistakes=_dense_mistakes(X, W, b), forbid=FORBID)


def _random_params(rng, sizes):
    return [(rng.normal(size=(a, c)), rng.normal(size=c)) for a, c in zip(sizes[:-1], sizes[1:])]


def _mlp_mistakes(X, params, act):
    mistakes = {
        "applying the activation after the last layer too": act(numpy_nn.mlp(X, params, act)),
        "forgetting the activation between layers": numpy_nn.mlp(X, params, numpy_nn.identity),
    }
    if len(params) > 1:
        mistakes["skipping the last layer"] = numpy_nn.mlp(X, params[:-1], act)
        mistakes["applying only the first layer's activation"] = act(numpy_nn.mlp(X, params[:-1], act)) @ params[-1][0] + params[-1][1]
    return mistakes


def mlp_one_layer(mlp) -> None:
    rng = fresh_rng()
    X = rng.normal(size=(5, 3))
    params = _random_params(rng, [3, 2])
    check_call("mlp", mlp, (X, params, RELU), X @ params[0][0] + params[0][1],
               "mlp with a single layer (no hidden layer)",
               mistakes={"applying the activation after the last layer": numpy_nn.relu(X @ params[0][0] + params[0][1]),
                         "forgetting the bias b (in mlp or in dense)": X @ params[0][0]},
               forbid=FORBID, hint="With a single layer, mlp(X, [(W, b)], activation) is X @ W + b.")


def mlp_deep(mlp) -> None:
    rng = fresh_rng()
    for sizes, act in (([2, 4, 1], TANH), ([3, 5, 4, 2], RELU), ([4, 3, 3, 3, 2], SIGMOID)):
        X = rng.normal(size=(int(rng.integers(1, 7)), sizes[0]))
        params = _random_params(rng, sizes)
        check_call("mlp", mlp, (X, params, act), numpy_nn.mlp(X, params, act),
                   f"mlp with layer sizes {sizes}", mistakes=_mlp_mistakes(X, params, act),
                   forbid=FORBID)


def count_parameters_hidden(count) -> None:
    rng = fresh_rng()
    for _ in range(4):
        sizes = [int(s) for s in rng.integers(1, 50, size=int(rng.integers(2, 6)))]
        with answer("count_parameters", forbid=FORBID):
            got = count(sizes)
        weights = sum(a * c for a, c in zip(sizes[:-1], sizes[1:]))
        assert_close(got, numpy_nn.count_parameters(sizes), f"count_parameters({sizes})", mistakes={
            "forgetting the biases": weights,
            "counting one bias per input instead of per neuron": weights + sum(sizes[:-1]),
            "counting the neurons instead of the parameters": sum(sizes),
            "giving the input layer biases too": weights + sum(sizes),
        }, atol=0.0, rtol=0.0)
        assert_equal(isinstance(got, (int, np.integer)), True, f"type of count_parameters({sizes})",
                     "A count of parameters is a whole number: return an int.")


# --- one check per graded test cell ------------------------------------------------------

def test_neuron_linear(answers) -> str:
    with answer("neuron"):
        out = answers.neuron(np.array([1.0, 2.0]), np.array([0.5, -0.25]), 0.1, IDENTITY)
    assert_close(out, 0.1, "neuron(x=[1, 2], w=[0.5, -0.25], b=0.1) with no activation")
    answers.hidden()
    neuron_linear(answers.neuron)
    return "neuron: weighted sum and bias are right."


def test_neuron_activation(answers) -> str:
    with answer("neuron"):
        out = answers.neuron(np.array([1.0, 2.0]), np.array([0.5, -0.25]), 0.1, STEP)
    assert_close(out, 1.0, "neuron(x=[1, 2], w=[0.5, -0.25], b=0.1) with a step activation")
    answers.hidden()
    neuron_activation(answers.neuron)
    return "neuron: the activation is applied in the right place."


def test_activations_relu(answers) -> str:
    with answer("relu"):
        out = answers.relu(np.array([-2.0, 0.0, 3.0]))
    assert_close(out, [0.0, 0.0, 3.0], "relu([-2, 0, 3])")
    answers.hidden()
    relu(answers.relu)
    return "relu: correct."


def test_activations_sigmoid(answers) -> str:
    with answer("sigmoid"):
        out = answers.sigmoid(np.array([0.0, 2.0]))
    assert_close(out, [0.5, 0.880797], "sigmoid([0, 2])")
    answers.hidden()
    sigmoid(answers.sigmoid)
    return "sigmoid: correct."


def test_activations_tanh(answers) -> str:
    with answer("tanh", forbid=["numpy.tanh"]):
        out = answers.tanh(np.array([0.0, 1.0, -1.0]))
    assert_close(out, [0.0, 0.761594, -0.761594], "tanh([0, 1, -1])")
    answers.hidden()
    tanh(answers.tanh)
    return "tanh: correct."


def test_dense_shapes(answers) -> str:
    with answer("dense"):
        out = answers.dense(np.ones((4, 3)), np.ones((3, 2)), np.zeros(2))
    assert_shape(out, (4, 2), "dense(X, W, b) with X of shape (4, 3) and W of shape (3, 2)")
    answers.hidden()
    dense_shapes(answers.dense)
    return "dense: output shapes are right."


def test_dense_values(answers) -> str:
    X = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
    W = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
    b = np.array([0.1, 0.2, 0.3])
    with answer("dense"):
        out = answers.dense(X, W, b)
    assert_close(out, [[2.1, 4.2, 1.3], [5.1, 8.2, 1.3], [-0.4, -1.8, -0.7]], "dense(X, W, b) for the worked example")
    answers.hidden()
    dense_values(answers.dense)
    return "dense: values are right."


def test_mlp_one_layer(answers) -> str:
    X = np.array([[1.0, -2.0]])
    params = [(np.array([[1.0], [1.0]]), np.array([0.5]))]
    with answer("mlp"):
        out = answers.mlp(X, params, RELU)
    assert_close(out, [[-0.5]], "mlp with one layer", mistakes={
        "the activation applied after the last layer (the output layer has none)": [[0.0]],
        "a missing bias b": [[-1.0]]}, hint="With one layer, mlp(X, [(W, b)], activation) is X @ W + b.")
    answers.hidden()
    mlp_one_layer(answers.mlp)
    return "mlp: one layer is right."


def test_mlp_deep(answers) -> str:
    X = np.array([[1.0, -2.0], [2.0, 1.0]])
    params = [(np.array([[1.0, -1.0], [1.0, 1.0]]), np.zeros(2)),
              (np.array([[3.0], [1.0]]), np.array([1.0]))]
    with answer("mlp"):
        out = answers.mlp(X, params, RELU)
    assert_close(out, [[1.0], [10.0]], "mlp with two layers and relu")
    answers.hidden()
    mlp_deep(answers.mlp)
    return "mlp: deeper networks are right."


def test_count_parameters_small(answers) -> str:
    with answer("count_parameters"):
        n = answers.count_parameters([2, 3, 1])
    assert_equal(n, 13, "count_parameters([2, 3, 1])")
    answers.hidden()
    count_parameters_hidden(answers.count_parameters)
    return "count_parameters: right for a small network."


def test_count_parameters_large(answers) -> str:
    with answer("count_parameters"):
        n = answers.count_parameters([784, 128, 64, 10])
    assert_equal(n, 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10, "count_parameters([784, 128, 64, 10])")
    answers.hidden()
    count_parameters_hidden(answers.count_parameters)
    return "count_parameters: right for a larger network."


# test cell -> (the answer it checks, what that answer must not use), for the static check
FORBIDDEN = {
    "test_neuron_linear": ("neuron", FORBID), "test_neuron_activation": ("neuron", FORBID),
    "test_activations_relu": ("relu", FORBID), "test_activations_sigmoid": ("sigmoid", FORBID),
    "test_activations_tanh": ("tanh", FORBID + ("numpy.tanh",)),
    "test_dense_shapes": ("dense", FORBID), "test_dense_values": ("dense", FORBID),
    "test_mlp_one_layer": ("mlp", FORBID), "test_mlp_deep": ("mlp", FORBID),
    "test_count_parameters_small": ("count_parameters", FORBID),
    "test_count_parameters_large": ("count_parameters", FORBID),
}
