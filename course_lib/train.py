"""One training loop for every torch model in the course.

``fit`` repeats the four steps of chapter 3: draw a mini-batch, compute the
loss, backpropagate, take a small step downhill. Around them it keeps a loss
history, shows a progress bar, evaluates now and then, and stops early when
the loss stops improving; each of those jobs is a small callback. No clock
ever decides how long a model trains: the same arguments give the same
weights on an idle and on a busy machine. ``max_seconds`` is only a guard
that fails loudly (``TrainingTooSlow``). ``evaluating(model)`` is the one
place that puts a model in eval mode without gradients and restores its mode.

Example (a ``gpt.GPT`` on a 1-D tensor of token ids)::

    get_batch = batches_from_tokens(train_ids, block_size=32, batch_size=64)
    loss_fn = lambda model, batch: model(*batch)[1]     # GPT(x, y) -> (logits, loss)
    history = fit(model, loss_fn, get_batch, steps=2000, lr=3e-3)
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm


@dataclass
class History:
    """What happened during :func:`fit`.

    ``steps[i]`` is the number of updates made so far and ``train_loss[i]``
    the loss of the mini-batch used for that update. ``eval_loss[i]`` is
    ``eval_fn(model)`` after ``eval_steps[i]`` updates (0 = before training).
    ``stop_reason`` is "steps" (all done), "patience" (early stop) or
    "diverged" (the loss became inf/nan). ``seconds`` is the wall-clock time
    and ``cpu_seconds`` the CPU time of this process (``time.process_time``,
    steadier than wall time on a busy machine) that training took.
    """

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)
    stopped_early: bool = False
    stop_reason: str = "steps"
    seconds: float = 0.0
    cpu_seconds: float = 0.0


class TrainingTooSlow(RuntimeError):
    """Training took longer than the ``max_seconds`` guard allows."""


def set_seed(seed: int) -> None:
    """Seed Python's, numpy's and torch's random number generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fit(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    get_batch: Callable[[torch.Generator], Any],
    steps: int,
    lr: float = 1e-3,
    optimizer: str = "adamw",
    weight_decay: float = 0.0,
    eval_fn: Callable[[torch.nn.Module], float] | None = None,
    eval_every: int = 100,
    patience: int | None = None,
    min_delta: float = 1e-4,
    max_seconds: float | None = None,
    seed: int = 0,
    progress: bool | None = None,
    grad_clip: float | None = 1.0,
    lr_schedule: Callable[[int], float] | None = None,
    train_mode: bool = True,
) -> History:
    """Train ``model`` for up to ``steps`` updates and return its :class:`History`.

    - ``loss_fn(model, batch)`` returns a scalar loss tensor;
      ``get_batch(generator)`` draws a random mini-batch using the given
      ``torch.Generator`` (seeded with ``seed``, so runs are reproducible).
    - ``optimizer`` is "adamw" or "sgd" (plain SGD, no momentum).
    - Every ``eval_every`` updates (and before the first, and after the
      last) ``eval_fn(model)`` is recorded, run in eval mode without grads.
    - Early stopping, when ``patience`` is set: every ``eval_every`` updates
      the monitored loss (the eval loss if ``eval_fn`` is given, otherwise the
      mean train loss of those ``eval_every`` updates) is compared with the
      best so far; after ``patience`` checks in a row without an improvement
      of more than ``min_delta``, training stops.
    - ``max_seconds`` is a guard, never a budget: if training has taken longer
      than that (wall clock, checked after each update), ``fit`` raises
      :class:`TrainingTooSlow` instead of returning a model that trained for
      fewer steps than asked.
    - ``grad_clip`` rescales the gradient when its norm exceeds it (None: off).
    - ``lr_schedule(step)`` multiplies ``lr`` for update ``step`` (1, 2, ...),
      e.g. :func:`warmup_cosine`; None keeps ``lr`` constant.
    - ``progress``: True shows a tqdm bar, False shows nothing; None shows it
      only in a terminal or a Jupyter kernel, unless the environment variable
      ``COURSE_LIB_PROGRESS`` is "0" or "1".
    - ``train_mode``: the model trains in train mode (dropout on) by default;
      False keeps it in eval mode (no dropout), for losses that compare
      log-probabilities exactly. Its own mode is restored at the end.

    ``fit`` also calls ``set_seed(seed)`` so dropout and the like repeat too.
    The jobs around the loop are small callbacks (:class:`ProgressBar`,
    :class:`StopIfDiverged`, :class:`Evaluate`, :class:`EarlyStopping`,
    :class:`TimeGuard`), called in that order after every update.
    Shown in Chapter 3 (the loop between the two marker comments).
    """
    _check_arguments(steps, lr, optimizer, weight_decay, eval_every, patience, max_seconds, grad_clip)
    set_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(params, optimizer, lr, weight_decay)
    history = History()
    callbacks = [ProgressBar(steps, progress), StopIfDiverged(), Evaluate(eval_fn, eval_every, steps),
                 EarlyStopping(patience, min_delta, eval_every, steps), TimeGuard(max_seconds, steps)]
    was_training = model.training
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        for callback in callbacks:
            callback.start(model, history)
        model.train(train_mode)
        # Chapter 3 shows the loop from here
        for step in range(1, steps + 1):
            batch = get_batch(generator)
            loss = loss_fn(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, grad_clip)
            if lr_schedule is not None:
                for group in opt.param_groups:
                    group["lr"] = lr * lr_schedule(step)
            opt.step()
            history.steps.append(step)
            history.train_loss.append(loss.item())
            if should_stop(callbacks, model, history):  # progress bar, evaluation, early stop...
                break
            # Chapter 3 shows the loop up to here
        for callback in callbacks:
            callback.end(model, history)
    finally:
        for callback in callbacks:
            callback.close()
        model.train(was_training)
    history.seconds = time.perf_counter() - start
    history.cpu_seconds = time.process_time() - cpu_start
    return history


