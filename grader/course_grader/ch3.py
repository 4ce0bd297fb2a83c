"""Chapter 3 (how a model learns): one check per graded test cell, visible and hidden parts.

Each ``test_<grade_id>(answers)`` repeats the notebook's visible checks, then
(after ``answers.hidden()``) draws fresh inputs at grading time, compares
with a reference (torch where torch has one) and names the likely mistake.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.grading import (
    assert_close,
    assert_equal,
    assert_shape,
    assert_true,
    assert_unchanged,
    fresh_rng,
)
from course_grader.channel import answer, check_call, fn

FIX = "course_lib.grading.fixtures."
SOFTMAX_FORBID = (
    "torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax",
    "torch.log_softmax", "torch.nn.functional.log_softmax", "torch.Tensor.log_softmax",
    "course_lib.gpt", "course_lib.numpy_nn",
)
CROSS_ENTROPY_FORBID = SOFTMAX_FORBID + (
    "torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
)
BACKWARD_FORBID = (
    "torch.Tensor.backward", "torch.autograd.grad", "torch.autograd.backward",
    "course_lib.autograd.Value.backward",
)
PARAM_NAMES = ("W1", "b1", "W2", "b2")


# --- references -----------------------------------------------------------------

def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    return torch.softmax(torch.as_tensor(z, dtype=torch.float64), dim=axis).numpy()


def _cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    return F.cross_entropy(torch.as_tensor(logits, dtype=torch.float64),
                           torch.as_tensor(targets, dtype=torch.long)).item()


def _mlp_loss(X: np.ndarray, y: np.ndarray, params: dict) -> tuple[torch.Tensor, dict]:
    """The two-layer network's loss in torch, and its parameters as tensors that track gradients."""
    t = {k: torch.as_tensor(v, dtype=torch.float64).requires_grad_() for k, v in params.items()}
    hidden = torch.tanh(torch.as_tensor(X, dtype=torch.float64) @ t["W1"] + t["b1"])
    loss = F.cross_entropy(hidden @ t["W2"] + t["b2"], torch.as_tensor(y, dtype=torch.long))
    return loss, t


def _mlp_grads(X: np.ndarray, y: np.ndarray, params: dict) -> dict[str, np.ndarray]:
    """The gradients of the two-layer network's loss, by torch autograd."""
    loss, t = _mlp_loss(X, y, params)
    loss.backward()
    return {k: v.grad.numpy() for k, v in t.items()}


def _random_params(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int) -> dict:
    return {"W1": rng.normal(0, 1, (n_in, n_hidden)), "b1": rng.normal(0, 0.5, n_hidden),
            "W2": rng.normal(0, 1, (n_hidden, n_out)), "b2": rng.normal(0, 0.5, n_out)}


# --- softmax ------------------------------------------------------------------------

def softmax_values(softmax: Callable) -> None:
    """Random scores of several shapes; softmax along the last axis."""
    rng = fresh_rng()
    for shape in ((int(rng.integers(2, 8)),), (3, 5), (4, 4), (2, 3, 6)):
        z = rng.normal(0, 2, size=shape)
        with np.errstate(all="ignore"):
            mistakes = {
                "exponentiating without dividing by the sum": np.exp(z),
                "dividing the scores by their sum without exponentiating": z / z.sum(axis=-1, keepdims=True),
            }
            if z.ndim > 1:
                mistakes["normalising over the first axis instead of the last"] = _softmax(z, axis=0)
                mistakes["dividing by the sum over the whole array instead of each row"] = np.exp(z) / np.exp(z).sum()
        check_call("softmax", softmax, (z.copy(),), _softmax(z), f"softmax of an array of shape {shape}",
                   mistakes=mistakes, forbid=SOFTMAX_FORBID,
                   hint="Exponentiate, then divide by the sum along the last axis (axis=-1, keepdims=True).")


def softmax_stable(softmax: Callable) -> None:
    """Huge and very negative scores: finite results, inputs left unchanged."""
    rng = fresh_rng()
    cases = [
        rng.normal(0, 1, size=5) + 1000.0,
        rng.normal(0, 1, size=(3, 4)) * 400.0,
        np.array([[-1000.0, -1001.0, -1002.0], [800.0, 0.0, -800.0]]),
    ]
    for z in cases:
        original = z.copy()
        check_call("softmax", softmax, (z,), _softmax(z), f"softmax of scores as large as {np.abs(z).max():.0f}",
                   forbid=SOFTMAX_FORBID,
                   hint="e^1000 overflows to inf. Subtract each row's maximum score first: "
                        "softmax(z) equals softmax(z - c) for any constant c.")
        assert_unchanged(original, z, "softmax")


