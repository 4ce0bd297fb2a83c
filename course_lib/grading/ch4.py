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


# --- the course's versions of the earlier answers -------------------------------
# When the trusted grader checks a later answer (multi-head attention, the block, the
# GPT), the worker runs it with these in place of the learner's earlier functions for
# the duration of that call, so that a bug is charged to its own exercise only. They
# are forbidden in every answer (REFERENCES is part of FORBID).

def _ref_attention(q, k, v, mask=None):
    scores = torch.matmul(q, k.transpose(-2, -1)) * q.size(-1) ** -0.5
    if mask is not None:
        scores = scores.masked_fill(torch.as_tensor(mask).to(torch.bool).logical_not(), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(weights, v), weights


def _ref_causal_mask(T):
    return torch.ones(T, T).tril().to(torch.bool)


def _ref_multi_head(x, params, n_head):
    B, T, C = x.shape
    heads = [t.reshape(B, T, n_head, C // n_head).permute(0, 2, 1, 3)
             for t in (x @ params["Wq"], x @ params["Wk"], x @ params["Wv"])]
    out, _ = _ref_attention(*heads, _ref_causal_mask(T))
    return out.permute(0, 2, 1, 3).reshape(B, T, C) @ params["Wo"]


def _ref_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) * (x - mu)).mean(-1, keepdim=True)
    return (x - mu) * torch.rsqrt(var + eps) * w + b


def _ref_block(x, params, n_head):
    p = params
    a = x + _ref_multi_head(_ref_layer_norm(x, p["ln1_w"], p["ln1_b"]), p, n_head)
    inner = torch.nn.functional.gelu(torch.matmul(_ref_layer_norm(a, p["ln2_w"], p["ln2_b"]), p["W1"]) + p["b1"])
    return a + torch.matmul(inner, p["W2"]) + p["b2"]


def reference_attention(q, k, v, mask=None):
    return _ref_attention(q, k, v, mask)


def reference_causal_mask(T):
    return _ref_causal_mask(T)


def reference_multi_head_attention(x, params, n_head):
    return _ref_multi_head(x, params, n_head)


def reference_layer_norm(x, w, b, eps=1e-5):
    return _ref_layer_norm(x, w, b, eps)


def reference_transformer_block(x, params, n_head):
    return _ref_block(x, params, n_head)


REFERENCES = tuple(f"course_lib.grading.ch4.reference_{name}" for name in (
    "attention", "causal_mask", "multi_head_attention", "layer_norm", "transformer_block"))
# What each later answer's hidden checks run with in place of the learner's earlier functions.
BIND = {
    "multi_head_attention": {"attention": "course_lib.grading.ch4.reference_attention",
                             "causal_mask": "course_lib.grading.ch4.reference_causal_mask"},
    "transformer_block": {"multi_head_attention": "course_lib.grading.ch4.reference_multi_head_attention"},
    "gpt_forward": {"transformer_block": "course_lib.grading.ch4.reference_transformer_block",
                    "layer_norm": "course_lib.grading.ch4.reference_layer_norm"},
}
FORBID = FORBID + REFERENCES
LOSS_FORBID = LOSS_FORBID + REFERENCES
