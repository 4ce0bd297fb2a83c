"""Chapter 5 (fine-tuning a chat model): one check per graded test cell, visible and hidden parts.

Each ``test_<grade_id>(answers)`` repeats the notebook's visible checks, then
(after ``answers.hidden()``) draws fresh inputs at grading time (a torch
generator seeded from :func:`fresh_rng`), compares with the reference in
``course_lib.finetune`` and names the likely mistake on failure. Gradients
are computed by the worker (the gradient of the result's sum with respect to
each argument that requires one) and set on the caller's tensors as
``.grad``, as ``backward()`` would.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from course_lib import finetune
from course_lib.grading import assert_close, assert_equal, assert_true, fresh_rng
from course_grader.channel import answer, check_call

IGNORE = finetune.IGNORE_INDEX
# The text: "The ready-made versions in course_lib.finetune, and torch's own cross-entropy and KL
# divergence, are not allowed in your answers" -- binary cross-entropy and torch.distributions' KL included.
TORCH_LOSSES = ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
                "torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss",
                "torch.nn.functional.binary_cross_entropy", "torch.nn.functional.binary_cross_entropy_with_logits",
                "torch.nn.BCELoss", "torch.nn.BCEWithLogitsLoss",
                "torch.nn.functional.kl_div", "torch.nn.KLDivLoss",
                "torch.distributions.kl_divergence", "torch.distributions.kl.kl_divergence")
FORBID = ("course_lib.finetune",) + TORCH_LOSSES
SFT_LOSS_FORBID = FORBID
KL_FORBID = FORBID


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
    given_prompt, given_answer = list(prompt), list(answer_ids)
    with answer("format_sft_example", forbid=FORBID):
        result = fn(given_prompt, given_answer)
    for name, given, original in (("prompt_ids", given_prompt, prompt), ("answer_ids", given_answer, answer_ids)):
        if given != original:
            how = " (extended in place, e.g. with += or .extend)" if given[:len(original)] == original else ""
            raise AssertionError(f"format_sft_example changed the caller's {name} {what}{how}: it was "
                                 f"{original}, after the call it is {given}. Build a new list: "
                                 "list(prompt_ids) + list(answer_ids).")
    assert_true(isinstance(result, tuple) and len(result) == 2,
                f"format_sft_example should return a tuple (inputs, targets), got {type(result).__name__}.")
    for name, value in zip(("inputs", "targets"), result):
        dtype = getattr(value, "dtype", None)
        assert_true(isinstance(value, torch.Tensor) and dtype == torch.long,
                    f"format_sft_example's {name} {what} should be a 1-D torch.long tensor; got "
                    f"{type(value).__name__}{f' of dtype {dtype}' if dtype is not None else ''}. "
                    "Token ids are integers: use dtype=torch.long (the loss needs long targets).")
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
    grad = logits.grad   # the worker's gradient of the loss with respect to logits
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
    g_c = r_c.grad if r_c.grad is not None else torch.zeros_like(r_c)
    g_r = r_r.grad if r_r.grad is not None else torch.zeros_like(r_r)
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
    assert_true(all(t.grad is None or bool(torch.all(t.grad == 0)) for t in (rc, rr)),
                "dpo_loss: a gradient reached the reference log-probabilities. The reference is "
                "frozen: detach them.")
    assert_true(bool(torch.all(pc.grad < 0)) and bool(torch.all(pr.grad > 0)),
                "dpo_loss: a gradient step should make chosen answers more likely and rejected "
                "ones less likely.")


# --- one check per graded test cell ----------------------------------------------------

CROSS_ENTROPY_FORBID_VISIBLE = ["course_lib.finetune", "torch.nn.functional.cross_entropy",
                                "torch.nn.functional.nll_loss"]


def test_format_sft_example_values(answers) -> str:
    with answer("format_sft_example", forbid=["course_lib.finetune"]):
        inputs, targets = answers.format_sft_example([2, 10, 11, 12], [20, 21, 3])
    assert_equal(inputs.tolist(), [2, 10, 11, 12, 20, 21], "inputs for prompt [2, 10, 11, 12] and answer [20, 21, 3]")
    assert_equal(targets.tolist(), [-100, -100, -100, 20, 21, 3],
                 "targets for prompt [2, 10, 11, 12] and answer [20, 21, 3]",
                 "Three targets (10, 11, 12) are prompt tokens; 20 is the first answer token and counts.")
    answers.hidden()
    format_sft_example_values(answers.format_sft_example)
    return "format_sft_example: inputs and targets are right."


def test_format_sft_example_edges(answers) -> str:
    with answer("format_sft_example", forbid=["course_lib.finetune"]):
        inputs, targets = answers.format_sft_example([2], [7, 3])
    assert_equal(targets.tolist(), [7, 3], "targets for a one-token prompt [2] and answer [7, 3]",
                 "With a one-token prompt no target is a prompt token: nothing is masked.")
    assert_equal(inputs.dtype, torch.long, "the dtype of inputs", "Token ids are integers: use dtype=torch.long.")
    answers.hidden()
    format_sft_example_edges(answers.format_sft_example)
    return "format_sft_example: the edge cases are right."


def test_sft_loss_values(answers) -> str:
    uniform = torch.zeros(1, 3, 4)
    example = torch.tensor([[[9.0, -9.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]]])
    with answer("sft_loss", forbid=CROSS_ENTROPY_FORBID_VISIBLE):
        loss_uniform = answers.sft_loss(uniform, torch.tensor([[IGNORE, 2, 1]]))
        loss_example = answers.sft_loss(example, torch.tensor([[IGNORE, 3, 0]]))
    assert_close(loss_uniform, math.log(4), "sft_loss with uniform logits over 4 tokens",
                 hint="Every token has probability 1/4, so each counted position costs log 4.",
                 mistakes={"dividing by every position, the masked one too": 0.924196})
    assert_close(loss_example, 0.863524, "sft_loss on the small example",
                 hint="Position 0 is masked; positions 1 and 2 cost log 4 and log(e^2 + 3) - 2; take their mean.",
                 mistakes={"dividing by every position, the masked one too": 0.575682,
                           "the sum instead of the mean": 1.727047})
    answers.hidden()
    sft_loss_values(answers.sft_loss)
    return "sft_loss: the loss is right."


def test_sft_loss_masking(answers) -> str:
    logits = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(0)).requires_grad_()
    targets = torch.tensor([[IGNORE, IGNORE, 1, 2], [IGNORE, 3, IGNORE, IGNORE]])
    with answer("sft_loss", forbid=CROSS_ENTROPY_FORBID_VISIBLE):
        loss = answers.sft_loss(logits, targets)
    assert_true(isinstance(loss, torch.Tensor) and loss.requires_grad,
                "sft_loss should return a tensor that gradients can flow through (no .item(), no numpy).")
    assert_true(bool(torch.all(logits.grad[targets == IGNORE] == 0)),
                "sft_loss: masked positions received a gradient; positions with target -100 must not count.")
    answers.hidden()
    sft_loss_masking(answers.sft_loss)
    return "sft_loss: masked positions get no gradient."


def test_bradley_terry_loss_values(answers) -> str:
    with answer("bradley_terry_loss", forbid=["course_lib.finetune"]):
        tie = answers.bradley_terry_loss(torch.tensor([0.5, -2.0]), torch.tensor([0.5, -2.0]))
        two = answers.bradley_terry_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]))
    assert_close(tie, math.log(2), "bradley_terry_loss when both answers get the same reward",
                 hint="sigmoid(0) = 1/2, and -log(1/2) = log 2.")
    assert_close(two, 1.220095, "bradley_terry_loss for rewards chosen [1, 0], rejected [0, 2]",
                 mistakes={"chosen and rejected swapped": 0.720095, "the sum instead of the mean": 2.440190})
    answers.hidden()
    bradley_terry_values(answers.bradley_terry_loss)
    return "bradley_terry_loss: the loss is right."


def test_bradley_terry_loss_stable(answers) -> str:
    with answer("bradley_terry_loss", forbid=["course_lib.finetune"]):
        far = answers.bradley_terry_loss(torch.tensor([-200.0]), torch.tensor([100.0]))
    assert_close(far, 300.0, "bradley_terry_loss when the rejected answer scores 300 more",
                 hint="sigmoid(-300) is 0 in floating point and log(0) = -inf: use F.logsigmoid.",
                 mistakes={"chosen and rejected swapped": 0.0})
    answers.hidden()
    bradley_terry_stable(answers.bradley_terry_loss)
    return "bradley_terry_loss: stable for large reward gaps."


def test_kl_penalty_values(answers) -> str:
    p = torch.log(torch.tensor([0.5, 0.5])).expand(1, 3, 2).clone()
    q = torch.log(torch.tensor([0.25, 0.75])).expand(1, 3, 2).clone()
    mask = torch.tensor([[False, True, True]])
    with answer("kl_penalty", forbid=["course_lib.finetune", "torch.nn.functional.kl_div"]):
        kl = answers.kl_penalty(p, q, mask)
        same = answers.kl_penalty(p, p, mask)
    assert_close(kl, [0.287682], "kl_penalty for p = (1/2, 1/2), q = (1/4, 3/4) at two masked-in positions",
                 mistakes={"the KL the other way round, KL(q || p)": [0.261624],
                           "forgetting the mask (every position counted)": [0.431523],
                           "the mean over the positions instead of the sum": [0.143841]})
    assert_close(same, [0.0], "kl_penalty of a model against itself")
    answers.hidden()
    kl_penalty_values(answers.kl_penalty)
    return "kl_penalty: the values are right."


def test_kl_penalty_frozen_reference(answers) -> str:
    g = torch.Generator().manual_seed(1)
    policy_logits = torch.randn(2, 3, 4, generator=g).requires_grad_()
    ref_logits = torch.randn(2, 3, 4, generator=g).requires_grad_()
    with answer("kl_penalty", forbid=["course_lib.finetune", "torch.nn.functional.kl_div"]):
        kl = answers.kl_penalty(policy_logits, ref_logits, torch.ones(2, 3, dtype=torch.bool))
    assert_equal(tuple(kl.shape), (2,), "the shape of kl_penalty's result", "One number per sequence: sum over positions.")
    assert_true(ref_logits.grad is None, "kl_penalty: a gradient reached the reference logits; detach them.")
    assert_true(policy_logits.grad is not None, "kl_penalty: no gradient reached the policy logits.")
    answers.hidden()
    kl_penalty_frozen_reference(answers.kl_penalty)
    return "kl_penalty: gradients reach the policy only."


def test_dpo_loss_values(answers) -> str:
    lp = torch.tensor([-1.0, -4.0])
    with answer("dpo_loss", forbid=["course_lib.finetune"]):
        start = answers.dpo_loss(lp, lp - 2, lp, lp - 2, beta=0.1)
        one = answers.dpo_loss(torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]),
                               torch.tensor([-1.0]), beta=0.5)
    assert_close(start, math.log(2), "dpo_loss when the policy equals the reference",
                 hint="Both log-ratios are 0, so the loss is -log sigmoid(0) = log 2.",
                 mistakes={"forgetting the reference model": 0.598139})
    assert_close(one, 0.201413, "dpo_loss(-1, -3, -2, -1, beta=0.5)",
                 mistakes={"chosen and rejected swapped": 1.701413, "forgetting beta": 0.048587,
                           "forgetting the reference model": 0.313262,
                           "the ratios the wrong way round (reference minus policy)": 1.701413})
    answers.hidden()
    dpo_loss_values(answers.dpo_loss)
    return "dpo_loss: the loss is right."


def test_dpo_loss_gradients(answers) -> str:
    pc, pr = torch.tensor([-2.0], requires_grad=True), torch.tensor([-2.0], requires_grad=True)
    rc, rr = torch.tensor([-2.0], requires_grad=True), torch.tensor([-2.0], requires_grad=True)
    with answer("dpo_loss", forbid=["course_lib.finetune"]):
        answers.dpo_loss(pc, pr, rc, rr, beta=1.0)
    assert_true(rc.grad is None and rr.grad is None,
                "dpo_loss: a gradient reached the reference log-probabilities; detach them.")
    assert_true(pc.grad is not None and pr.grad is not None and pc.grad.item() < 0 < pr.grad.item(),
                "dpo_loss: a step downhill should raise the chosen answer's log-probability and lower the rejected one's.")
    answers.hidden()
    dpo_loss_gradients(answers.dpo_loss)
    return "dpo_loss: gradients reach the policy only, in the right direction."


FORBIDDEN = {
    "test_format_sft_example_values": ("format_sft_example", FORBID),
    "test_format_sft_example_edges": ("format_sft_example", FORBID),
    "test_sft_loss_values": ("sft_loss", SFT_LOSS_FORBID), "test_sft_loss_masking": ("sft_loss", SFT_LOSS_FORBID),
    "test_bradley_terry_loss_values": ("bradley_terry_loss", FORBID),
    "test_bradley_terry_loss_stable": ("bradley_terry_loss", FORBID),
    "test_kl_penalty_values": ("kl_penalty", KL_FORBID),
    "test_kl_penalty_frozen_reference": ("kl_penalty", KL_FORBID),
    "test_dpo_loss_values": ("dpo_loss", FORBID), "test_dpo_loss_gradients": ("dpo_loss", FORBID),
}