# --- cross-entropy --------------------------------------------------------------------

def _ce_mistakes(logits: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    rows = np.arange(len(targets))
    with np.errstate(all="ignore"):
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        picked = np.log(p[rows, targets])
        return {
            "summing the losses instead of taking their mean": -picked.sum(),
            "forgetting the minus sign": picked.mean(),
            "forgetting the log (the mean of -p)": -p[rows, targets].mean(),
            "taking -log p of the scores without softmax": -np.log(np.abs(logits[rows, targets])).mean(),
            "averaging -log p over every word, not only the right ones": -np.log(p).mean(),
        }


def cross_entropy_values(cross_entropy: Callable) -> None:
    rng = fresh_rng()
    for n, v in ((1, 3), (int(rng.integers(2, 9)), 5), (16, 11)):
        logits, targets = rng.normal(0, 2, size=(n, v)), rng.integers(0, v, size=n)
        check_call("cross_entropy", cross_entropy, (logits.copy(), targets.copy()),
                   _cross_entropy(logits, targets), f"cross_entropy for {n} predictions over {v} words",
                   mistakes=_ce_mistakes(logits, targets), forbid=CROSS_ENTROPY_FORBID)


def cross_entropy_stable(cross_entropy: Callable) -> None:
    rng = fresh_rng()
    for scale in (100.0, 1000.0):
        logits = rng.normal(0, scale, size=(6, 4))
        targets = rng.integers(0, 4, size=6)
        targets[0] = int(np.argmin(logits[0]))  # a confident wrong prediction
        check_call("cross_entropy", cross_entropy, (logits.copy(), targets.copy()),
                   _cross_entropy(logits, targets), f"cross_entropy for scores as large as {scale:g}",
                   mistakes=_ce_mistakes(logits, targets), forbid=CROSS_ENTROPY_FORBID,
                   hint="log(softmax) of huge scores gives log(0) = -inf. Use "
                        "log p_i = z_i - max(z) - log(sum_j e^(z_j - max(z))).", atol=1e-5)


# --- numerical gradient -----------------------------------------------------------------

def _central(f: Callable, x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        bump = np.zeros_like(x)
        bump[i] = eps
        grad[i] = (f(x + bump) - f(x - bump)) / (2 * eps)
    return grad


def _forward(f: Callable, x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        bump = np.zeros_like(x)
        bump[i] = eps
        grad[i] = (f(x + bump) - f(x)) / eps
    return grad


def numerical_gradient_values(numerical_gradient: Callable) -> None:
    """Smooth functions of vectors and matrices: the estimate is close to the true gradient."""
    rng = fresh_rng()
    A = rng.normal(size=(4, 4))
    cases = [
        (fn(FIX + "quadratic_form", A), rng.normal(size=4), lambda x: (A + A.T) @ x, "x @ A @ x"),
        (fn(FIX + "sin_times_x"), rng.normal(size=(2, 3)),
         lambda x: np.cos(x) * x + np.sin(x), "sum(sin(x) * x) for a 2-D x"),
        (fn(FIX + "log_sum_exp"), rng.normal(size=5), lambda x: _softmax(x),
         "log(sum(exp(x)))"),
    ]
    for f, x, true_grad, name in cases:
        original = x.copy()
        with answer("numerical_gradient"):
            got = numerical_gradient(f, x, 1e-5)
        assert_close(got, true_grad(original), f"numerical_gradient of {name}", atol=1e-5,
                     hint="Bump one entry of x at a time by +eps and -eps; "
                          "(f(x + eps) - f(x - eps)) / (2 eps) goes in that entry of the gradient.")
        assert_unchanged(original, x, "numerical_gradient")


def numerical_gradient_central(numerical_gradient: Callable) -> None:
    """With a large eps, only the central difference matches exactly."""
    rng = fresh_rng()
    for shape, eps in (((3,), 1e-2), ((2, 2), 0.05)):
        x = rng.normal(size=shape)
        c = rng.uniform(0.5, 2.0, size=shape)
        f = fn(FIX + "weighted_cube", c, list(shape))

        original = x.copy()
        with answer("numerical_gradient"):
            got = numerical_gradient(f, x, eps)
        assert_close(got, _central(f, original, eps), f"numerical_gradient of sum(c * x**3) with eps={eps}",
                     mistakes={"the forward difference (f(x + eps) - f(x)) / eps instead of the central one":
                               _forward(f, original, eps),
                               "dividing by eps instead of 2 eps": 2 * _central(f, original, eps)},
                     atol=1e-8)
        assert_unchanged(original, x, "numerical_gradient")


# --- backward pass by hand -----------------------------------------------------------------

def _backward_case(mlp_backward: Callable, rng: np.random.Generator, n: int, n_in: int, n_hidden: int,
                   n_out: int, names: tuple[str, ...]) -> None:
    X = rng.normal(size=(n, n_in))
    y = rng.integers(0, n_out, size=n)
    params = _random_params(rng, n_in, n_hidden, n_out)
    saved = {k: v.copy() for k, v in params.items()}
    with answer("mlp_backward", forbid=BACKWARD_FORBID):
        grads = mlp_backward(X, y, params)
    added, removed = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
    assert_true(not added and not removed,
                f"mlp_backward changed the keys of the params dict it was given (added {added}, removed "
                f"{removed}). Keep intermediate values such as the hidden layer in local variables, not in params.")
    for k in params:
        assert_unchanged(saved[k], params[k], f"mlp_backward (params[{k!r}])")
    assert_true(isinstance(grads, dict), f"mlp_backward should return a dict of gradients, got {type(grads).__name__}.")
    assert_equal(sorted(grads), sorted(PARAM_NAMES), "the keys of the returned dict")
    expected = _mlp_grads(X, y, params)
    for k in names:
        assert_shape(grads[k], params[k].shape, f"grads[{k!r}]", "A gradient has the shape of its parameter.")
        assert_close(grads[k], expected[k], f"grads[{k!r}] for a batch of {n}, hidden size {n_hidden}",
                     mistakes=_backward_mistakes(X, y, params, k), atol=1e-6)


def _backward_mistakes(X: np.ndarray, y: np.ndarray, params: dict, name: str) -> dict[str, np.ndarray]:
    n = len(y)
    right = _mlp_grads(X, y, params)[name]
    mistakes = {"summing over the batch instead of averaging (no division by the batch size)": n * right,
                "a sign error (one-hot minus probabilities)": -right}
    if name in ("W1", "b1"):
        pre = X @ params["W1"] + params["b1"]
        hidden = np.tanh(pre)
        dlogits = _softmax(hidden @ params["W2"] + params["b2"])
        dlogits[np.arange(n), y] -= 1.0
        dhidden = dlogits / n @ params["W2"].T
        for description, dpre in (("forgetting the derivative of tanh", dhidden),
                                  ("using 1 - z^2 with the pre-activation z instead of 1 - tanh(z)^2",
                                   dhidden * (1 - pre**2))):
            mistakes[description] = X.T @ dpre if name == "W1" else dpre.sum(axis=0)
    return mistakes


def mlp_backward_output_layer(mlp_backward: Callable) -> None:
    rng = fresh_rng()
    for n, n_in, n_hidden, n_out in ((1, 2, 3, 2), (int(rng.integers(3, 9)), 3, 5, 4), (16, 4, 8, 3)):
        _backward_case(mlp_backward, rng, n, n_in, n_hidden, n_out, ("W2", "b2"))


def mlp_backward_hidden_layer(mlp_backward: Callable) -> None:
    rng = fresh_rng()
    for n, n_in, n_hidden, n_out in ((1, 2, 3, 2), (int(rng.integers(3, 9)), 3, 5, 4), (16, 4, 8, 3)):
        _backward_case(mlp_backward, rng, n, n_in, n_hidden, n_out, ("W1", "b1"))


# --- one SGD step ---------------------------------------------------------------------------

def _random_dicts(rng: np.random.Generator) -> tuple[dict, dict]:
    shapes = {"W1": (3, 4), "b1": (4,), "W2": (4, 2), "b2": (2,)}
    return ({k: rng.normal(size=s) for k, s in shapes.items()},
            {k: rng.normal(size=s) for k, s in shapes.items()})


def sgd_step_values(sgd_step: Callable) -> None:
    rng = fresh_rng()
    for lr in (0.1, float(rng.uniform(0.01, 2.0))):
        params, grads = _random_dicts(rng)
        expected = {k: params[k] - lr * grads[k] for k in params}
        with answer("sgd_step"):
            new = sgd_step({k: v.copy() for k, v in params.items()}, grads, lr)
        assert_true(isinstance(new, dict), f"sgd_step should return a dict, got {type(new).__name__}.")
        assert_equal(sorted(new), sorted(params), "the keys of the returned dict")
        for k in params:
            assert_close(new[k], expected[k], f"sgd_step: the new {k!r} with lr={lr:.3g}",
                         mistakes={"stepping uphill (adding the gradient)": params[k] + lr * grads[k],
                                   "forgetting the learning rate": params[k] - grads[k],
                                   "returning the gradient step instead of the new parameters": -lr * grads[k]})


def sgd_step_inputs_unchanged(sgd_step: Callable) -> None:
    rng = fresh_rng()
    params, grads = _random_dicts(rng)
    saved_p = {k: v.copy() for k, v in params.items()}
    saved_g = {k: v.copy() for k, v in grads.items()}
    with answer("sgd_step"):
        new = sgd_step(params, grads, 0.5)
    for k in params:
        assert_unchanged(saved_p[k], params[k], f"sgd_step (params[{k!r}])")
        assert_unchanged(saved_g[k], grads[k], f"sgd_step (grads[{k!r}])")
        assert_close(new[k], saved_p[k] - 0.5 * saved_g[k], f"sgd_step: the new {k!r}")


# --- a training loop ----------------------------------------------------------------------

def blobs(rng: np.random.Generator, n_per_class: int = 60, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Points around ``classes`` centres on a circle of radius 3, ordered by class."""
    angle = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(classes) / classes
    centres = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    y = np.repeat(np.arange(classes), n_per_class)
    return centres[y] + rng.normal(size=(len(y), 2)), y


def initial_params(rng: np.random.Generator, n_in: int, n_hidden: int, n_out: int) -> dict:
    """Small random weights, zero biases."""
    return {"W1": rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": rng.normal(0, 1 / np.sqrt(n_hidden), (n_hidden, n_out)), "b2": np.zeros(n_out)}


def full_loss(X: np.ndarray, y: np.ndarray, params: dict) -> float:
    """The loss of the two-layer network on all of (X, y)."""
    return _mlp_loss(X, y, params)[0].item()


def train_improves(X: np.ndarray, y: np.ndarray, start: dict, trained: dict) -> None:  # noqa: D103
    """A short run must lower the loss on all the data by at least 10%."""
    before, after = full_loss(X, y, start), full_loss(X, y, trained)
    assert_true(after < 0.9 * before, f"train: the loss on all the data went from {before:.3f} to "
                f"{after:.3f}; a short run should lower it clearly.")


def train_uses_seed(train: Callable, X: np.ndarray, y: np.ndarray, start: dict) -> None:
    """Mini-batches drawn at random from the seed: two seeds, two different runs."""
    runs = []
    for seed in (0, 1):
        with answer("train", forbid=BACKWARD_FORBID):
            runs.append(train(X, y, {k: v.copy() for k, v in start.items()}, 5, 0.5, 32, seed))
    assert_true(not np.allclose(np.asarray(runs[0][1], dtype=float), np.asarray(runs[1][1], dtype=float)),
                "train gave the same mini-batch losses with seed=0 and seed=1: draw each mini-batch at "
                "random, from a generator made from `seed`.")


def train_procedure(train: Callable) -> None:
    """The procedure the text asks for: one generator seeded once, a mini-batch per step, the loss before it.

    With ``lr=0`` the parameters never move, so each recorded loss is the loss of that step's mini-batch:
    equal losses at every step mean the same batch every step (or all the data). On data whose examples
    are all the same, every mini-batch has the loss of the starting parameters, so the first recorded loss
    must be exactly that (a loss recorded after the step is lower).
    """
    rng = fresh_rng()
    X, y = blobs(rng, n_per_class=20)
    params = initial_params(rng, 2, 8, 3)
    seed = int(rng.integers(1000))
    with answer("train", forbid=BACKWARD_FORBID):
        _, losses = train(X.copy(), y.copy(), {k: v.copy() for k, v in params.items()}, 8, 0.0, 4, seed)
    losses = np.asarray(losses, dtype=float).reshape(-1)
    assert_equal(len(losses), 8, "the number of losses returned for steps=8 (one per step)")
    everything = full_loss(X, y, params)
    if np.allclose(losses, everything, rtol=1e-9, atol=1e-12):
        raise AssertionError(
            f"train(..., steps=8, lr=0, batch_size=4): every recorded loss is {everything:.6f}, the loss of "
            f"all {len(X)} examples. Each step should use a mini-batch of batch_size examples drawn at random.")
    if np.ptp(losses) < 1e-12:
        raise AssertionError(
            f"train(..., steps=8, lr=0, batch_size=4): with lr=0 the parameters never change, so each loss "
            f"is the loss of one mini-batch; all 8 are {losses[0]:.6f}: the same mini-batch at every step. "
            "Draw a new random mini-batch at each step, from one generator created before the loop "
            "(rng = np.random.default_rng(seed)).")
    X_same, y_same = np.repeat(X[:1], 12, axis=0), np.repeat(y[:1], 12)
    with answer("train", forbid=BACKWARD_FORBID):
        _, losses = train(X_same.copy(), y_same.copy(), {k: v.copy() for k, v in params.items()}, 2, 0.5, 4, seed)
    first = float(np.asarray(losses, dtype=float).reshape(-1)[0])
    before = full_loss(X_same, y_same, params)
    after = full_loss(X_same, y_same, {k: params[k] - 0.5 * g for k, g in _mlp_grads(X_same, y_same, params).items()})
    if not np.isclose(first, before, rtol=1e-6, atol=1e-9):
        mistake = (" It is the loss after the first step."
                   if np.isclose(first, after, rtol=1e-6, atol=1e-9) else "")
        raise AssertionError(
            f"train on {len(X_same)} copies of one example (every mini-batch has the same loss): the first "
            f"recorded loss is {first:.6f}, but the starting parameters' loss on the mini-batch is "
            f"{before:.6f}. Record each step's mini-batch loss (mlp_loss) before its sgd_step.{mistake}")


def train_reaches_target(train: Callable, steps: int = 200, target: float = 0.4) -> None:
    """Fresh data and weights: the trained network's loss on all the data must fall below ``target``."""
    rng = fresh_rng()
    X, y = blobs(rng)
    params = initial_params(rng, 2, 16, 3)
    start = full_loss(X, y, params)
    with answer("train", forbid=BACKWARD_FORBID, seconds=20):
        trained, losses = train(X, y, params, steps, 0.5, 32, int(rng.integers(1000)))
    assert_equal(sorted(trained), sorted(PARAM_NAMES), "the keys of the trained parameters")
    end = full_loss(X, y, trained)
    assert_true(np.isfinite(end), f"train: the loss became {end}. Are you stepping downhill (params - lr * grads)?")
    assert_true(end < target,
                f"train: after {steps} steps the loss on all the data is {end:.3f} (it started at "
                f"{start:.3f}); it should fall below {target}. Does every step use the parameters "
                "returned by the previous step, and a new random mini-batch?")
    assert_equal(len(losses), steps, "the number of losses returned (one per step)")


# --- one check per graded test cell ----------------------------------------------------

BACKWARD_FORBID_VISIBLE = ["torch.Tensor.backward", "torch.autograd.grad", "torch.autograd.backward"]
X_SMALL = np.array([[1.0, -1.0], [0.5, 2.0], [-1.5, 0.0]])
Y_SMALL = np.array([0, 2, 1])
PARAMS_SMALL = {"W1": np.array([[0.5, -0.3], [0.2, 0.8]]), "b1": np.array([0.1, -0.1]),
                "W2": np.array([[1.0, -0.5, 0.3], [-0.4, 0.6, 0.9]]), "b2": np.array([0.0, 0.2, -0.2])}


def _small():
    return X_SMALL.copy(), Y_SMALL.copy(), {k: v.copy() for k, v in PARAMS_SMALL.items()}


def make_clusters(seed: int = 0, n_per_class: int = 60) -> tuple:
    """The notebook's training data: three clusters of 2-D points, labelled 0, 1, 2."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(3) / 3
    centres = 3.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    y = np.repeat(np.arange(3), n_per_class)
    return centres[y] + rng.normal(size=(len(y), 2)), y


def init_params(n_in: int, n_hidden: int, n_out: int, seed: int = 0) -> dict:
    """The notebook's starting weights."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": rng.normal(0, 1 / np.sqrt(n_hidden), (n_hidden, n_out)), "b2": np.zeros(n_out)}


def test_softmax_values(answers) -> str:
    forbid = ["torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax"]
    with answer("softmax", forbid=forbid):
        p = answers.softmax(np.array([1.0, 2.0, 3.0]))
        rows = answers.softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]]))
    assert_close(p, [0.090031, 0.244728, 0.665241], "softmax([1, 2, 3])")
    assert_close(rows, [[0.5, 0.5], [0.25, 0.75]], "softmax of a 2-D array, row by row",
                 hint="Apply softmax to each row: sums along the last axis (axis=-1).")
    answers.hidden()
    softmax_values(answers.softmax)
    return "softmax: the probabilities are right."


