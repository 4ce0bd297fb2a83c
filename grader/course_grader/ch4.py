"""Chapter 4 (transformers): one check per graded test cell, visible and hidden parts.

The learner's answers take explicit weight tensors (dictionaries with fixed
key names, see ``course_lib.grading.ch4.block_params`` and ``gpt_params``,
the fixtures learners import), so each check copies the same weights into
``course_lib.gpt`` and compares the results exactly.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from course_lib import gpt
from course_lib.grading import assert_close, assert_equal, assert_shape, fresh_rng, likely_mistake
from course_lib.grading.ch4 import (  # the fixtures the notebook imports too
    ATOL,
    BIND,
    FORBID,
    LOSS_FORBID,
    _normal,
    attention_params,
    block_params,
    generator,
    gpt_params,
)
from course_grader.channel import answer

# --- the same weights inside course_lib.gpt ---------------------------------

def _copy_attention(attn: gpt.CausalSelfAttention, params: dict) -> None:
    for name, layer in (("Wq", attn.q_proj), ("Wk", attn.k_proj), ("Wv", attn.v_proj),
                        ("Wo", attn.out_proj)):
        layer.weight.copy_(params[name].T)
        if layer.bias is not None:
            layer.bias.zero_()


def _copy_block(block: gpt.Block, params: dict) -> None:
    _copy_attention(block.attn, params)
    block.ln1.weight.copy_(params["ln1_w"])
    block.ln1.bias.copy_(params["ln1_b"])
    block.ln2.weight.copy_(params["ln2_w"])
    block.ln2.bias.copy_(params["ln2_b"])
    block.mlp.fc.weight.copy_(params["W1"].T)
    block.mlp.fc.bias.copy_(params["b1"])
    block.mlp.proj.weight.copy_(params["W2"].T)
    block.mlp.proj.bias.copy_(params["b2"])


def _config(n_embd: int, n_head: int, **kwargs) -> gpt.GPTConfig:
    settings = dict(vocab_size=2, block_size=64, n_layer=1)
    settings.update(kwargs)
    return gpt.GPTConfig(n_head=n_head, n_embd=n_embd, **settings)


@torch.no_grad()
def reference_multi_head(x: torch.Tensor, params: dict, n_head: int, causal: bool = True) -> torch.Tensor:
    """course_lib.gpt's causal self-attention with these weights (no biases)."""
    attn = gpt.CausalSelfAttention(_config(x.size(-1), n_head, bias=False))
    _copy_attention(attn, params)
    if causal:
        return attn(x)
    B, T, C = x.shape
    q, k, v = (attn.split_heads(x @ params[w]) for w in ("Wq", "Wk", "Wv"))
    out, _ = gpt.attention(q, k, v)
    return attn.merge_heads(out) @ params["Wo"]


@torch.no_grad()
def reference_block(x: torch.Tensor, params: dict, n_head: int) -> torch.Tensor:
    block = gpt.Block(_config(x.size(-1), n_head))
    _copy_block(block, params)
    return block(x)


@torch.no_grad()
def reference_gpt(idx: torch.Tensor, params: dict, n_head: int, final_norm: bool = True) -> torch.Tensor:
    """course_lib.gpt's GPT with these weights; ``final_norm=False`` leaves out the last layer norm."""
    V, C = params["token_emb"].shape
    model = gpt.GPT(gpt.GPTConfig(vocab_size=V, block_size=params["pos_emb"].size(0),
                                  n_layer=len(params["blocks"]), n_head=n_head, n_embd=C))
    model.token_emb.weight.copy_(params["token_emb"])
    model.pos_emb.weight.copy_(params["pos_emb"])
    for block, p in zip(model.blocks, params["blocks"]):
        _copy_block(block, p)
    model.ln_f.weight.copy_(params["lnf_w"])
    model.ln_f.bias.copy_(params["lnf_b"])
    if not final_norm:
        model.ln_f = torch.nn.Identity()
    return model(idx)[0]


