"""course_lib.train: the shared training loop."""

import time

import pytest
import torch

from course_lib.train import (History, TrainingTooSlow, batches_from_tokens, evaluate_loss,
                              evaluating, fit, one_thread, set_seed)

TRUE_W, TRUE_B = torch.tensor([[2.0, -3.0, 0.5]]), 1.0


def regression_data(n: int = 512, noise: float = 0.0):
    g = torch.Generator().manual_seed(123)
    x = torch.randn(n, 3, generator=g)
    y = x @ TRUE_W.T + TRUE_B + noise * torch.randn(n, 1, generator=g)
    return x, y


def sample_rows(x, y, batch_size: int = 32):
    def get_batch(generator):
        i = torch.randint(0, len(x), (batch_size,), generator=generator)
        return x[i], y[i]

    return get_batch


def mse(model, batch):
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def test_linear_regression_learns_the_true_weights():
    x, y = regression_data()
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    history = fit(model, mse, sample_rows(x, y), steps=400, lr=0.05, progress=False)
    assert isinstance(history, History)
    assert history.steps == list(range(1, 401))
    assert history.stop_reason == "steps" and not history.stopped_early
    assert torch.allclose(model.weight.detach(), TRUE_W, atol=0.02)
    assert model.bias.item() == pytest.approx(TRUE_B, abs=0.02)
    assert history.train_loss[-1] < 1e-3 < history.train_loss[0]


def test_same_seed_gives_identical_histories():
    x, y = regression_data(noise=0.3)

    def run(seed):
        set_seed(7)  # the same initial model every time
        model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))
        return fit(model, mse, sample_rows(x, y), steps=60, seed=seed, lr=0.01, progress=False,
                   eval_fn=lambda m: mse(m, (x, y)).item(), eval_every=20)

    first, second, other = run(0), run(0), run(1)
    assert first.train_loss == second.train_loss
    assert first.eval_loss == second.eval_loss
    assert first.train_loss != other.train_loss


def test_sgd_and_adamw_both_reduce_the_loss():
    x, y = regression_data(noise=0.1)
    for optimizer, lr in [("sgd", 0.05), ("adamw", 0.02)]:
        set_seed(0)
        model = torch.nn.Linear(3, 1)
        before = mse(model, (x, y)).item()
        fit(model, mse, sample_rows(x, y), steps=150, lr=lr, optimizer=optimizer, progress=False)
        assert mse(model, (x, y)).item() < 0.1 * before, optimizer


def test_early_stop_on_a_flat_problem():
    model = torch.nn.Linear(1, 1)

    def flat_loss(model, batch):  # the same loss whatever the weights
        return 0.0 * model.weight.sum() + 1.0

    history = fit(model, flat_loss, lambda g: None, steps=1000, eval_every=10, patience=3,
                  progress=False)
    assert history.stopped_early and history.stop_reason == "patience"
    assert history.steps[-1] == 40  # best at the check after 10, then 3 checks without improvement


def test_early_stop_uses_the_eval_loss_when_given():
    x, y = regression_data()
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    history = fit(model, mse, sample_rows(x, y), steps=2000, lr=0.05, eval_every=25,
                  eval_fn=lambda m: 5.0, patience=2, progress=False)
    assert history.stopped_early
    assert history.eval_steps == [0, 25, 50, 75]


def test_max_seconds_is_a_guard_that_fails_loudly_never_a_budget():
    def slow_loss(model, batch):
        time.sleep(0.01)
        return mse(model, batch)

    x, y = regression_data()
    model = torch.nn.Linear(3, 1)
    start = time.perf_counter()
    with pytest.raises(TrainingTooSlow, match="max_seconds=0.2"):
        fit(model, slow_loss, sample_rows(x, y), steps=10_000, max_seconds=0.2, progress=False)
    assert time.perf_counter() - start < 5.0


def test_a_generous_guard_changes_nothing_and_both_clocks_are_recorded():
    x, y = regression_data(noise=0.3)

    def run(**guard):
        set_seed(3)
        model = torch.nn.Linear(3, 1)
        history = fit(model, mse, sample_rows(x, y), steps=30, lr=0.05, progress=False, **guard)
        return model, history

    free, _ = run()
    guarded, history = run(max_seconds=600.0)
    assert history.stop_reason == "steps" and history.steps[-1] == 30
    assert all(torch.equal(a, b) for a, b in zip(free.parameters(), guarded.parameters()))
    assert history.seconds > 0 and history.cpu_seconds > 0


def test_eval_history_is_recorded_every_eval_every_steps():
    x, y = regression_data()
    seen = []

    def eval_fn(model):
        seen.append((model.training, torch.is_grad_enabled()))
        return mse(model, (x, y)).item()

    set_seed(0)
    model = torch.nn.Linear(3, 1)
    history = fit(model, mse, sample_rows(x, y), steps=50, eval_every=20, eval_fn=eval_fn,
                  lr=0.05, progress=False)
    assert history.eval_steps == [0, 20, 40, 50]
    assert len(history.eval_loss) == 4 and history.eval_loss[-1] < history.eval_loss[0]
    assert seen == [(False, False)] * 4  # eval mode, no gradients
    assert model.training  # restored