def test_softmax_stable(answers) -> str:
    with answer("softmax"):
        p = answers.softmax(np.array([1000.0, 1001.0, 1002.0]))
    assert_close(p, [0.090031, 0.244728, 0.665241], "softmax([1000, 1001, 1002])",
                 hint="e^1000 overflows to inf: subtract the largest score first.")
    answers.hidden()
    softmax_stable(answers.softmax)
    return "softmax: stable for large scores."


def test_cross_entropy_values(answers) -> str:
    with answer("cross_entropy"):
        uniform = answers.cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
        one = answers.cross_entropy(np.array([[2.0, 1.0, 0.0]]), np.array([0]))
    assert_close(uniform, np.log(4), "cross_entropy of uniform scores over 4 words",
                 hint="Every word has probability 1/4, so every loss is -log(1/4) = log 4.")
    assert_close(one, 0.407606, "cross_entropy([[2, 1, 0]], targets=[0])")
    answers.hidden()
    cross_entropy_values(answers.cross_entropy)
    return "cross_entropy: the loss is right."


def test_cross_entropy_stable(answers) -> str:
    with answer("cross_entropy"):
        loss = answers.cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([1, 1]))
    assert_close(loss, 500.0, "cross_entropy with one confident wrong and one confident right prediction",
                 hint="The wrong one costs -log p = 1000; the right one 0; the mean is 500. "
                      "Compute log p without forming p.")
    answers.hidden()
    cross_entropy_stable(answers.cross_entropy)
    return "cross_entropy: stable for large scores."


