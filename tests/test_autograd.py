"""course_lib.autograd: every operation and a small MLP checked against torch autograd."""

import math
import random

import pytest
import torch

from course_lib.autograd import Value, ValueMLP, topological_order, zero_grad

TOL = 1e-6


def leaves(*xs: float) -> tuple[list[Value], list[torch.Tensor]]:
    """The same numbers as Values and as float64 torch leaves."""
    return [Value(x) for x in xs], [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]


def check(fn, *xs: float) -> None:
    """fn on Values and on torch tensors: same output and same gradients."""
    vs, ts = leaves(*xs)
    out, tout = fn(*vs), fn(*ts)
    out.backward()
    tout.backward()
    assert out.data == pytest.approx(tout.item(), abs=TOL, rel=TOL)
    for v, t in zip(vs, ts):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(expected, abs=TOL, rel=TOL)


def random_inputs(n: int, count: int = 5, low: float = -3.0, high: float = 3.0) -> list[list[float]]:
    rng = random.Random(n * 100 + count)
    return [[rng.uniform(low, high) for _ in range(n)] for _ in range(count)]


BINARY = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub": lambda a, b: a - b,
    "div": lambda a, b: a / b,
}
UNARY = {
    "neg": lambda a: -a,
    "pow2": lambda a: a**2,
    "pow3": lambda a: a**3,
    "pow-1": lambda a: a**-1,
    "exp": lambda a: a.exp(),
    "tanh": lambda a: a.tanh(),
    "relu": lambda a: a.relu(),
    "radd": lambda a: 2.5 + a,
    "rmul": lambda a: 2.5 * a,
    "rsub": lambda a: 2.5 - a,
    "rtruediv": lambda a: 2.5 / a,
    "add_const": lambda a: a + 1.5,
    "mul_const": lambda a: a * -1.5,
    "sub_const": lambda a: a - 1.5,
    "div_const": lambda a: a / 4.0,
}
POSITIVE = {  # need a positive input
    "log": lambda a: a.log(),
    "sqrt": lambda a: a**0.5,
    "pow-1.5": lambda a: a**-1.5,
}


@pytest.mark.parametrize("name", BINARY)
def test_binary_ops_match_torch(name):
    for a, b in random_inputs(2):
        if abs(b) < 0.1:
            b = 0.5
        check(BINARY[name], a, b)


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_match_torch(name):
    for (a,) in random_inputs(1):
        if abs(a) < 0.1:
            a = 0.5
        check(UNARY[name], a)


@pytest.mark.parametrize("name", POSITIVE)
def test_positive_only_ops_match_torch(name):
    for (a,) in random_inputs(1, low=0.1, high=5.0):
        check(POSITIVE[name], a)


def test_composed_expression_matches_torch():
    def f(a, b, c):
        d = a * b + c**2 - 3.0 / a
        e = (d.tanh() * c).exp() + (b * b + 1.0).log()
        return (e - a).relu() + e / (1.0 + c * c)

    for a, b, c in random_inputs(3):
        check(f, a if abs(a) > 0.1 else 0.7, b, c)


def test_node_used_twice_gets_both_contributions():
    a = Value(1.5)
    (a * a + a).backward()
    assert a.grad == pytest.approx(2 * 1.5 + 1)  # d(a^2 + a)/da
    check(lambda a: a * a + a, -0.8)
    check(lambda a, b: (a * b).tanh() * (a * b) + a, 0.3, -1.2)


def test_repeated_backward_accumulates_like_torch():
    def f(a, b):
        c = a * b + a  # an interior node used twice below
        return c * c + c.tanh()

    vs, ts = leaves(0.7, -1.3)
    out, tout = f(*vs), f(*ts)
    for _ in range(3):
        out.backward()
        tout.backward(retain_graph=True)
    for v, t in zip(vs, ts):
        assert v.grad == pytest.approx(t.grad.item(), rel=TOL)

    zero_grad(out)
    assert all(node.grad == 0.0 for node in topological_order(out))
    out.backward()
    once = [v.grad for v in vs]
    for t in ts:
        t.grad = None
    tout.backward()
    assert once == pytest.approx([t.grad.item() for t in ts], rel=TOL)


