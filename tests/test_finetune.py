"""Tests of course_lib.finetune on tiny inputs: SFT masking, Bradley-Terry, KL, RLHF, DPO."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.finetune import (
    IGNORE_INDEX,
    RewardModel,
    answer_targets,
    bradley_terry_loss,
    collate,
    dpo_loss,
    freeze_embeddings,
    kl_penalty,
    pad_sequences,
    pair_rewards,
    policy_gradient_loss,
    sequence_logprob,
    sft_example,
    sft_loss,
    token_logprobs,
    train_dpo,
    train_reward_model,
    train_rlhf,
    train_sft,
)
from course_lib.gpt import GPT, GPTConfig

LOG2 = math.log(2.0)


def tiny_gpt(seed: int = 0, vocab_size: int = 8) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab_size, block_size=12, n_layer=1, n_head=2, n_embd=16))


def frozen_copy(model: GPT) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


# --- 1. SFT -------------------------------------------------------------------

def test_sft_example_masks_exactly_the_prompt_targets():
    inputs, targets = sft_example([5, 6, 7], [8, 9])
    assert inputs.tolist() == [5, 6, 7, 8]
    assert targets.tolist() == [IGNORE_INDEX, IGNORE_INDEX, 8, 9]
    inputs, targets = sft_example([4], [2])           # one-token prompt: nothing to mask
    assert inputs.tolist() == [4] and targets.tolist() == [2]


def test_sft_example_rejects_empty_parts():
    with pytest.raises(ValueError):
        sft_example([], [1])
    with pytest.raises(ValueError):
        sft_example([1], [])


def test_collate_pads_inputs_with_pad_and_targets_with_ignore():
    x, y = collate([sft_example([5, 6], [7]), sft_example([5, 6, 7], [1, 2])], pad_id=0)
    assert x.tolist() == [[5, 6, 0, 0], [5, 6, 7, 1]]
    assert y.tolist() == [[IGNORE_INDEX, 7, IGNORE_INDEX, IGNORE_INDEX],
                          [IGNORE_INDEX, IGNORE_INDEX, 1, 2]]


def test_sft_loss_by_hand():
    # Two positions count; the first is masked. Uniform logits over 4 tokens at
    # position 1 give log 4; logits (2, 0, 0, 0) with target 0 give log(e^2 + 3) - 2.
    logits = torch.zeros(1, 3, 4)
    logits[0, 0] = torch.tensor([9.0, -9.0, 0.0, 3.0])  # masked: must not matter
    logits[0, 2, 0] = 2.0
    targets = torch.tensor([[IGNORE_INDEX, 3, 0]])
    expected = (math.log(4) + math.log(math.exp(2) + 3) - 2) / 2
    assert sft_loss(logits, targets).item() == pytest.approx(expected, abs=1e-6)


def test_prompt_positions_get_no_gradient():
    model = tiny_gpt()
    inputs, targets = collate([sft_example([1, 2, 3, 4], [5, 6])], pad_id=0)
    logits, _ = model(inputs)
    logits.retain_grad()
    sft_loss(logits, targets).backward()
    grad = logits.grad[0].abs().sum(dim=-1)            # per position
    assert torch.all(grad[:3] == 0)                     # targets 2, 3, 4 are prompt
    assert torch.all(grad[3:] > 0)


def test_sft_loss_matches_the_gpt_loss_with_ignore_index():
    model = tiny_gpt()
    inputs, targets = collate([sft_example([1, 2, 3], [4, 5]), sft_example([1], [6, 7, 3])], 0)
    logits, loss = model(inputs, targets)
    torch.testing.assert_close(sft_loss(logits, targets), loss)


def test_token_and_sequence_logprobs():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]]]))
    targets = torch.tensor([[1, 2]])
    torch.testing.assert_close(token_logprobs(logits, targets),
                               torch.log(torch.tensor([[0.25, 0.7]])))
    masked = torch.tensor([[IGNORE_INDEX, 2]])
    torch.testing.assert_close(token_logprobs(logits, masked), torch.tensor([[0.0, math.log(0.7)]]))
    model = tiny_gpt()
    inputs, targets = collate([sft_example([1, 2], [3, 4])], 0)
    logits, _ = model(inputs)
    by_hand = torch.log_softmax(logits[0, 1], -1)[3] + torch.log_softmax(logits[0, 2], -1)[4]
    torch.testing.assert_close(sequence_logprob(model, inputs, targets)[0], by_hand)


def test_freeze_embeddings_keeps_the_table_and_output_layer_fixed():
    model = freeze_embeddings(tiny_gpt())
    table = model.token_emb.weight.detach().clone()
    examples = [sft_example([1, 2], [3, 7]), sft_example([1, 4], [5, 7])]
    train_sft(model, examples, pad_id=0, steps=5, batch_size=2, lr=1e-2, progress=False)
    assert torch.equal(model.token_emb.weight, table)
    assert model.lm_head.weight is model.token_emb.weight          # still tied, so frozen too
    assert not RewardModel(model).body.token_emb.weight.requires_grad   # copies stay frozen


def test_train_sft_lowers_the_answer_loss():
    model = tiny_gpt()
    examples = [sft_example([1, 2], [3 + i % 2, 7]) for i in range(4)]
    history = train_sft(model, examples, pad_id=0, steps=60, batch_size=4, lr=1e-2,
                        progress=False)
    assert history.train_loss[-1] < history.train_loss[0] - 0.5


# --- 2. Reward model ------------------------------------------------------------

def test_bradley_terry_by_hand_and_symmetric_case():
    r_c, r_r = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    expected = (-math.log(1 / (1 + math.exp(-1))) - math.log(1 / (1 + math.exp(2)))) / 2
    assert bradley_terry_loss(r_c, r_r).item() == pytest.approx(expected, abs=1e-6)
    same = torch.tensor([0.3, -1.2, 5.0])
    assert bradley_terry_loss(same, same).item() == pytest.approx(LOG2, abs=1e-6)


def test_bradley_terry_gradient_pushes_chosen_up_and_rejected_down():
    r_c = torch.tensor([0.0], requires_grad=True)
    r_r = torch.tensor([0.0], requires_grad=True)
    bradley_terry_loss(r_c, r_r).backward()
    assert r_c.grad.item() == pytest.approx(-0.5) and r_r.grad.item() == pytest.approx(0.5)


def test_reward_model_starts_at_zero_reads_the_last_real_token_and_copies_the_base():
    base = tiny_gpt()
    before = frozen_copy(base)
    rm = RewardModel(base)
    idx, lengths = pad_sequences([[1, 2, 3], [1, 2, 3, 4, 5]], pad_id=0)
    assert idx.tolist() == [[1, 2, 3, 0, 0], [1, 2, 3, 4, 5]] and lengths.tolist() == [3, 5]
    assert torch.all(rm(idx, lengths) == 0)                 # zero head: log 2 at the start
    assert base.lm_head.weight is base.token_emb.weight     # the base model is untouched
    with torch.no_grad():
        rm.body.lm_head.weight.normal_()
    alone = rm(idx[:1, :3], lengths[:1])
    padded_otherwise = idx.clone()
    padded_otherwise[0, 3:] = 7                             # what follows the end does not count
    torch.testing.assert_close(rm(padded_otherwise, lengths)[0], alone[0])
    for name, value in base.state_dict().items():
        torch.testing.assert_close(value, before[name])


def test_train_reward_model_learns_a_preference():
    rm = RewardModel(tiny_gpt())
    pairs = [([1, 2, 5], [1, 2, 6]), ([1, 3, 5], [1, 3, 6]), ([1, 4, 5, 7], [1, 4, 6, 7])]
    with torch.no_grad():
        chosen, rejected = pair_rewards(rm, pairs, pad_id=0)
    assert bradley_terry_loss(chosen, rejected).item() == pytest.approx(LOG2)
    train_reward_model(rm, pairs, pad_id=0, steps=40, batch_size=3, lr=1e-2, progress=False)
    with torch.no_grad():
        chosen, rejected = pair_rewards(rm, pairs, pad_id=0)
    assert torch.all(chosen > rejected)


# --- 3. RLHF ----------------------------------------------------------------------

def test_kl_penalty_by_hand_zero_for_identical_models_and_masked():
    p = torch.tensor([0.5, 0.5])
    q = torch.tensor([0.25, 0.75])
    by_hand = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    policy = torch.log(p).expand(1, 3, 2).clone()
    ref = torch.log(q).expand(1, 3, 2).clone()
    mask = torch.tensor([[False, True, True]])
    assert kl_penalty(policy, ref, mask).item() == pytest.approx(2 * by_hand, abs=1e-6)
    logits = torch.randn(4, 5, 7)
    torch.testing.assert_close(kl_penalty(logits, logits.clone(), torch.ones(4, 5, dtype=torch.bool)),
                               torch.zeros(4))
    assert torch.all(kl_penalty(torch.randn(4, 5, 7), logits, torch.ones(4, 5)) > 0)


def test_kl_penalty_gradient_flows_into_the_policy_only():
    policy = torch.randn(2, 3, 5, requires_grad=True)
    ref = torch.randn(2, 3, 5, requires_grad=True)
    kl_penalty(policy, ref, torch.tensor([[0, 1, 1], [1, 1, 0]])).sum().backward()
    assert ref.grad is None
    assert torch.all(policy.grad[0, 0] == 0) and torch.all(policy.grad[1, 2] == 0)
    assert policy.grad[0, 1].abs().sum() > 0


def test_policy_gradient_loss_by_hand_and_direction():
    logprobs = torch.tensor([-1.0, -2.0, -3.0], requires_grad=True)
    rewards = torch.tensor([1.0, 0.0, 2.0], requires_grad=True)
    loss = policy_gradient_loss(logprobs, rewards, rewards.mean())
    # advantages (0, -1, 1): -(0 * -1 + -1 * -2 + 1 * -3) / 3 = 1/3
    assert loss.item() == pytest.approx(1 / 3)
    loss.backward()
    assert rewards.grad is None or torch.all(rewards.grad == 0)
    assert logprobs.grad.tolist() == pytest.approx([0.0, 1 / 3, -1 / 3])   # descent: up for +adv
    assert policy_gradient_loss(logprobs, torch.ones(3), 1.0).item() == 0.0


def test_answer_targets_masks_the_prompt_and_what_follows_the_stop():
    seqs = torch.tensor([[1, 2, 5, 3, 3], [1, 2, 6, 6, 3], [1, 2, 3, 3, 3]])
    inputs, targets = answer_targets(seqs, prompt_len=2, stop_id=3)
    assert inputs.tolist() == seqs[:, :-1].tolist()
    assert targets.tolist() == [[IGNORE_INDEX, 5, 3, IGNORE_INDEX],
                                [IGNORE_INDEX, 6, 6, 3],
                                [IGNORE_INDEX, 3, IGNORE_INDEX, IGNORE_INDEX]]


def test_train_rlhf_raises_the_reward_and_leaves_the_frozen_models_alone():
    stop = 3
    sft = tiny_gpt(seed=1)
    policy = tiny_gpt(seed=1)
    rm = RewardModel(sft)
    # A reward model that likes token 5 in the answer: train it on a few pairs.
    pairs = [([1, 2, 5, stop], [1, 2, t, stop]) for t in (4, 6, 7)]
    train_reward_model(rm, pairs, pad_id=0, steps=40, batch_size=3, lr=1e-2, progress=False)
    rm.zero_grad(set_to_none=True)
    sft_state, rm_state = frozen_copy(sft), frozen_copy(rm)
    prompts = torch.tensor([[1, 2]] * 4)
    history = train_rlhf(policy, sft, rm, prompts, stop_id=stop, steps=40, batch_size=16,
                         beta=0.05, lr=1e-2, max_new_tokens=3, progress=False)
    assert len(history.reward) == len(history.kl) == 40
    assert history.kl[0] == pytest.approx(0.0, abs=1e-6)      # starts equal to the reference
    assert sum(history.reward[-5:]) / 5 > sum(history.reward[:5]) / 5
    for model, state in ((sft, sft_state), (rm, rm_state)):
        assert all(p.grad is None for p in model.parameters())
        for name, value in model.state_dict().items():
            torch.testing.assert_close(value, state[name])


# --- 4. DPO -----------------------------------------------------------------------

def test_dpo_loss_is_log2_at_the_start_and_by_hand():
    lp = torch.tensor([-1.0, -4.0])
    assert dpo_loss(lp, lp - 1, lp, lp - 1, beta=0.5).item() == pytest.approx(LOG2)
    # margin = beta * ((-1 - -2) - (-3 - -1)) = 0.5 * 3 = 1.5
    loss = dpo_loss(torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]),
                    torch.tensor([-1.0]), beta=0.5)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1.5)))


def test_dpo_gradient_flows_into_the_policy_only():
    pc = torch.tensor([-1.0], requires_grad=True)
    pr = torch.tensor([-1.0], requires_grad=True)
    rc = torch.tensor([-1.0], requires_grad=True)
    rr = torch.tensor([-1.0], requires_grad=True)
    dpo_loss(pc, pr, rc, rr, beta=0.1).backward()
    assert rc.grad is None and rr.grad is None
    assert pc.grad.item() == pytest.approx(-0.05) and pr.grad.item() == pytest.approx(0.05)


def test_train_dpo_prefers_the_chosen_answers_and_leaves_the_reference_alone():
    policy, reference = tiny_gpt(seed=2), tiny_gpt(seed=2)
    ref_state = frozen_copy(reference)
    pairs = [(sft_example([1, 2], [5, 3]), sft_example([1, 2], [t, 3])) for t in (4, 6, 7)]
    history = train_dpo(policy, reference, pairs, pad_id=0, steps=30, batch_size=3, beta=0.5,
                        lr=1e-2, progress=False)
    assert history.train_loss[0] == pytest.approx(LOG2, abs=1e-5)   # policy = reference at first
    chosen, rejected = collate([c for c, _ in pairs], 0), collate([r for _, r in pairs], 0)
    with torch.no_grad():
        margin = (sequence_logprob(policy, *chosen) - sequence_logprob(reference, *chosen)
                  - sequence_logprob(policy, *rejected) + sequence_logprob(reference, *rejected))
    assert torch.all(margin > 0)
    assert all(p.grad is None for p in reference.parameters())
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(value, ref_state[name])