def test_numerical_gradient_values(answers) -> str:
    x = np.array([1.0, -2.0, 3.0])
    with answer("numerical_gradient"):
        g = answers.numerical_gradient(fn(FIX + "power_sum", 2), x, 1e-5)
    assert_close(g, [2.0, -4.0, 6.0], "numerical_gradient of sum(x**2) at [1, -2, 3]", atol=1e-6)
    assert_close(x, [1.0, -2.0, 3.0], "x after the call", hint="Do not change x: bump a copy.")
    answers.hidden()
    numerical_gradient_values(answers.numerical_gradient)
    return "numerical_gradient: close to the true gradient."


def test_numerical_gradient_central(answers) -> str:
    with answer("numerical_gradient"):
        g = answers.numerical_gradient(fn(FIX + "power_sum", 3), np.array([1.0, 2.0]), 0.01)
    assert_close(g, [3.0001, 12.0001], "numerical_gradient of sum(x**3) at [1, 2] with eps=0.01", atol=1e-8,
                 hint="Use the central difference (f(x + eps) - f(x - eps)) / (2 eps).")
    answers.hidden()
    numerical_gradient_central(answers.numerical_gradient)
    return "numerical_gradient: a central difference."


def test_mlp_backward_output_layer(answers) -> str:
    with answer("mlp_backward", forbid=BACKWARD_FORBID_VISIBLE):
        grads = answers.mlp_backward(*_small())
    assert_true(isinstance(grads, dict), "mlp_backward should return a dict of gradients.")
    assert_shape(grads["W2"], (2, 3), 'grads["W2"]', "A gradient has the shape of its parameter.")
    assert_close(grads["W2"], [[-0.014192, 0.168238, -0.154046], [0.187752, -0.014593, -0.17316]],
                 'grads["W2"] for the small example', atol=1e-5)
    assert_close(grads["b2"], [0.023775, 0.026879, -0.050654], 'grads["b2"] for the small example', atol=1e-5)
    answers.hidden()
    mlp_backward_output_layer(answers.mlp_backward)
    return "mlp_backward: the output layer's gradients match torch."