def test_model_mode_is_restored_after_fit():
    x, y = regression_data()
    model = torch.nn.Linear(3, 1).eval()
    modes = []

    def loss_fn(model, batch):
        modes.append(model.training)
        return mse(model, batch)

    fit(model, loss_fn, sample_rows(x, y), steps=5, progress=False)
    assert modes == [True] * 5
    assert not model.training


def test_train_mode_false_trains_in_eval_mode_and_restores_the_mode():
    x, y = regression_data()
    model = torch.nn.Linear(3, 1)
    modes = []

    def loss_fn(model, batch):
        modes.append(model.training)
        return mse(model, batch)

    fit(model, loss_fn, sample_rows(x, y), steps=3, progress=False, train_mode=False)
    assert modes == [False] * 3
    assert model.training


@pytest.mark.parametrize("mode", [True, False])
def test_evaluating_switches_to_eval_without_grads_and_restores_the_mode(mode):
    model = torch.nn.Linear(3, 1).train(mode)
    with evaluating(model) as same:
        assert same is model and not model.training and not torch.is_grad_enabled()
    assert model.training == mode and torch.is_grad_enabled()
    with pytest.raises(KeyError):
        with evaluating(model):
            raise KeyError
    assert model.training == mode


def test_one_thread_sets_one_thread_and_restores_the_count_after_a_with_block():
    before = torch.get_num_threads()
    try:
        with one_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == before
        one_thread()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_progress_false_prints_nothing(capsys):
    x, y = regression_data()
    fit(torch.nn.Linear(3, 1), mse, sample_rows(x, y), steps=20, progress=False,
        eval_fn=lambda m: 0.0, eval_every=5)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_true_shows_a_bar_with_the_loss(capsys):
    x, y = regression_data()
    fit(torch.nn.Linear(3, 1), mse, sample_rows(x, y), steps=20, progress=True)
    err = capsys.readouterr().err
    assert "20/20" in err and "loss=" in err


def test_divergence_stops_training():
    x, y = regression_data()
    set_seed(0)
    model = torch.nn.Linear(3, 1)
    history = fit(model, mse, sample_rows(x, y), steps=500, lr=1e3, optimizer="sgd",
                  grad_clip=None, progress=False)
    assert history.stop_reason == "diverged"
    assert len(history.steps) < 500


@pytest.mark.parametrize(
    "kwargs",
    [dict(steps=0), dict(steps=-5), dict(steps=2.5), dict(optimizer="adam"), dict(lr=0.0),
     dict(eval_every=0), dict(patience=0), dict(max_seconds=0), dict(grad_clip=-1.0),
     dict(weight_decay=-0.1)],
)
def test_bad_arguments_raise_value_error(kwargs):
    x, y = regression_data()
    arguments = dict(steps=10, progress=False) | kwargs
    with pytest.raises(ValueError):
        fit(torch.nn.Linear(3, 1), mse, sample_rows(x, y), **arguments)


def test_batches_from_tokens_shifts_by_one():
    ids = torch.arange(100)
    get_batch = batches_from_tokens(ids, block_size=8, batch_size=4)
    x, y = get_batch(torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y, x + 1)  # ids are consecutive, so "next token" is +1
    assert int(y.max()) <= 99
    x2, _ = get_batch(torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)
    with pytest.raises(ValueError):
        batches_from_tokens(torch.arange(8), block_size=8, batch_size=2)
    with pytest.raises(ValueError):
        batches_from_tokens(torch.zeros(2, 10, dtype=torch.long), block_size=4, batch_size=2)


def test_a_tiny_language_model_learns_a_repeating_sequence():
    ids = torch.tensor([0, 1, 2, 3, 4] * 40)
    get_batch = batches_from_tokens(ids, block_size=6, batch_size=16)
    set_seed(0)
    model = torch.nn.Embedding(5, 5)  # a bigram model: logits for the next token

    def lm_loss(model, batch):
        x, y = batch
        return torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())

    val = [get_batch(torch.Generator().manual_seed(i)) for i in range(3)]
    before = evaluate_loss(model, lm_loss, val)
    fit(model, lm_loss, get_batch, steps=200, lr=0.1, progress=False)
    after = evaluate_loss(model, lm_loss, val)
    assert after < 0.05 < before
    with pytest.raises(ValueError):
        evaluate_loss(model, lm_loss, [])


def test_warmup_cosine_without_warmup_starts_at_one_and_decays_to_final():
    from course_lib.train import warmup_cosine
    schedule = warmup_cosine(100, warmup=0, final=0.1)
    assert schedule(0) == pytest.approx(1.0)
    assert schedule(100) == pytest.approx(0.1)
    assert warmup_cosine(100, warmup=10)(5) == pytest.approx(0.5)