def should_stop(callbacks: list["Callback"], model: torch.nn.Module, history: History) -> bool:
    """Call each callback after an update, in order, until one says why training
    stops (that reason goes into ``history.stop_reason``)."""
    for callback in callbacks:
        reason = callback.after_step(model, history)
        if reason is not None:
            history.stop_reason = reason
            history.stopped_early = reason == "patience"
            return True
    return False


@contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Inside the block the model is in eval mode (no dropout) and no gradients
    are recorded; afterwards its mode (``model.training``) is what it was."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


class one_thread:
    """Make torch compute on one thread. Called on its own it stays so; used as
    ``with one_thread():`` the previous number of threads comes back after the block.

    Why one thread: the course's models are so small that splitting their
    matrix products between threads costs more than it gains, and one thread
    keeps the speed steady on a machine that is busy with other work. Every
    chapter, the zoo and the benchmarks run torch this way.
    """

    def __init__(self) -> None:
        self.previous = torch.get_num_threads()
        torch.set_num_threads(1)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        torch.set_num_threads(self.previous)

    def _ipython_display_(self) -> None:
        """Show nothing when a notebook cell ends with ``one_thread()``."""


def make_optimizer(params: list[torch.nn.Parameter], optimizer: str, lr: float,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The optimiser :func:`fit` uses: "adamw" or plain "sgd" (no momentum)."""
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)


class Callback:
    """A job :func:`fit` does around its loop. ``start`` runs before the first
    update, ``after_step`` after each (a returned string stops training and
    becomes ``History.stop_reason``), ``end`` after the last update if training
    ended normally, ``close`` always."""

    def start(self, model: torch.nn.Module, history: History) -> None:
        pass

    def after_step(self, model: torch.nn.Module, history: History) -> str | None:
        return None

    def end(self, model: torch.nn.Module, history: History) -> None:
        pass

    def close(self) -> None:
        pass


class ProgressBar(Callback):
    """A tqdm bar with the last train (and eval) loss; see ``fit``'s ``progress``."""

    def __init__(self, steps: int, progress: bool | None) -> None:
        self.bar = tqdm(total=steps, disable=not _show_progress(progress), desc="training", unit="step")

    def after_step(self, model, history):
        self.bar.update(1)
        shown = {"loss": f"{history.train_loss[-1]:.4f}"}
        if history.eval_loss:
            shown["eval"] = f"{history.eval_loss[-1]:.4f}"   # the last evaluation
        self.bar.set_postfix(shown, refresh=False)
        return None

    def close(self):
        self.bar.close()


class StopIfDiverged(Callback):
    """Stops ("diverged") as soon as the loss is inf or nan."""

    def after_step(self, model, history):
        return None if math.isfinite(history.train_loss[-1]) else "diverged"


class Evaluate(Callback):
    """Records ``eval_fn(model)`` (in eval mode, without gradients) before the
    first update, every ``every`` updates, and after the last one."""

    def __init__(self, eval_fn: Callable[[torch.nn.Module], float] | None, every: int, steps: int) -> None:
        self.eval_fn, self.every, self.steps = eval_fn, every, steps

    def record(self, model: torch.nn.Module, history: History, step: int) -> None:
        with evaluating(model):
            loss = float(self.eval_fn(model))
        history.eval_steps.append(step)
        history.eval_loss.append(loss)

    def start(self, model, history):
        if self.eval_fn is not None:
            self.record(model, history, 0)

    def after_step(self, model, history):
        step = history.steps[-1]
        if self.eval_fn is not None and step % self.every == 0 and step < self.steps:
            self.record(model, history, step)
        return None

    def end(self, model, history):
        if self.eval_fn is not None and history.steps and history.eval_steps[-1] != history.steps[-1]:
            self.record(model, history, history.steps[-1])


class EarlyStopping(Callback):
    """Stops ("patience") after ``patience`` checks in a row without an
    improvement of more than ``min_delta``. A check comes every ``every``
    updates (not after the last); it monitors the eval loss recorded at that
    update, otherwise the mean train loss of the last ``every`` updates."""

    def __init__(self, patience: int | None, min_delta: float, every: int, steps: int) -> None:
        self.patience, self.min_delta, self.every, self.steps = patience, min_delta, every, steps
        self.best, self.checks_without_improvement = math.inf, 0

    def after_step(self, model, history):
        step = history.steps[-1]
        if step % self.every != 0 or step >= self.steps:
            return None
        if history.eval_steps and history.eval_steps[-1] == step:
            monitored = history.eval_loss[-1]
        else:
            monitored = float(np.mean(history.train_loss[-self.every:]))
        if monitored < self.best - self.min_delta:
            self.best, self.checks_without_improvement = monitored, 0
        else:
            self.checks_without_improvement += 1
        if self.patience is not None and self.checks_without_improvement >= self.patience:
            return "patience"
        return None


class TimeGuard(Callback):
    """Raises :class:`TrainingTooSlow` once training has taken ``max_seconds``
    (wall clock): a guard that fails loudly, never a budget."""

    def __init__(self, max_seconds: float | None, steps: int) -> None:
        self.max_seconds, self.steps = max_seconds, steps
        self.start_time = time.perf_counter()   # made just before training starts

    def after_step(self, model, history):
        step = history.steps[-1]
        if self.max_seconds is not None and time.perf_counter() - self.start_time >= self.max_seconds:
            raise TrainingTooSlow(
                f"training took more than max_seconds={self.max_seconds} s after {step} of "
                f"{self.steps} updates; no model is returned, because a clock must never decide "
                "what a model learns (raise max_seconds or lower steps)")
        return None


def warmup_cosine(steps: int, warmup: int = 0, final: float = 0.1) -> Callable[[int], float]:
    """An ``lr_schedule`` for :func:`fit`: a linear warm-up, then a cosine decay.

    The multiplier climbs from ``1 / warmup`` to 1 over the first ``warmup``
    updates, then falls along half a cosine to ``final`` at update ``steps``.
    With ``warmup=0`` there is no warm-up: the multiplier starts at 1.
    """
    if steps <= 0 or warmup < 0 or not 0.0 <= final <= 1.0:
        raise ValueError("need steps > 0, warmup >= 0 and 0 <= final <= 1")

    def schedule(step: int) -> float:
        if warmup > 0 and step <= warmup:
            return step / warmup
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return schedule


def evaluate_loss(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    batches: Iterable[Any],
) -> float:
    """The mean of ``loss_fn(model, batch)`` over ``batches`` (each batch counts once).

    Runs in eval mode without gradients and restores the model's mode.
    For a fixed validation set, draw the batches once, e.g.
    ``[get_batch(torch.Generator().manual_seed(i)) for i in range(20)]``.
    """
    with evaluating(model):
        losses = [loss_fn(model, batch).item() for batch in batches]
    if not losses:
        raise ValueError("evaluate_loss needs at least one batch")
    return float(np.mean(losses))


def batches_from_tokens(
    ids: torch.Tensor, block_size: int, batch_size: int
) -> Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]:
    """A ``get_batch`` for next-token prediction on a 1-D tensor of token ids.

    Each call picks ``batch_size`` random windows and returns ``(x, y)``,
    both of shape ``(batch_size, block_size)``, where ``y`` is ``x`` shifted
    by one: ``y[b, t]`` is the token that follows ``x[b, t]``.
    """
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D tensor of token ids, got shape {tuple(ids.shape)}")
    if block_size < 1 or batch_size < 1:
        raise ValueError("block_size and batch_size must be at least 1")
    if len(ids) <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens, got {len(ids)}")
    offsets = torch.arange(block_size)

    def get_batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(0, len(ids) - block_size, (batch_size, 1), generator=generator)
        index = (starts + offsets).to(ids.device)
        return ids[index], ids[index + 1]

    return get_batch


def _show_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    setting = os.environ.get("COURSE_LIB_PROGRESS")
    if setting in ("0", "1"):
        return setting == "1"
    return "ipykernel" in sys.modules or (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())


def _check_arguments(steps, lr, optimizer, weight_decay, eval_every, patience, max_seconds,
                     grad_clip) -> None:
    if not isinstance(steps, int) or steps <= 0:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    if optimizer not in ("adamw", "sgd"):
        raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {optimizer!r}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if not isinstance(eval_every, int) or eval_every <= 0:
        raise ValueError(f"eval_every must be a positive integer, got {eval_every!r}")
    if patience is not None and (not isinstance(patience, int) or patience <= 0):
        raise ValueError(f"patience must be None or a positive integer, got {patience!r}")
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be None or positive, got {max_seconds!r}")
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be None or positive, got {grad_clip!r}")


__all__ = ["History", "TrainingTooSlow", "set_seed", "fit", "evaluating", "one_thread", "make_optimizer", "Callback",
           "ProgressBar", "StopIfDiverged", "Evaluate", "EarlyStopping", "TimeGuard", "warmup_cosine",
           "evaluate_loss", "batches_from_tokens"]
