"""Chapter 1's demo classifiers, trained with torch.

A linear model and a small MLP learn to separate two classes of points in
the plane. How the training works (loss, gradients, optimiser) is the
subject of Chapter 3; here it is one call.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from course_lib import train

Array = np.ndarray


def fit_classifier(
    X: Array,
    y: Array,
    hidden_sizes: Sequence[int] = (16,),
    steps: int = 500,
    lr: float = 0.05,
    seed: int = 0,
) -> torch.nn.Sequential:
    """Train a binary classifier; ``hidden_sizes=()`` gives logistic regression.

    The network outputs one score (a logit) per row; see :func:`predict_proba`.
    """
    torch.manual_seed(seed)
    sizes = [X.shape[1], *hidden_sizes, 1]
    layers: list[torch.nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    Xt = torch.tensor(X, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)

    def loss_fn(model: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        inputs, labels = batch
        return torch.nn.functional.binary_cross_entropy_with_logits(model(inputs), labels)

    # the course's one training loop: every step sees all the points (one full
    # batch), AdamW without weight decay (that is Adam), no gradient clipping
    train.fit(model, loss_fn, lambda generator: (Xt, yt), steps=steps, lr=lr, optimizer="adamw",
              grad_clip=None, seed=seed, progress=False)
    return model


def predict_proba(model: torch.nn.Module, X: Array) -> Array:
    """The classifier's probability of label 1 for each row of ``X``."""
    with torch.no_grad():
        logits = model(torch.tensor(X, dtype=torch.float32))
    return torch.sigmoid(logits).numpy().ravel()


def accuracy(model: torch.nn.Module, X: Array, y: Array) -> float:
    """Share of points whose predicted probability falls on the right side of 0.5."""
    return float(np.mean((predict_proba(model, X) > 0.5) == (y > 0.5)))
