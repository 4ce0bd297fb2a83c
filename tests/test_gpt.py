"""Tests of course_lib.gpt: shapes, attention, positions, counting, sampling."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
import torch.nn.functional as F

from course_lib import gpt
from course_lib.gpt import (
    GPT,
    GPT3,
    GPTConfig,
    attention,
    causal_mask,
    gpt3_param_count,
    param_count,
    sinusoidal_positions,
)


def tiny(**overrides) -> GPTConfig:
    settings = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    settings.update(overrides)
    return GPTConfig(**settings)


def model_for(config: GPTConfig, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(config)


# --- shapes and loss ---------------------------------------------------------

def test_forward_shapes_and_no_loss_without_targets():
    model = model_for(tiny())
    idx = torch.randint(0, 11, (3, 8))
    logits, loss = model(idx)
    assert logits.shape == (3, 8, 11)
    assert loss is None
    logits, _ = model(idx[:, :5])
    assert logits.shape == (3, 5, 11)


def test_loss_is_cross_entropy_and_ignores_minus_100():
    model = model_for(tiny())
    idx = torch.randint(0, 11, (2, 6))
    targets = torch.randint(0, 11, (2, 6))
    logits, loss = model(idx, targets)
    by_hand = -torch.log_softmax(logits, -1).gather(-1, targets[..., None]).mean()
    torch.testing.assert_close(loss, by_hand)
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1)))

    masked = targets.clone()
    masked[:, :3] = -100                       # e.g. prompt tokens in fine-tuning
    _, loss_masked = model(idx, masked)
    keep = logits[:, 3:].reshape(-1, 11)
    torch.testing.assert_close(loss_masked, F.cross_entropy(keep, targets[:, 3:].reshape(-1)))


def test_too_long_input_raises():
    model = model_for(tiny())
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 9, dtype=torch.long))


# --- causality and attention -------------------------------------------------

@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_changing_a_later_token_leaves_earlier_logits_unchanged(positions):
    model = model_for(tiny(positions=positions)).eval()
    idx = torch.randint(0, 11, (1, 8))
    changed = idx.clone()
    changed[0, 5] = (idx[0, 5] + 1) % 11
    a, _ = model(idx)
    b, _ = model(changed)
    torch.testing.assert_close(a[:, :5], b[:, :5])
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_causal_mask_is_lower_triangular():
    m = causal_mask(4)
    assert m.dtype == torch.bool
    assert torch.equal(m, torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]).bool())


def test_attention_weights_rows_sum_to_one_and_zero_above_diagonal():
    model = model_for(tiny())
    model(torch.randint(0, 11, (3, 7)))
    maps = model.attention_maps()
    assert len(maps) == 2
    upper = ~causal_mask(7)
    for w in maps:
        assert w.shape == (3, 2, 7, 7)
        assert not w.requires_grad
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 2, 7))
        assert torch.all(w[..., upper] == 0)


def test_attention_maps_before_forward_raises():
    with pytest.raises(RuntimeError):
        model_for(tiny()).attention_maps()


def test_attention_matches_torch_reference():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=g) for _ in range(3))
    out, weights = attention(q, k, v, causal_mask(5))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out, expected)
    # Without a mask: ordinary softmax(q k^T / sqrt(d)) v.
    out, weights = attention(q, k, v)
    by_hand = torch.softmax(q @ k.transpose(-2, -1) / 2.0, -1)
    torch.testing.assert_close(weights, by_hand)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))


def test_module_does_not_use_torch_attention_shortcuts():
    source = inspect.getsource(gpt)
    assert "scaled_dot_product_attention" not in source
    assert "MultiheadAttention" not in source


# --- positions ---------------------------------------------------------------

def test_sinusoidal_positions_match_closed_form():
    pe = sinusoidal_positions(10, 6)
    assert pe.shape == (10, 6)
    for pos in range(10):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    odd = sinusoidal_positions(4, 5)                        # odd width works too
    assert odd.shape == (4, 5)
    assert odd[3, 4].item() == pytest.approx(math.sin(3 / 10000 ** (4 / 5)), abs=1e-6)
    assert odd[3, 3].item() == pytest.approx(math.cos(3 / 10000 ** (2 / 5)), abs=1e-6)


def test_sinusoidal_positions_are_a_buffer_not_a_parameter():
    model = model_for(tiny(positions="sinusoidal"))
    assert model.pos_emb is None
    torch.testing.assert_close(model.pos_table, sinusoidal_positions(8, 16))
    assert all(p is not model.pos_table for p in model.parameters())


# --- weights, init and counting ----------------------------------------------

def test_weight_tying_shares_the_tensor():
    tied = model_for(tiny())
    assert tied.lm_head.weight is tied.token_emb.weight
    untied = model_for(tiny(tie_weights=False))
    assert untied.lm_head.weight is not untied.token_emb.weight
    assert untied.num_params() - tied.num_params() == 11 * 16


def test_init_is_small_like_gpt2():
    model = model_for(tiny(vocab_size=500, n_embd=64, n_head=4, n_layer=8))
    assert model.token_emb.weight.std().item() == pytest.approx(0.02, rel=0.05)
    residual = model.blocks[0].mlp.proj.weight.std().item()
    assert residual == pytest.approx(0.02 / math.sqrt(16), rel=0.1)
    assert torch.all(model.blocks[0].attn.q_proj.bias == 0)


CONFIGS = [
    tiny(),
    tiny(positions="sinusoidal"),
    tiny(tie_weights=False),
    tiny(bias=False),
    tiny(bias=False, tie_weights=False, positions="sinusoidal"),
    GPTConfig(vocab_size=300, block_size=32, n_layer=3, n_head=4, n_embd=48),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_param_count_formula_matches_the_model(config):
    model = GPT(config)
    assert param_count(config) == model.num_params()
    assert param_count(config, non_embedding=True) == model.num_params(non_embedding=True)


def test_gpt3_has_about_175_billion_parameters():
    n = gpt3_param_count()
    assert abs(n - 175e9) / 175e9 < 0.01
    small = GPTConfig(vocab_size=50, block_size=16, n_layer=3, n_embd=32)
    assert gpt3_param_count(3, 32, 50, 16) == GPT(small).num_params()
    assert param_count(GPT3) == n  # the preset is GPT-3's shape; n_head does not change the count
    assert (GPT3.n_layer, GPT3.n_head, GPT3.n_embd, GPT3.vocab_size, GPT3.block_size) == (96, 96, 12288, 50257, 2048)


# --- generation --------------------------------------------------------------

def test_generate_is_deterministic_for_a_seeded_generator():
    model = model_for(tiny())
    start = torch.zeros(2, 1, dtype=torch.long)
    a = model.generate(start, 10, generator=torch.Generator().manual_seed(3))
    b = model.generate(start, 10, generator=torch.Generator().manual_seed(3))
    assert a.shape == (2, 11)
    assert torch.equal(a, b)
    assert torch.equal(a[:, :1], start)


def test_generate_top_k_only_samples_the_k_most_likely():
    model = model_for(tiny())
    with torch.no_grad():                     # make tokens 3 and 7 the top two, always
        model.lm_head.weight.zero_()
        model.ln_f.weight.zero_()
        model.ln_f.bias.zero_()
        model.ln_f.bias[0] = 1.0
        model.lm_head.weight[3, 0] = 2.0
        model.lm_head.weight[7, 0] = 1.9
    start = torch.zeros(50, 1, dtype=torch.long)
    out = model.generate(start, 5, top_k=2, temperature=5.0,
                         generator=torch.Generator().manual_seed(0))
    new = set(out[:, 1:].flatten().tolist())
    assert new == {3, 7}
    # Without top_k, a high temperature reaches other tokens as well.
    out = model.generate(start, 5, temperature=5.0, generator=torch.Generator().manual_seed(0))
    assert len(set(out[:, 1:].flatten().tolist())) > 2


def test_generate_temperature_zero_is_greedy():
    model = model_for(tiny())
    idx = torch.randint(0, 11, (2, 3))
    out = model.generate(idx, 4, temperature=0)
    seq = idx
    for _ in range(4):
        logits, _ = model(seq)
        seq = torch.cat([seq, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, seq)


def test_generate_crops_the_context_to_block_size():
    model = model_for(tiny())                  # block_size 8
    idx = torch.randint(0, 11, (1, 20))
    out = model.generate(idx, 15, temperature=0)
    assert out.shape == (1, 35)
    # The last token depends only on the 8 tokens before it.
    logits, _ = model(out[:, -9:-1])
    assert out[0, -1].item() == logits[0, -1].argmax().item()


def test_generate_stops_at_stop_token_and_keeps_mode():
    model = model_for(tiny())
    with torch.no_grad():                      # the model always predicts token 5
        model.lm_head.weight.zero_()
        model.ln_f.weight.zero_()
        model.ln_f.bias.zero_()
        model.ln_f.bias[0] = 1.0
        model.lm_head.weight[5, 0] = 10.0
    model.train()
    out = model.generate(torch.zeros(2, 1, dtype=torch.long), 10, temperature=0, stop_token=5)
    assert out.tolist() == [[0, 5], [0, 5]]
    assert model.training


# --- training ----------------------------------------------------------------

@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_tiny_model_overfits_a_repeated_sequence(positions):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=10, block_size=16, n_layer=2, n_head=2, n_embd=32,
                       positions=positions)
    model = GPT(config)
    pattern = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    data = pattern.repeat(5)                   # 40 tokens
    x = torch.stack([data[i:i + 16] for i in range(8)])
    y = torch.stack([data[i + 1:i + 17] for i in range(8)])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(200):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1


# --- configuration -----------------------------------------------------------

@pytest.mark.parametrize(
    "overrides",
    [
        dict(n_embd=30, n_head=4),
        dict(vocab_size=0),
        dict(block_size=-1),
        dict(n_layer=0),
        dict(n_head=0),
        dict(positions="rotary"),
        dict(dropout=1.0),
    ],
)
def test_config_validation(overrides):
    with pytest.raises(ValueError):
        tiny(**overrides)


def test_config_defaults():
    c = GPTConfig(vocab_size=5)
    assert (c.block_size, c.n_layer, c.n_head, c.n_embd) == (64, 2, 4, 64)
    assert (c.dropout, c.positions, c.tie_weights, c.bias) == (0.0, "learned", True, True)


def test_dropout_only_acts_in_training_mode():
    model = model_for(tiny(dropout=0.5))
    idx = torch.randint(0, 11, (2, 8))
    model.eval()
    torch.testing.assert_close(model(idx)[0], model(idx)[0])
    model.train()
    assert not torch.allclose(model(idx)[0], model(idx)[0])


def test_the_code_chapter_4_shows_says_so_and_is_included_by_name():
    from pathlib import Path

    from course_lib import gpt

    chapter = (Path(__file__).resolve().parent.parent / "book" / "chapters" / "04_transformers.md").read_text()
    for name, obj in [("attention", gpt.attention),
                      ("CausalSelfAttention.forward", gpt.CausalSelfAttention.forward),
                      ("Block.forward", gpt.Block.forward)]:
        assert "Chapter 4" in obj.__doc__, name
        assert f":pyobject: {name}\n" in chapter, name
    assert chapter.count("```{literalinclude} ../../course_lib/gpt.py") == 3