def test_mlp_backward_hidden_layer(answers) -> str:
    with answer("mlp_backward", forbid=BACKWARD_FORBID_VISIBLE):
        grads = answers.mlp_backward(*_small())
    assert_shape(grads["W1"], (2, 2), 'grads["W1"]', "A gradient has the shape of its parameter.")
    assert_close(grads["W1"], [[-0.264815, 0.049309], [0.09145, -0.107235]],
                 'grads["W1"] for the small example', atol=1e-5)
    assert_close(grads["b1"], [-0.025971, -0.013993], 'grads["b1"] for the small example', atol=1e-5)
    answers.hidden()
    mlp_backward_hidden_layer(answers.mlp_backward)
    return "mlp_backward: the hidden layer's gradients match torch."


def test_sgd_step_values(answers) -> str:
    with answer("sgd_step"):
        new = answers.sgd_step({"w": np.array([1.0, 2.0]), "b": np.array([0.5])},
                               {"w": np.array([10.0, -10.0]), "b": np.array([1.0])}, 0.1)
    assert_close(new["w"], [0.0, 3.0], 'sgd_step: the new "w"')
    assert_close(new["b"], [0.4], 'sgd_step: the new "b"')
    answers.hidden()
    sgd_step_values(answers.sgd_step)
    return "sgd_step: steps downhill."


