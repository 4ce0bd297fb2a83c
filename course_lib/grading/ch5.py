"""Hidden checks for Chapter 5 (fine-tuning a chat model).

Each function takes the learner's answer, draws fresh inputs at grading time
(a torch generator seeded from :func:`fresh_rng`), compares with the
reference in ``course_lib.finetune`` and names the likely mistake on failure.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from course_lib import finetune
from course_lib.grading import answer, assert_close, assert_equal, assert_true, check_call, fresh_rng

IGNORE = finetune.IGNORE_INDEX
FORBID = ("course_lib.finetune",)
SFT_LOSS_FORBID = FORBID + ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
                            "torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss")
KL_FORBID = FORBID + ("torch.nn.functional.kl_div", "torch.nn.KLDivLoss")


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(int(fresh_rng().integers(0, 2**62)))


def _ids(value: Any, what: str) -> list[int]:
    """A learner's tensor (or list) of token ids as a plain list of ints."""
    if value is None:
        raise AssertionError(f"{what}: got None. Did you forget `return`?")
    try:
        return [int(v) for v in torch.as_tensor(value).reshape(-1).tolist()]
    except (TypeError, ValueError, RuntimeError):
        raise AssertionError(f"{what}: expected a tensor of token ids, got {type(value).__name__}.") from None


# --- 1. formatting an SFT example --------------------------------------------------

def _format_mistakes(prompt: list[int], answer_ids: list[int]) -> dict[str, list[int]]:
    ids = prompt + answer_ids
    P = len(prompt)
    return {
        "no masking at all: the model would also learn to write the question": ids[1:],
        "masking len(prompt) targets: the first answer token is masked too":
            [IGNORE] * P + ids[P + 1:],
        "targets that are not shifted: targets[t] must be the token AFTER inputs[t]":
            [IGNORE] * (P - 1) + ids[P - 1:-1],
    }


def _check_format(fn: Callable, prompt: list[int], answer_ids: list[int], what: str) -> None:
    with answer("format_sft_example", forbid=FORBID):
        result = fn(list(prompt), list(answer_ids))
    assert_true(isinstance(result, tuple) and len(result) == 2,
                f"format_sft_example should return a tuple (inputs, targets), got {type(result).__name__}.")
    inputs, targets = _ids(result[0], f"inputs {what}"), _ids(result[1], f"targets {what}")
    ref_inputs, ref_targets = (t.tolist() for t in finetune.sft_example(prompt, answer_ids))
    assert_equal(inputs, ref_inputs, f"inputs {what}",
                 "The inputs are prompt + answer without its last token.")
    if targets != ref_targets:
        message = f"targets {what}: expected {ref_targets}, got {targets}."
        for description, wrong in _format_mistakes(prompt, answer_ids).items():
            if targets == wrong:
                message += f" This looks like {description}."
                break
        raise AssertionError(message)


def format_sft_example_values(fn: Callable) -> None:
    """Random prompts and answers of several lengths."""
    rng = fresh_rng()
    for _ in range(4):
        P, A = int(rng.integers(2, 9)), int(rng.integers(1, 6))
        prompt = rng.integers(4, 100, P).tolist()
        answer_ids = rng.integers(4, 100, A).tolist()
        _check_format(fn, prompt, answer_ids, f"for a {P}-token prompt and a {A}-token answer")


def format_sft_example_edges(fn: Callable) -> None:
    """A one-token prompt (nothing to mask) and a one-token answer."""
    rng = fresh_rng()
    _check_format(fn, [int(rng.integers(4, 50))], rng.integers(4, 50, 3).tolist(),
                  "for a one-token prompt")
    _check_format(fn, rng.integers(4, 50, 5).tolist(), [int(rng.integers(4, 50))],
                  "for a one-token answer")


# --- 2. the SFT loss -----------------------------------------------------------------------