def test_mlp_gradients_match_torch():
    model = ValueMLP(3, [4, 4, 2], activation="tanh", seed=1)
    xs = [[0.5, -1.0, 2.0], [-0.3, 0.8, 0.1], [1.2, 0.0, -0.7]]
    ys = [[1.0, -1.0], [0.0, 0.5], [-0.5, 1.0]]

    loss = sum(((o - y) ** 2 for x, yrow in zip(xs, ys) for o, y in zip(model(x), yrow)), Value(0.0))
    model.zero_grad()
    loss.backward()

    # the identical torch model, built from the same numbers
    params = [p.data for p in model.parameters()]
    torch_layers, k = [], 0
    for i, (nin, nout) in enumerate([(3, 4), (4, 4), (4, 2)]):
        lin = torch.nn.Linear(nin, nout, dtype=torch.float64)
        with torch.no_grad():
            for j in range(nout):  # each neuron: its weights, then its bias
                lin.weight[j] = torch.tensor(params[k : k + nin], dtype=torch.float64)
                lin.bias[j] = params[k + nin]
                k += nin + 1
        torch_layers += [lin, torch.nn.Tanh()] if i < 2 else [lin]
    net = torch.nn.Sequential(*torch_layers)
    tloss = ((net(torch.tensor(xs, dtype=torch.float64)) - torch.tensor(ys, dtype=torch.float64)) ** 2).sum()
    tloss.backward()

    assert loss.data == pytest.approx(tloss.item(), rel=TOL)
    torch_grads = []
    for lin in net[::2]:
        for j in range(lin.out_features):
            torch_grads += lin.weight.grad[j].tolist() + [lin.bias.grad[j].item()]
    assert [p.grad for p in model.parameters()] == pytest.approx(torch_grads, rel=TOL, abs=TOL)


def test_mlp_relu_and_parameter_count():
    model = ValueMLP(2, [3, 1], activation="relu")
    assert len(model.parameters()) == 3 * (2 + 1) + 1 * (3 + 1)
    (out,) = model([1.0, -2.0])
    assert isinstance(out, Value)
    with pytest.raises(ValueError):
        ValueMLP(2, [1], activation="sigmoid")


def test_domain_errors_raise_clear_value_errors():
    with pytest.raises(ValueError, match="positive"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="positive"):
        Value(-2.0).log()
    with pytest.raises(ValueError, match="division by zero"):
        Value(1.0) / Value(0.0)
    with pytest.raises(ValueError, match="division by zero"):
        3.0 / Value(0.0)
    with pytest.raises(ValueError):
        Value(0.0) ** -1
    with pytest.raises(ValueError):
        Value(-2.0) ** 0.5
    with pytest.raises(TypeError):
        Value(2.0) ** Value(2.0)


def test_deep_graph_needs_no_recursion():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)
    assert math.isfinite(y.data)


def test_one_path_multiplied_out_by_hand_is_the_grad():
    """Chapter 3's neuron: the product of the local derivatives along the one path
    from w1 to the loss is w1.grad, and a central finite difference agrees."""
    x1, x2, w1, w2, b = 2.0, -1.0, 0.5, 1.5, 0.3
    vw1 = Value(w1)
    out = (vw1 * x1 + Value(w2) * x2 + Value(b)).tanh()
    loss = (out - 1.0) ** 2
    loss.backward()
    by_hand = 2 * (out.data - 1) * 1.0 * (1 - out.data**2) * 1.0 * x1
    assert vw1.grad == pytest.approx(by_hand, abs=1e-12)

    def plain(w: float) -> float:
        return (math.tanh(w * x1 + w2 * x2 + b) - 1.0) ** 2

    h = 1e-6
    assert (plain(w1 + h) - plain(w1 - h)) / (2 * h) == pytest.approx(by_hand, abs=1e-6)


def test_the_methods_chapter_3_shows_say_so():
    for method in (Value.__mul__, Value.backward):
        assert "Shown in Chapter 3" in method.__doc__


def test_power_zero_is_the_constant_one_even_at_zero():
    x = Value(0.0)
    y = x ** 0
    y.backward()
    assert y.data == 1.0 and x.grad == 0.0
    z = Value(2.0)
    (z ** 0).backward()
    assert z.grad == 0.0