def test_sgd_step_inputs_unchanged(answers) -> str:
    params = {"w": np.array([1.0, 2.0])}
    with answer("sgd_step"):
        answers.sgd_step(params, {"w": np.array([1.0, 1.0])}, 0.5)
    assert_close(params["w"], [1.0, 2.0], 'params["w"] after sgd_step',
                 hint="Build new arrays (params[name] - ...) instead of changing the old ones in place (-=).")
    answers.hidden()
    sgd_step_inputs_unchanged(answers.sgd_step)
    return "sgd_step: leaves its inputs alone."


def test_train_history(answers) -> str:
    X_train, y_train = make_clusters(seed=0)
    start_params = init_params(2, 16, 3, seed=0)
    start = {k: v.copy() for k, v in start_params.items()}  # before the call: a train that updates in place is fine
    with answer("train", forbid=BACKWARD_FORBID_VISIBLE):
        trained, losses = answers.train(X_train, y_train, start_params, 50, 0.5, 32, seed=0)
    assert_equal(len(losses), 50, "len(losses) after 50 steps", "Record one loss per step.")
    assert_equal(sorted(trained), ["W1", "W2", "b1", "b2"], "the keys of the trained parameters")
    assert_true(np.mean(losses[-10:]) < np.mean(losses[:10]),
                "train: the mini-batch losses should go down during training.")
    answers.hidden()
    train_improves(X_train, y_train, start, trained)
    train_uses_seed(answers.train, X_train, y_train, start)
    train_procedure(answers.train)
    return "train: records the losses and improves the model."


