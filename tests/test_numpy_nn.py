"""course_lib.numpy_nn: numpy building blocks, checked against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import numpy_nn


def test_activations_match_torch():
    z = np.linspace(-50, 50, 1001)
    t = torch.tensor(z)
    np.testing.assert_allclose(numpy_nn.relu(z), torch.relu(t).numpy())
    np.testing.assert_allclose(numpy_nn.sigmoid(z), torch.sigmoid(t).numpy(), atol=1e-12)
    np.testing.assert_allclose(numpy_nn.tanh(z), torch.tanh(t).numpy(), atol=1e-12)
    np.testing.assert_allclose(numpy_nn.identity(z), z)


def test_sigmoid_is_finite_and_quiet_for_extreme_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = numpy_nn.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0])


def test_neuron_is_activation_of_weighted_sum_plus_bias():
    x, w = np.array([2.0, -1.0]), np.array([0.5, 1.5])
    assert numpy_nn.neuron(x, w, 0.25) == pytest.approx(-0.25)
    assert numpy_nn.neuron(x, w, 0.25, numpy_nn.relu) == 0.0


def test_dense_and_mlp_match_torch():
    rng = np.random.default_rng(0)
    params = numpy_nn.init_mlp([3, 5, 4, 2], seed=3)
    X = rng.normal(size=(7, 3))
    layers = []
    for i, (W, b) in enumerate(params):
        linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W.T))
            linear.bias.copy_(torch.tensor(b))
        layers.append(linear)
        if i < len(params) - 1:
            layers.append(torch.nn.Tanh())
    expected = torch.nn.Sequential(*layers)(torch.tensor(X)).detach().numpy()
    np.testing.assert_allclose(numpy_nn.mlp(X, params, numpy_nn.tanh), expected, atol=1e-12)
    np.testing.assert_allclose(numpy_nn.dense(X, *params[0]), layers[0](torch.tensor(X)).detach().numpy(), atol=1e-12)


def test_count_parameters_matches_torch():
    sizes = [784, 128, 64, 10]
    model = torch.nn.Sequential(*[torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
    assert numpy_nn.count_parameters(sizes) == sum(p.numel() for p in model.parameters())


def test_init_mlp_rejects_bad_sizes():
    with pytest.raises(ValueError):
        numpy_nn.init_mlp([3])
    with pytest.raises(ValueError):
        numpy_nn.init_mlp([3, 0, 1])
