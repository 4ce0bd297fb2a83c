"""Chapter 4's fixtures: the example weights its exercises use, and the shortcuts they forbid.

The learner's answers take explicit weight tensors (dictionaries with fixed
key names, see ``block_params`` and ``gpt_params``); the notebook imports
these to build examples, and the trusted grader (``course_grader.ch4``, not
part of what learners install) uses the same functions for its hidden
inputs.
"""

from __future__ import annotations

import torch

from course_lib.grading import fresh_rng

FORBID = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.MultiheadAttention",
    "torch.nn.Transformer",
    "torch.nn.TransformerEncoder",
    "torch.nn.TransformerEncoderLayer",
    "torch.nn.TransformerDecoder",
    "torch.nn.TransformerDecoderLayer",
    "course_lib.gpt",
)
# The next-token loss is to be written with log_softmax, not a ready-made loss.
LOSS_FORBID = FORBID + ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss")
ATOL = 2e-5


def generator(seed: int | None = None) -> torch.Generator:
    """A torch generator: seeded with ``seed``, or at grading time when None."""
    if seed is None:
        seed = int(fresh_rng().integers(2**62))
    return torch.Generator().manual_seed(seed)


def _normal(g: torch.Generator, *shape: int, std: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * std


# --- example weights ----------------------------------------------------------

def attention_params(n_embd: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Wq, Wk, Wv, Wo of shape (C, C), used as ``x @ W``."""
    std = 1.0 / n_embd**0.5
    return {name: _normal(g, n_embd, n_embd, std=std * 1.5) for name in ("Wq", "Wk", "Wv", "Wo")}


def block_params(n_embd: int, seed: int | None = None) -> dict[str, torch.Tensor]:
    """Random weights of one transformer block, with the keys the exercise uses."""
    g = generator(seed)
    std = 1.0 / n_embd**0.5
    params = attention_params(n_embd, g)
    params.update(
        ln1_w=1.0 + _normal(g, n_embd, std=0.2), ln1_b=_normal(g, n_embd, std=0.2),
        ln2_w=1.0 + _normal(g, n_embd, std=0.2), ln2_b=_normal(g, n_embd, std=0.2),
        W1=_normal(g, n_embd, 4 * n_embd, std=std), b1=_normal(g, 4 * n_embd, std=0.2),
        W2=_normal(g, 4 * n_embd, n_embd, std=std / 2), b2=_normal(g, n_embd, std=0.2),
    )
    return params


def gpt_params(vocab_size: int, block_size: int, n_layer: int, n_embd: int,
               seed: int | None = None) -> dict:
    """Random weights of a whole tiny GPT (the output layer reuses ``token_emb``)."""
    g = generator(seed)
    return {
        "token_emb": _normal(g, vocab_size, n_embd),
        "pos_emb": _normal(g, block_size, n_embd, std=0.5),
        "blocks": [block_params(n_embd, int(torch.randint(0, 2**62, (1,), generator=g)))
                   for _ in range(n_layer)],
        "lnf_w": 1.0 + _normal(g, n_embd, std=0.2),
        "lnf_b": _normal(g, n_embd, std=0.2),
    }