def test_train_reaches_target(answers) -> str:
    X_train, y_train = make_clusters(seed=0)
    start_params = init_params(2, 16, 3, seed=0)
    with answer("train", forbid=BACKWARD_FORBID_VISIBLE, seconds=20):
        trained, losses = answers.train(X_train, y_train, start_params, 200, 0.5, 32, seed=0)
        final = answers.mlp_loss(X_train, y_train, trained)   # the notebook's own mlp_loss, as the kernel ran it
    assert_true(final < 0.4, f"train: after 200 steps the loss on all the data is {final:.3f}; it should be below 0.4.")
    answers.hidden()
    train_reaches_target(answers.train)
    return f"train: the loss on all the data fell to {final:.3f}."


FORBIDDEN = {
    "test_softmax_values": ("softmax", SOFTMAX_FORBID), "test_softmax_stable": ("softmax", SOFTMAX_FORBID),
    "test_cross_entropy_values": ("cross_entropy", CROSS_ENTROPY_FORBID),
    "test_cross_entropy_stable": ("cross_entropy", CROSS_ENTROPY_FORBID),
    "test_mlp_backward_output_layer": ("mlp_backward", BACKWARD_FORBID),
    "test_mlp_backward_hidden_layer": ("mlp_backward", BACKWARD_FORBID),
    "test_train_history": ("train", BACKWARD_FORBID), "test_train_reaches_target": ("train", BACKWARD_FORBID),
}
