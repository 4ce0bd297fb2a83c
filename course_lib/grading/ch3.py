"""Hidden checks for Chapter 3 (how a model learns).

Each function takes the learner's answer, draws fresh inputs at grading time,
compares with a reference (torch where torch has one) and names the likely
mistake on failure.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.grading import (
    answer,
    assert_close,
    assert_equal,
    assert_shape,
    assert_true,
    assert_unchanged,
    check_call,
    fresh_rng,
)

SOFTMAX_FORBID = (
    "torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax",
    "torch.log_softmax", "torch.nn.functional.log_softmax", "torch.Tensor.log_softmax",
    "course_lib.gpt", "course_lib.nn",
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
        (lambda x: float(x @ A @ x), rng.normal(size=4), lambda x: (A + A.T) @ x, "x @ A @ x"),
        (lambda x: float(np.sum(np.sin(x) * x)), rng.normal(size=(2, 3)),
         lambda x: np.cos(x) * x + np.sin(x), "sum(sin(x) * x) for a 2-D x"),
        (lambda x: float(np.log(np.sum(np.exp(x)))), rng.normal(size=5), lambda x: _softmax(x),
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

        def f(v: np.ndarray) -> float:
            assert_equal(np.shape(v), shape, "the shape of the array passed to f",
                         "Call f with an array shaped like x, with one entry changed.")
            return float(np.sum(c * v**3))

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


def train_improves(X: np.ndarray, y: np.ndarray, start: dict, trained: dict) -> None:
    """A short run must lower the loss on all the data by at least 10%."""
    before, after = full_loss(X, y, start), full_loss(X, y, trained)
    assert_true(after < 0.9 * before, f"train: the loss on all the data went from {before:.3f} to "
                f"{after:.3f}; a short run should lower it clearly.")


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