def _random_batch(gen: torch.Generator, B: int, T: int, V: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets with a random prompt part and random padding masked."""
    logits = torch.randn(B, T, V, generator=gen, dtype=torch.float64) * 2
    targets = torch.randint(0, V, (B, T), generator=gen)
    for b in range(B):
        start = int(torch.randint(0, T - 1, (1,), generator=gen))
        end = int(torch.randint(start + 1, T + 1, (1,), generator=gen))
        targets[b, :start] = IGNORE
        targets[b, end:] = IGNORE
    return logits, targets


def _sft_mistakes(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    keep = targets != IGNORE
    picked = finetune.token_logprobs(logits, targets)
    per_sequence = -(picked.sum(1) / keep.sum(1).clamp(min=1))
    return {
        "dividing by every position (masked ones too) instead of the answer tokens": -picked.sum() / keep.numel(),
        "the mean of each sequence's mean instead of one mean over all answer tokens": per_sequence.mean(),
        "the sum instead of the mean": -picked.sum(),
        "forgetting the minus sign": picked.sum() / keep.sum(),
    }


def sft_loss_values(fn: Callable) -> None:
    """Random logits and targets with prompt and padding masked."""
    gen = _generator()
    for B, T, V in ((1, 6, 5), (3, 7, 11), (4, 5, 3)):
        logits, targets = _random_batch(gen, B, T, V)
        expected = finetune.sft_loss(logits, targets)
        check_call("sft_loss", fn, (logits.clone(), targets.clone()), expected,
                   f"sft_loss on a batch of shape {(B, T, V)}", mistakes=_sft_mistakes(logits, targets),
                   forbid=SFT_LOSS_FORBID,
                   hint="Average -log p(target) over the positions whose target is not -100.")


def sft_loss_masking(fn: Callable) -> None:
    """Masked positions change nothing and receive no gradient; extreme logits stay finite."""
    gen = _generator()
    logits, targets = _random_batch(gen, 3, 8, 6)
    logits = logits.requires_grad_()
    with answer("sft_loss", forbid=SFT_LOSS_FORBID):
        loss = fn(logits, targets)
    assert_close(loss, finetune.sft_loss(logits, targets), "sft_loss on a random batch",
                 mistakes=_sft_mistakes(logits.detach(), targets))
    masked = targets == IGNORE
    changed = logits.detach().clone()
    changed[masked] = torch.randn(int(masked.sum()), 6, generator=gen, dtype=torch.float64) * 10
    with answer("sft_loss", forbid=SFT_LOSS_FORBID):
        again = fn(changed, targets)
    assert_close(again, loss.detach(), "sft_loss after changing only the logits of masked positions",
                 hint="Positions whose target is -100 must not count at all.")
    assert_true(isinstance(loss, torch.Tensor) and loss.requires_grad,
                "sft_loss should return a torch tensor that gradients can flow through "
                "(no .item(), no numpy).")
    grad, = torch.autograd.grad(loss, logits)
    assert_true(bool(torch.all(grad[masked] == 0)),
                "sft_loss: the logits of masked positions (prompt, padding) received a gradient; "
                "they must not.")
    huge = torch.tensor([[[500.0, -500.0, 0.0], [0.0, 0.0, 0.0]]], dtype=torch.float64)
    with answer("sft_loss", forbid=SFT_LOSS_FORBID):
        stable = fn(huge, torch.tensor([[1, IGNORE]]))
    assert_close(stable, 1000.0, "sft_loss with logits as large as 500 (a confident wrong answer)",
                 hint="Compute log-probabilities with torch.log_softmax, not log(softmax(...)).")


# --- 3. the Bradley-Terry loss ------------------------------------------------------------

def _bt_mistakes(r_c: torch.Tensor, r_r: torch.Tensor) -> dict[str, Any]:
    return {
        "chosen and rejected swapped": -F.logsigmoid(r_r - r_c).mean(),
        "the sum over the pairs instead of the mean": -F.logsigmoid(r_c - r_r).sum(),
        "forgetting the minus sign": F.logsigmoid(r_c - r_r).mean(),
        "a missing log: the mean of -sigmoid(difference)": -torch.sigmoid(r_c - r_r).mean(),
    }


def bradley_terry_values(fn: Callable) -> None:
    """Random rewards of several batch sizes."""
    gen = _generator()
    for B in (1, 5, 16):
        r_c = torch.randn(B, generator=gen, dtype=torch.float64) * 2
        r_r = torch.randn(B, generator=gen, dtype=torch.float64) * 2
        check_call("bradley_terry_loss", fn, (r_c.clone(), r_r.clone()),
                   finetune.bradley_terry_loss(r_c, r_r), f"bradley_terry_loss for {B} random pairs",
                   mistakes=_bt_mistakes(r_c, r_r), forbid=FORBID,
                   hint="The loss is -log sigmoid(r_chosen - r_rejected), averaged over the pairs.")


def bradley_terry_stable(fn: Callable) -> None:
    """Huge reward gaps either way stay finite; gradients push chosen up."""
    rng = fresh_rng()
    gap = float(rng.uniform(150, 400))
    r_c = torch.tensor([0.0, gap, -gap], dtype=torch.float64, requires_grad=True)
    r_r = torch.tensor([0.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    with answer("bradley_terry_loss", forbid=FORBID):
        loss = fn(r_c, r_r)
    expected = finetune.bradley_terry_loss(r_c, r_r)
    assert_close(loss, expected, f"bradley_terry_loss with reward gaps 0, {gap:.0f} and -{gap:.0f}",
                 mistakes=_bt_mistakes(r_c.detach(), r_r.detach()),
                 hint="sigmoid(-300) is 0 in floating point and log(0) is -inf: use "
                      "torch.nn.functional.logsigmoid.")
    assert_true(isinstance(loss, torch.Tensor) and loss.requires_grad,
                "bradley_terry_loss should return a torch tensor that gradients can flow through.")
    g_c, g_r = torch.autograd.grad(loss, (r_c, r_r))
    assert_true(float(g_c[0]) < 0 < float(g_r[0]),
                "bradley_terry_loss: a gradient step should raise the chosen reward and lower the "
                "rejected one.")


# --- 4. the KL penalty --------------------------------------------------------------------

def _kl_mistakes(p_logits: torch.Tensor, q_logits: torch.Tensor, mask: torch.Tensor) -> dict[str, Any]:
    logp, logq = torch.log_softmax(p_logits, -1), torch.log_softmax(q_logits, -1)
    per_token = (logp.exp() * (logp - logq)).sum(-1)
    reverse = (logq.exp() * (logq - logp)).sum(-1)
    m = mask.to(per_token.dtype)
    return {
        "the KL the other way round, KL(reference || policy)": (reverse * m).sum(-1),
        "forgetting the mask (every position counted)": per_token.sum(-1),
        "the mean over the answer positions instead of the sum": (per_token * m).sum(-1) / m.sum(-1),
        "the difference of the logits instead of log-probabilities":
            (logp.exp() * (p_logits - q_logits)).sum(-1).mul(m).sum(-1),
        "forgetting the weights p(v): a plain sum of log p - log q":
            (logp - logq).sum(-1).mul(m).sum(-1),
    }


def kl_penalty_values(fn: Callable) -> None:
    """Random logits and masks; identical models give 0."""
    gen = _generator()
    for B, T, V in ((1, 4, 3), (3, 6, 7), (2, 5, 10)):
        p = torch.randn(B, T, V, generator=gen, dtype=torch.float64) * 2
        q = torch.randn(B, T, V, generator=gen, dtype=torch.float64) * 2
        mask = torch.rand(B, T, generator=gen) < 0.6
        mask[:, -1] = True
        check_call("kl_penalty", fn, (p.clone(), q.clone(), mask.clone()),
                   finetune.kl_penalty(p, q, mask), f"kl_penalty for logits of shape {(B, T, V)}",
                   mistakes=_kl_mistakes(p, q, mask), forbid=KL_FORBID,
                   hint="Per position: sum over the vocabulary of p (log p - log q); then sum the "
                        "positions where mask is True. One number per sequence.")
    check_call("kl_penalty", fn, (p.clone(), p.clone(), mask.clone()), torch.zeros(len(p)),
               "kl_penalty of a model against itself", forbid=KL_FORBID, atol=1e-8)


def kl_penalty_frozen_reference(fn: Callable) -> None:
    """Gradients reach the policy's logits at masked-in positions only, never the reference."""
    gen = _generator()
    p = (torch.randn(2, 5, 6, generator=gen, dtype=torch.float64) * 2).requires_grad_()
    q = (torch.randn(2, 5, 6, generator=gen, dtype=torch.float64) * 2).requires_grad_()
    mask = torch.tensor([[False, False, True, True, True], [False, True, True, False, False]])
    with answer("kl_penalty", forbid=KL_FORBID):
        kl = fn(p, q, mask)
    assert_close(kl, finetune.kl_penalty(p, q, mask), "kl_penalty on a small example",
                 mistakes=_kl_mistakes(p.detach(), q.detach(), mask))
    assert_true(isinstance(kl, torch.Tensor) and kl.requires_grad,
                "kl_penalty should return a torch tensor that gradients can flow through.")
    kl.sum().backward()
    assert_true(q.grad is None or bool(torch.all(q.grad == 0)),
                "kl_penalty: a gradient reached the reference model's logits. The reference "
                "(the SFT model) is frozen: detach its logits (ref_logits.detach()).")
    assert_true(p.grad is not None and bool(torch.all(p.grad[~mask] == 0)),
                "kl_penalty: positions outside the mask received a gradient.")


# --- 5. the DPO loss -----------------------------------------------------------------------

def _dpo_mistakes(pc, pr, rc, rr, beta) -> dict[str, Any]:
    return {
        "chosen and rejected swapped": finetune.dpo_loss(pr, pc, rr, rc, beta),
        "forgetting beta": finetune.dpo_loss(pc, pr, rc, rr, 1.0),
        "the ratios the wrong way round (reference minus policy)": finetune.dpo_loss(rc, rr, pc, pr, beta),
        "the sum over the pairs instead of the mean": finetune.dpo_loss(pc, pr, rc, rr, beta) * len(pc),
        "forgetting the reference model": finetune.bradley_terry_loss(beta * pc, beta * pr),
    }


def dpo_loss_values(fn: Callable) -> None:
    """Random log-probabilities and betas."""
    gen = _generator()
    for B, beta in ((1, 0.1), (6, 0.5), (12, 2.0)):
        pc, pr, rc, rr = (-torch.rand(B, generator=gen, dtype=torch.float64) * 8 for _ in range(4))
        check_call("dpo_loss", fn, (pc.clone(), pr.clone(), rc.clone(), rr.clone(), beta),
                   finetune.dpo_loss(pc, pr, rc, rr, beta), f"dpo_loss for {B} pairs with beta={beta}",
                   mistakes=_dpo_mistakes(pc, pr, rc, rr, beta), forbid=FORBID,
                   hint="-log sigmoid(beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))), "
                        "averaged over the pairs.")


def dpo_loss_gradients(fn: Callable) -> None:
    """log 2 when policy = reference; stable; gradients reach the policy only."""
    gen = _generator()
    lp = -torch.rand(5, generator=gen, dtype=torch.float64) * 8
    lr = -torch.rand(5, generator=gen, dtype=torch.float64) * 8
    check_call("dpo_loss", fn, (lp.clone(), lr.clone(), lp.clone(), lr.clone(), 0.3),
               torch.log(torch.tensor(2.0)), "dpo_loss when the policy equals the reference",
               mistakes=_dpo_mistakes(lp, lr, lp, lr, 0.3), forbid=FORBID,
               hint="Every implicit reward is 0, so the loss is -log sigmoid(0) = log 2.")
    big = torch.tensor([-1.0, -900.0], dtype=torch.float64)
    check_call("dpo_loss", fn, (big.clone(), big.flip(0), torch.full((2,), -5.0, dtype=torch.float64),
                                torch.full((2,), -5.0, dtype=torch.float64), 1.0),
               finetune.dpo_loss(big, big.flip(0), torch.full((2,), -5.0), torch.full((2,), -5.0), 1.0),
               "dpo_loss with a margin of 899 nats either way", forbid=FORBID,
               hint="sigmoid(-899) is 0 in floating point: use torch.nn.functional.logsigmoid.")
    pc, pr, rc, rr = (t.clone().requires_grad_() for t in (lp, lr, lp - 1, lr + 1))
    with answer("dpo_loss", forbid=FORBID):
        loss = fn(pc, pr, rc, rr, 0.5)
    assert_true(isinstance(loss, torch.Tensor) and loss.requires_grad,
                "dpo_loss should return a torch tensor that gradients can flow through.")
    loss.backward()
    assert_true(all(t.grad is None or bool(torch.all(t.grad == 0)) for t in (rc, rr)),
                "dpo_loss: a gradient reached the reference log-probabilities. The reference is "
                "frozen: detach them.")
    assert_true(bool(torch.all(pc.grad < 0)) and bool(torch.all(pr.grad > 0)),
                "dpo_loss: a gradient step should make chosen answers more likely and rejected "
                "ones less likely.")
