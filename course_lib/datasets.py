"""Chapter 1's toy data sets: points in the plane that a straight line cannot separate.

Each function returns ``(X, y)``: ``X`` of shape (n, 2), ``y`` a label 0.0 or
1.0 per row, the same for the same ``seed``.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def make_xor(n: int = 200, noise: float = 0.15, seed: int = 0) -> tuple[Array, Array]:
    """Points around the four corners of a square; the label is x XOR y."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    X = corners * 2.0 - 1.0 + rng.normal(0.0, noise * 2, size=(n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(float)
    return X, y


def make_circles(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[Array, Array]:
    """An inner disc (label 1) inside an outer ring (label 0)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n).astype(float)
    radius = np.where(y == 1, 0.5, 1.0) + rng.normal(0.0, noise, size=n)
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return X, y


__all__ = ["make_xor", "make_circles"]