def _call(name: str, fn: Callable, *args):
    """A hidden check's call: later answers run with the course's versions of the earlier ones (BIND)."""
    with answer(name, forbid=FORBID, bind=BIND.get(name)):
        return fn(*args)


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def compare(got, expected, what: str, hint: str = "", mistakes: dict | None = None,
            atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """``assert_close`` that still names a known mistake when float32 rounding
    (the learner's order of operations differs from the reference's) keeps the
    mistake's value from matching to the last digit."""
    found = likely_mistake(got, mistakes, atol=1e-3)
    assert_close(got, expected, what, hint=f"This looks like {found}." if found else hint,
                 atol=atol, rtol=rtol)


# --- 1. positional encoding --------------------------------------------------

def positional_encoding_shape(fn: Callable) -> None:
    """Shape (n_positions, dim) and position 0 (sin 0, cos 0, ...) for a few sizes."""
    for n, dim in ((1, 4), (int(fresh_rng().integers(2, 30)), 2 * int(fresh_rng().integers(1, 20)))):
        got = _call("positional_encoding", fn, n, dim)
        assert_shape(got, (n, dim), f"positional_encoding({n}, {dim})")
        assert_close(got[0], gpt.sinusoidal_positions(1, dim)[0], f"row 0 of positional_encoding({n}, {dim})",
                     hint="At position 0 every angle is 0: the row alternates sin(0) = 0 and cos(0) = 1.")


def positional_encoding(fn: Callable) -> None:
    rng = fresh_rng()
    for n, dim in ((int(rng.integers(5, 40)), 2 * int(rng.integers(2, 33))), (100, 512), (1, 8)):
        expected = gpt.sinusoidal_positions(n, dim)
        got = _call("positional_encoding", fn, n, dim)
        pos = torch.arange(n, dtype=torch.float32)[:, None]
        i = torch.arange(dim, dtype=torch.float32)
        rate = 10000.0 ** (-(2 * (i // 2)) / dim)
        swapped = torch.where(i % 2 == 0, torch.cos(pos * rate), torch.sin(pos * rate))
        halves = torch.cat([expected[:, 0::2], expected[:, 1::2]], dim=1)
        per_dim = 10000.0 ** (-(i // 2) / dim)     # pair index i, not 2i, in the exponent
        compare(got, expected, f"positional_encoding({n}, {dim})", atol=1e-4, rtol=1e-4, mistakes={
            "sin and cos swapped (sin goes in the even columns)": swapped,
            "all sines first, then all cosines (interleave them instead)": halves,
            "an exponent i / dim instead of 2i / dim": torch.where(
                i % 2 == 0, torch.sin(pos * per_dim), torch.cos(pos * per_dim)),
        }, hint="Column 2i holds sin(pos / 10000^(2i/dim)), column 2i+1 the cos of the same angle.")


# --- 2. attention with a causal mask ----------------------------------------

def _attention_mistakes(q, k, v, mask):
    d = q.size(-1)
    scores = q @ k.transpose(-2, -1)
    mistakes = {
        "forgetting to divide the scores by sqrt(d_k)": torch.softmax(
            scores.masked_fill(~mask, float("-inf")) if mask is not None else scores, -1) @ v,
        "dividing by d_k instead of sqrt(d_k)": torch.softmax(
            (scores / d).masked_fill(~mask, float("-inf")) if mask is not None else scores / d, -1) @ v,
        "a softmax over the wrong axis (each row of weights must sum to 1)": torch.softmax(
            (scores / d**0.5).masked_fill(~mask, float("-inf")) if mask is not None else scores / d**0.5,
            -2).nan_to_num() @ v,
    }
    if mask is not None:
        unmasked = torch.softmax(scores / d**0.5, -1)
        mistakes["applying the mask after the softmax (the rows no longer sum to 1)"] = (unmasked * mask) @ v
        mistakes["ignoring the mask"] = unmasked @ v
    return mistakes


def causal_mask(fn: Callable) -> None:
    for T in (1, 2, int(fresh_rng().integers(3, 30))):
        got = _call("causal_mask", fn, T)
        expected = gpt.causal_mask(T)
        assert_equal(tuple(torch.as_tensor(got).shape), (T, T), f"shape of causal_mask({T})")
        compare(torch.as_tensor(got).bool().float(), expected.float(), f"causal_mask({T})", mistakes={
            "the mask of the future instead of the past (upper instead of lower triangle)":
                torch.triu(torch.ones(T, T)),
            "leaving out the diagonal (a token may look at itself)": torch.tril(torch.ones(T, T), -1),
        }, hint="Row t may look at positions 0..t: the lower triangle, diagonal included.")


def attention(fn: Callable, masked: bool) -> None:
    g = generator()
    for shape in ((1, 4, 8), (2, 3, 7, 5), (int(torch.randint(1, 4, (1,), generator=g)), 9, 16)):
        *lead, T, d = shape
        q, k, v = (_normal(g, *shape) for _ in range(3))
        v = torch.cat([v, _normal(g, *lead, T, 3)], dim=-1)   # d_v differs from d_k
        mask = gpt.causal_mask(T) if masked else None
        expected, weights = gpt.attention(q, k, v, mask)
        got = _call("attention", fn, q.clone(), k.clone(), v.clone(), mask)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise AssertionError("attention should return a pair (out, weights).")
        out, got_weights = got
        what = f"attention on q, k of shape {tuple(q.shape)}" + (" with a causal mask" if masked else "")
        compare(got_weights, weights, f"weights of {what}", atol=1e-5, mistakes={
            "a softmax over the wrong axis (each row of weights must sum to 1)":
                torch.softmax((q @ k.transpose(-2, -1) / d**0.5).masked_fill(
                    ~mask if mask is not None else torch.zeros(T, T, dtype=torch.bool), float("-inf")), -2),
        })
        compare(out, expected, f"output of {what}", atol=1e-5,
                mistakes=_attention_mistakes(q, k, v, mask))


# --- 3. multi-head attention -------------------------------------------------

def multi_head_attention_shape(fn: Callable) -> None:
    """Shape (B, T, C) and causality: a later token never changes an earlier output."""
    g = generator()
    B, T, H = int(torch.randint(1, 4, (1,), generator=g)), int(torch.randint(3, 10, (1,), generator=g)), 2
    C = 4 * H
    x = _normal(g, B, T, C)
    params = attention_params(C, g)
    got = _call("multi_head_attention", fn, x.clone(), dict(params), H)
    assert_equal(tuple(torch.as_tensor(got).shape), (B, T, C),
                 f"shape of multi_head_attention for x of shape {(B, T, C)}")
    changed = x.clone()
    changed[:, -1] += 1.0
    got_changed = _call("multi_head_attention", fn, changed, dict(params), H)
    assert_close(got_changed[:, :-1], got[:, :-1],
                 "outputs before the last position after changing only the last token", atol=ATOL,
                 hint="Earlier positions changed, so a token saw a later one. Check the causal "
                      "mask, and that the heads are split and merged along the last axis only.")


def multi_head_attention(fn: Callable) -> None:
    g = generator()
    for B, T, C, H in ((1, 5, 8, 2), (2, int(torch.randint(3, 12, (1,), generator=g)), 12, 3), (2, 6, 16, 4)):
        x = _normal(g, B, T, C)
        params = attention_params(C, g)
        expected = reference_multi_head(x, params, H)
        got = _call("multi_head_attention", fn, x.clone(), dict(params), H)
        with torch.no_grad():
            one_head = reference_multi_head(x, params, 1)
            no_out = reference_multi_head(x, {**params, "Wo": torch.eye(C)}, H)
            no_mask = reference_multi_head(x, params, H, causal=False)
        compare(got, expected, f"multi_head_attention with B={B}, T={T}, C={C}, n_head={H}",
                atol=ATOL, rtol=1e-4, mistakes={
                    "one big head instead of n_head heads (split the last axis into heads)": one_head,
                    "forgetting the output projection Wo": no_out,
                    "no causal mask (a token must not see later tokens)": no_mask,
                }, hint="Split C into n_head heads of C // n_head, attend in each, "
                        "put the heads side by side again, then multiply by Wo.")


# --- 4. a transformer block --------------------------------------------------

def _layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, (x.size(-1),), w, b, eps=1e-5)


@torch.no_grad()
def _block_mistakes(x: torch.Tensor, p: dict, H: int) -> dict[str, torch.Tensor]:
    attn = lambda h: reference_multi_head(h, p, H)  # noqa: E731
    mlp = lambda h, act=F.gelu: act(h @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]  # noqa: E731
    ln1 = lambda h: _layer_norm(h, p["ln1_w"], p["ln1_b"])  # noqa: E731
    ln2 = lambda h: _layer_norm(h, p["ln2_w"], p["ln2_b"])  # noqa: E731
    h = x + attn(ln1(x))
    post = ln1(x + attn(x))
    return {
        "layer norm after the residual sum (post-LN) instead of before each part (pre-LN)":
            ln2(post + mlp(post)),
        "forgetting the residual connection around the MLP": mlp(ln2(h)),
        "forgetting the residual connection around attention": h - x + mlp(ln2(h - x)),
        "ReLU instead of GELU in the MLP": h + mlp(ln2(h), F.relu),
        "GPT-2's tanh approximation of GELU: the text asks for the exact F.gelu (its default, "
        "approximate='none')": h + mlp(ln2(h), lambda z: F.gelu(z, approximate="tanh")),
        "feeding the MLP the block's input instead of the output of the attention step":
            h + mlp(ln2(x)),
    }


# The text: "dividing by sqrt(variance + eps)" -- and layer_norm is to be written, not borrowed.
LN_FORBID = FORBID + ("torch.nn.functional.layer_norm", "torch.nn.LayerNorm", "torch.layer_norm",
                      "torch.nn.functional.group_norm", "torch.nn.GroupNorm")


def layer_norm(fn: Callable) -> None:
    g = generator()
    # the last case: rows that vary by about 0.001, where eps = 1e-5 is not small next to the variance
    for shape, std in (((3, 8), 3.0), ((2, 5, 16), 3.0), ((4, 6), 1e-3)):
        x = _normal(g, *shape, std=std) + (2.0 if std >= 1 else 0.0)
        C = shape[-1]
        w, b = 1.0 + _normal(g, C, std=0.3), _normal(g, C, std=0.3)
        expected = _layer_norm(x, w, b)
        with answer("layer_norm", forbid=LN_FORBID):
            got = fn(x.clone(), w, b)
        mean, var = x.mean(-1, keepdim=True), x.var(-1, keepdim=True)
        biased = x.var(-1, keepdim=True, unbiased=False)
        mistakes = {
            "the unbiased variance (divide by C, not C - 1)": (x - mean) / torch.sqrt(var + 1e-5) * w + b,
            "forgetting the scale w and shift b": _layer_norm(x, None, None),
            "eps outside the square root: the text divides by sqrt(variance + eps), "
            "not sqrt(variance) + eps": (x - mean) / (torch.sqrt(biased) + 1e-5) * w + b,
            "eps left out": (x - mean) / torch.sqrt(biased) * w + b,
        }
        if x.dim() == 2:
            columns = F.layer_norm(x.T, (x.size(0),), eps=1e-5).T
            mistakes["normalising each column instead of each row"] = columns * w + b
        compare(got, expected, f"layer_norm on x of shape {shape}" + (
                    f" whose rows vary by about {std:g}" if std < 1 else ""), atol=1e-4, rtol=1e-4,
                mistakes=mistakes, hint="Normalise each row (the last axis) to mean 0 and "
                                        "variance 1, then scale by w and shift by b.")


def transformer_block(fn: Callable) -> None:
    g = generator()
    for B, T, C, H in ((1, 4, 8, 2), (2, int(torch.randint(3, 12, (1,), generator=g)), 16, 4)):
        x = _normal(g, B, T, C)
        params = block_params(C, int(torch.randint(0, 2**62, (1,), generator=g)))
        expected = reference_block(x, params, H)
        got = _call("transformer_block", fn, x.clone(), dict(params), H)
        compare(got, expected, f"transformer_block with B={B}, T={T}, C={C}, n_head={H}",
                atol=1e-4, rtol=1e-4, mistakes=_block_mistakes(x, params, H),
                hint="x + attention(layer_norm_1(x)), then that + mlp(layer_norm_2(that)). This check runs "
                     "your block with the course's multi_head_attention and your layer_norm: if the test of "
                     "layer_norm fails, fix that first.")


# --- 5. a tiny GPT -----------------------------------------------------------

def gpt_logits(fn: Callable) -> None:
    g = generator()
    for V, P, L, C, H, B, T in ((11, 8, 1, 8, 2, 1, 5), (17, 12, 2, 16, 4, 2, 12)):
        params = gpt_params(V, P, L, C, int(torch.randint(0, 2**62, (1,), generator=g)))
        idx = torch.randint(0, V, (B, T), generator=g)
        expected = reference_gpt(idx, params, H)
        got = _call("gpt_forward", fn, idx.clone(), params, H)
        with torch.no_grad():
            no_pos = dict(params, pos_emb=torch.zeros_like(params["pos_emb"]))
            mistakes = {"skipping the final layer norm": reference_gpt(idx, params, H, final_norm=False),
                        "forgetting the position embeddings": reference_gpt(idx, no_pos, H)}
            if L > 1:
                mistakes["running only the first block"] = reference_gpt(
                    idx, dict(params, blocks=params["blocks"][:1]), H)
        compare(got, expected, f"gpt_forward logits for a {L}-block GPT on idx of shape {(B, T)}",
                atol=1e-4, rtol=1e-4, mistakes=mistakes,
                hint="Embeddings plus positions, every block in order, the final layer norm, "
                     "then @ token_emb.T. (This check runs your gpt_forward with the course's "
                     "transformer_block and layer_norm.)")


def next_token_loss(fn: Callable) -> None:
    g = generator()
    for B, T, V in ((1, 6, 5), (3, 9, 13)):
        logits = _normal(g, B, T, V, std=2.0)
        targets = torch.randint(0, V, (B, T), generator=g)
        targets[0, :2] = gpt.IGNORE_INDEX           # positions that do not count
        expected = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=gpt.IGNORE_INDEX)
        with answer("next_token_loss", forbid=LOSS_FORBID):
            got = fn(logits.clone(), targets.clone())
        keep = targets != gpt.IGNORE_INDEX
        logp = torch.log_softmax(logits, -1)
        picked = logp.gather(-1, targets.clamp(min=0)[..., None])[..., 0]
        compare(got, expected, f"next_token_loss on logits of shape {(B, T, V)}", atol=1e-5, mistakes={
            "counting the ignored (-100) positions in the mean": -(picked * keep).sum() / keep.numel(),
            "a sum instead of a mean": -(picked[keep]).sum(),
            "forgetting the minus sign": (picked[keep]).mean(),
            "probabilities instead of log-probabilities": -(picked[keep].exp()).mean(),
        }, hint="The mean over the counted positions of -log softmax(logits)[target].")


# --- one check per graded test cell ----------------------------------------------------

def test_positional_encoding_shape(answers) -> str:
    with answer("positional_encoding", forbid=FORBID):
        pe = answers.positional_encoding(10, 6)
    assert_shape(pe, (10, 6), "positional_encoding(10, 6)")
    assert_close(pe[0], [0, 1, 0, 1, 0, 1], "row 0 of positional_encoding(10, 6)",
                 hint="Even columns hold sines and odd columns cosines, side by side in pairs.")
    answers.hidden()
    positional_encoding_shape(answers.positional_encoding)
    return "positional_encoding: shape and position 0 are right."


def test_positional_encoding_values(answers) -> str:
    import math
    with answer("positional_encoding", forbid=FORBID):
        pe = answers.positional_encoding(10, 6)
    expected = [math.sin(3 / 10000 ** (2 / 6)), math.cos(3 / 10000 ** (2 / 6))]
    assert_close(pe[1, :2], [math.sin(1), math.cos(1)], "columns 0 and 1 at position 1")
    assert_close(pe[3, 2:4], expected, "columns 2 and 3 at position 3", atol=1e-5,
                 hint="Columns 2 and 3 are the pair i = 1: check the exponent 2i / dim.")
    answers.hidden()
    positional_encoding(answers.positional_encoding)
    return "positional_encoding: values are right."


def test_attention_mask(answers) -> str:
    with answer("causal_mask", forbid=FORBID):
        m = answers.causal_mask(3)
    assert_close(torch.as_tensor(m).float(), [[1, 0, 0], [1, 1, 0], [1, 1, 1]], "causal_mask(3)")
    answers.hidden()
    causal_mask(answers.causal_mask)
    return "causal_mask: right."


def test_attention_weights(answers) -> str:
    import math
    q = torch.tensor([[2.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0], [20.0]])
    with answer("attention", forbid=FORBID):
        out, weights = answers.attention(q, k, v)
    w0 = 1 / (1 + math.exp(-2 / math.sqrt(2)))
    assert_close(weights, [[w0, 1 - w0]], "weights for the worked example",
                 hint="Check the scaling of the scores and the axis of the softmax.")
    assert_close(out, [[10 * w0 + 20 * (1 - w0)]], "output for the worked example")
    answers.hidden()
    attention(answers.attention, masked=False)
    return "attention: weights and outputs are right."


def test_attention_causal(answers) -> str:
    x = torch.randn(2, 5, 4, generator=_seeded(0))
    with answer("attention", forbid=FORBID):
        out, weights = answers.attention(x, x, x, gpt.causal_mask(5))
    assert_close(weights.sum(-1), torch.ones(2, 5), "the sum of each row of weights",
                 hint="Each row must sum to 1: mask the scores before the softmax, and take it along the last axis.")
    assert_close(torch.triu(weights, diagonal=1), torch.zeros(2, 5, 5), "weights above the diagonal (the future)",
                 hint="Query t may look at keys 0..t only: check causal_mask.")
    assert_close(out[:, 0], x[:, 0], "the output at position 0, which can only see itself")
    answers.hidden()
    attention(answers.attention, masked=True)
    return "attention: the causal mask works."


def test_multi_head_attention_shape(answers) -> str:
    x = torch.randn(2, 6, 8, generator=_seeded(1))
    params = block_params(8, seed=0)
    with answer("multi_head_attention", forbid=FORBID):
        out = answers.multi_head_attention(x, params, n_head=2)
    assert_shape(out, (2, 6, 8), "multi_head_attention for x of shape (2, 6, 8)")
    x_changed = x.clone()
    x_changed[:, -1] += 1.0
    with answer("multi_head_attention", forbid=FORBID):
        out_changed = answers.multi_head_attention(x_changed, params, n_head=2)
    assert_close(out_changed[:, :-1], out[:, :-1], "outputs before the last position after changing the last one",
                 atol=1e-5, hint="No position may see a later one: every head needs the causal mask.")
    answers.hidden()
    multi_head_attention_shape(answers.multi_head_attention)
    return "multi_head_attention: the shape is right, and no position sees a later one."


def test_multi_head_attention_values(answers) -> str:
    x = torch.randn(1, 4, 8, generator=_seeded(2))
    params = block_params(8, seed=1)
    with answer("multi_head_attention", forbid=FORBID):
        out = answers.multi_head_attention(x, params, n_head=1)
        single, _ = answers.attention(x @ params["Wq"], x @ params["Wk"], x @ params["Wv"], answers.causal_mask(4))
    assert_close(out, single @ params["Wo"], "multi_head_attention with n_head=1", atol=1e-5,
                 hint="One head is attention on x @ Wq, x @ Wk, x @ Wv with the causal mask, then @ Wo.")
    answers.hidden()
    multi_head_attention(answers.multi_head_attention)
    return "multi_head_attention: values are right."


def test_transformer_block_layer_norm(answers) -> str:
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [10.0, 10.0, 10.0, 14.0]])
    with answer("layer_norm", forbid=FORBID):
        out = answers.layer_norm(x, torch.ones(4), torch.zeros(4))
    assert_close(out.mean(-1), [0.0, 0.0], "the mean of each normalised row", atol=1e-5)
    assert_close(out[0], [-1.341635, -0.447212, 0.447212, 1.341635], "layer_norm of [1, 2, 3, 4]", atol=1e-4,
                 hint="The variance is the mean of the squared deviations (divide by C, not C - 1).")
    answers.hidden()
    layer_norm(answers.layer_norm)
    return "layer_norm: right."


def test_transformer_block_values(answers) -> str:
    x = torch.randn(2, 5, 8, generator=_seeded(3))
    params = block_params(8, seed=2)
    with answer("transformer_block", forbid=FORBID):
        out = answers.transformer_block(x, params, n_head=2)
    assert_shape(out, (2, 5, 8), "transformer_block for x of shape (2, 5, 8)")
    quiet = dict(params, Wo=torch.zeros_like(params["Wo"]))
    with answer("transformer_block", forbid=FORBID):
        out = answers.transformer_block(x, quiet, n_head=2)
    normed = F.layer_norm(x, (8,), params["ln2_w"], params["ln2_b"], eps=1e-5)
    expected = x + F.gelu(normed @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    assert_close(out, expected, "transformer_block with Wo = 0 (then it is x + mlp(layer_norm_2(x)))", atol=1e-4,
                 hint="The MLP part: x + gelu(layer_norm(x, ln2_w, ln2_b) @ W1 + b1) @ W2 + b2, added to its input.")
    answers.hidden()
    transformer_block(answers.transformer_block)
    return "transformer_block: the shape and the values are right."


def test_gpt_logits(answers) -> str:
    params = gpt_params(vocab_size=11, block_size=8, n_layer=2, n_embd=8, seed=3)
    idx = torch.tensor([[1, 5, 2, 7], [3, 3, 0, 10]])
    with answer("gpt_forward", forbid=FORBID):
        logits = answers.gpt_forward(idx, params, n_head=2)
    assert_shape(logits, (2, 4, 11), "gpt_forward logits for idx of shape (2, 4) and 11 words")
    silent = dict(params, blocks=[dict(b, Wo=torch.zeros_like(b["Wo"]), W2=torch.zeros_like(b["W2"]),
                                       b2=torch.zeros_like(b["b2"])) for b in params["blocks"]])
    with answer("gpt_forward", forbid=FORBID):
        plain = answers.gpt_forward(idx, silent, n_head=2)
    embedded = params["token_emb"][idx] + params["pos_emb"][:4]
    expected = F.layer_norm(embedded, (8,), params["lnf_w"], params["lnf_b"], eps=1e-5) @ params["token_emb"].T
    assert_close(plain, expected, "gpt_forward with blocks that add nothing (Wo, W2 and b2 all 0)", atol=1e-4,
                 hint="Token embeddings plus position embeddings, the blocks, the final layer norm, "
                      "then @ token_emb.T.")
    answers.hidden()
    gpt_logits(answers.gpt_forward)
    return "gpt_forward: the logits are right."


def test_gpt_loss(answers) -> str:
    import math
    logits = torch.zeros(2, 4, 11)
    skip = gpt.IGNORE_INDEX
    targets = torch.tensor([[1, 2, 3, skip], [4, skip, skip, skip]])
    with answer("next_token_loss", forbid=LOSS_FORBID):
        loss = answers.next_token_loss(logits, targets)
    assert_close(loss, math.log(11), "next_token_loss with equal logits",
                 hint="Average -log p(target) over the counted positions only (targets other than -100).")
    answers.hidden()
    next_token_loss(answers.next_token_loss)
    return "next_token_loss: right."


FORBIDDEN = {
    "test_positional_encoding_shape": ("positional_encoding", FORBID),
    "test_positional_encoding_values": ("positional_encoding", FORBID),
    "test_attention_mask": ("causal_mask", FORBID), "test_attention_weights": ("attention", FORBID),
    "test_attention_causal": ("attention", FORBID),
    "test_multi_head_attention_shape": ("multi_head_attention", FORBID),
    "test_multi_head_attention_values": ("multi_head_attention", FORBID),
    "test_transformer_block_layer_norm": ("layer_norm", LN_FORBID),
    "test_transformer_block_values": ("transformer_block", FORBID),
    "test_gpt_logits": ("gpt_forward", FORBID), "test_gpt_loss": ("next_token_loss", LOSS_FORBID),
}
