"""From a base model to an assistant: SFT, a reward model, RLHF and DPO.

Chapter 5 turns a base model (which only continues text) into one that
answers. The steps, in the order the chapter takes them:

1. ``sft_example``, ``collate``, ``sft_loss`` - supervised fine-tuning (SFT):
   train on prompt/answer pairs, with the prompt tokens masked out of the
   loss (their target is ``IGNORE_INDEX``), so the model learns to *answer*,
   not to write questions. ``train_sft`` runs it; ``freeze_embeddings``
   keeps the word embeddings (and so the output layer) as pretraining left them.
2. ``RewardModel``, ``bradley_terry_loss`` - a copy of the model whose output
   layer gives one number (a score) instead of next-token logits; trained on
   pairs (chosen, rejected) so that the chosen answer scores higher.
   ``train_reward_model`` runs it.
3. ``kl_penalty``, ``policy_gradient_loss`` - RLHF: sample answers, score
   them with the reward model, make the better-than-average answers more
   likely (REINFORCE with a baseline) while a KL penalty keeps the model close
   to the frozen SFT model. ``train_rlhf`` runs it.
4. ``dpo_loss`` - direct preference optimisation: learn from the preference
   pairs directly, with no reward model and no sampling. ``train_dpo``.

The three preference steps train without dropout: they compare
log-probabilities or rewards of answers that may differ in a single word.

Sequences are right-padded. The GPT reads left to right, so padding after the
last real token never changes what comes before it; we only have to leave the
padding out of every sum (its targets are ``IGNORE_INDEX`` too).

Shapes: B = batch size, T = sequence length, V = vocabulary size.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.gpt import GPT, IGNORE_INDEX
from course_lib.train import History, fit

Example = tuple[torch.Tensor, torch.Tensor]  # (input ids, targets), both (T,)


# ---------------------------------------------------------------------------
# 1. Supervised fine-tuning
# ---------------------------------------------------------------------------

def freeze_embeddings(model: GPT) -> GPT:
    """Stop training ``model``'s token embeddings; returns the same model.

    In our GPT the embedding table is also the output layer (weight tying).
    Fine-tuning data is small and names only a few countries: left free, the
    table drifts towards the few capitals it contains, and the model forgets
    that the others exist. Copies (``copy.deepcopy``) stay frozen too.
    """
    model.token_emb.weight.requires_grad_(False)
    return model


def sft_example(prompt_ids: Sequence[int], answer_ids: Sequence[int]) -> Example:
    """One training example: the input ids and the targets, both of length P + A - 1.

    The model reads ``prompt + answer`` and predicts each next token:
    ``targets[t]`` is the token after ``inputs[t]``. Targets that are prompt
    tokens are set to ``IGNORE_INDEX``: the model is not trained to write the
    question, only the answer. The first answer token is the target of the
    last prompt token, so exactly ``len(prompt_ids) - 1`` targets are masked.
    """
    if len(prompt_ids) == 0 or len(answer_ids) == 0:
        raise ValueError("an SFT example needs a non-empty prompt and a non-empty answer")
    ids = torch.tensor(list(prompt_ids) + list(answer_ids), dtype=torch.long)
    inputs, targets = ids[:-1], ids[1:].clone()
    targets[: len(prompt_ids) - 1] = IGNORE_INDEX
    return inputs, targets


def collate(examples: Sequence[Example], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack examples of different lengths into (B, T) tensors, padding on the right.

    Inputs are padded with ``pad_id``, targets with ``IGNORE_INDEX``.
    """
    if len(examples) == 0:
        raise ValueError("collate needs at least one example")
    T = max(len(x) for x, _ in examples)
    inputs = torch.full((len(examples), T), pad_id, dtype=torch.long)
    targets = torch.full((len(examples), T), IGNORE_INDEX, dtype=torch.long)
    for b, (x, y) in enumerate(examples):
        inputs[b, : len(x)] = x
        targets[b, : len(y)] = y
    return inputs, targets


def sft_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the answer tokens only (targets != IGNORE_INDEX).

    logits: (B, T, V); targets: (B, T). Every answer token of the batch counts
    once, so a long answer weighs more than a short one.
    """
    V = logits.size(-1)
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=IGNORE_INDEX)


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) at every position, 0 where the target is IGNORE_INDEX. (B, T)."""
    keep = targets != IGNORE_INDEX
    safe = targets.masked_fill(~keep, 0)
    logp = torch.log_softmax(logits, dim=-1).gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return logp * keep


def sequence_logprob(model: GPT, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(answer | prompt) of each sequence: the sum over its answer tokens. (B,)."""
    logits, _ = model(inputs)
    return token_logprobs(logits, targets).sum(dim=-1)


def example_batches(
    examples: Sequence[Example], pad_id: int, batch_size: int
) -> Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]:
    """A ``get_batch`` for :func:`course_lib.train.fit`: random examples, collated."""
    if len(examples) == 0:
        raise ValueError("example_batches needs at least one example")

    def get_batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        pick = torch.randint(0, len(examples), (batch_size,), generator=generator)
        return collate([examples[i] for i in pick.tolist()], pad_id)

    return get_batch


def train_sft(
    model: GPT, examples: Sequence[Example], pad_id: int,
    steps: int = 200, batch_size: int = 32, lr: float = 1e-3, seed: int = 0, **fit_kwargs,
) -> History:
    """Fine-tune ``model`` in place on SFT examples (prompt tokens masked)."""
    def loss_fn(m: GPT, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        inputs, targets = batch
        logits, _ = m(inputs)
        return sft_loss(logits, targets)

    return fit(model, loss_fn, example_batches(examples, pad_id, batch_size),
               steps=steps, lr=lr, seed=seed, **fit_kwargs)


# ---------------------------------------------------------------------------
# 2. The reward model
# ---------------------------------------------------------------------------

class RewardModel(nn.Module):
    """A GPT whose output layer gives a score instead of next-token logits.

    It starts as a copy of ``base`` (usually the SFT model, so it already
    knows the language and the facts); only its last layer is new: a linear
    map from the final hidden state to one number, initialised to zero so
    every answer starts with reward 0. The score of a sequence is the output
    at its last real token, which has read the whole prompt and answer.
    """

    def __init__(self, base: GPT) -> None:
        super().__init__()
        self.body = copy.deepcopy(base)
        self.body.lm_head = nn.Linear(base.config.n_embd, 1)   # the scalar head
        nn.init.zeros_(self.body.lm_head.weight)
        nn.init.zeros_(self.body.lm_head.bias)

    def forward(self, idx: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """idx: (B, T) right-padded token ids; lengths: (B,) real lengths. Returns (B,)."""
        scores, _ = self.body(idx)                               # (B, T, 1)
        last = (lengths - 1).clamp(min=0)
        return scores[torch.arange(idx.size(0)), last, 0]


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(r_chosen - r_rejected), averaged over the pairs.

    The Bradley-Terry model says a person prefers the chosen answer with
    probability sigmoid(r_chosen - r_rejected); this is the negative log of
    that probability. Equal rewards give log 2.
    """
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad lists of token ids into (B, T) and return them with their lengths (B,)."""
    lengths = torch.tensor([len(s) for s in seqs])
    idx = torch.full((len(seqs), int(lengths.max())), pad_id, dtype=torch.long)
    for b, s in enumerate(seqs):
        idx[b, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return idx, lengths


def train_reward_model(
    reward_model: RewardModel,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    pad_id: int, steps: int = 200, batch_size: int = 32, lr: float = 1e-3, seed: int = 0,
    **fit_kwargs,
) -> History:
    """Train on (chosen ids, rejected ids) pairs, each a whole prompt + answer (no dropout)."""
    if len(pairs) == 0:
        raise ValueError("train_reward_model needs at least one pair")

    def get_batch(generator: torch.Generator) -> list[int]:
        return torch.randint(0, len(pairs), (batch_size,), generator=generator).tolist()

    def loss_fn(rm: RewardModel, pick: list[int]) -> torch.Tensor:
        chosen, rejected = pair_rewards(rm, [pairs[i] for i in pick], pad_id)
        return bradley_terry_loss(chosen, rejected)

    # no dropout (train_mode=False): the two answers of a pair may differ in a single word
    return fit(reward_model, loss_fn, get_batch, steps=steps, lr=lr, seed=seed,
               train_mode=False, **fit_kwargs)


def pair_rewards(
    reward_model: RewardModel, pairs: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards of the chosen and of the rejected sequence of each pair: two (B,) tensors."""
    idx, lengths = pad_sequences([c for c, _ in pairs] + [r for _, r in pairs], pad_id)
    rewards = reward_model(idx, lengths)
    return rewards[: len(pairs)], rewards[len(pairs):]


# ---------------------------------------------------------------------------
# 3. RLHF: policy gradient with a KL penalty
# ---------------------------------------------------------------------------

def kl_penalty(policy_logits: torch.Tensor, ref_logits: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:
    """KL(policy || reference) summed over the answer positions of each sequence. (B,).

    At every position where ``mask`` is True the two models give next-token
    distributions p (policy) and q (reference);
    KL(p || q) = sum_v p(v) (log p(v) - log q(v)) is 0 when they agree and
    grows as the policy drifts away. Gradients flow into the policy only.
    """
    logp = torch.log_softmax(policy_logits, dim=-1)
    logq = torch.log_softmax(ref_logits.detach(), dim=-1)
    kl = (logp.exp() * (logp - logq)).sum(dim=-1)             # (B, T)
    return (kl * mask).sum(dim=-1)


def policy_gradient_loss(logprobs: torch.Tensor, rewards: torch.Tensor,
                         baseline: torch.Tensor | float) -> torch.Tensor:
    """REINFORCE: -(reward - baseline) * log p(answer), averaged over the batch.

    Minimising it makes answers that scored above the baseline more likely
    and those below it less likely. The advantage (reward - baseline) is a
    constant weight: no gradient flows through the rewards or the baseline.
    """
    advantage = (rewards - baseline).detach()
    return -(advantage * logprobs).mean()


def answer_targets(sequences: torch.Tensor, prompt_len: int, stop_id: int) -> Example:
    """Inputs and targets of sampled sequences (B, P + N): prompt and after-stop masked.

    The answer is every token after the prompt up to and including the first
    ``stop_id``; targets elsewhere are ``IGNORE_INDEX``. Returns (B, T - 1) tensors.
    """
    inputs, targets = sequences[:, :-1], sequences[:, 1:].clone()
    answer = targets[:, prompt_len - 1:]
    stopped_before = (answer == stop_id).long().cumsum(dim=1) - (answer == stop_id).long()
    answer[stopped_before > 0] = IGNORE_INDEX
    targets[:, : prompt_len - 1] = IGNORE_INDEX
    return inputs, targets


@dataclass
class RLHFHistory:
    """Per update of :func:`train_rlhf`: mean reward and mean KL of the sampled answers."""
    reward: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    fit: History | None = None


def train_rlhf(
    policy: GPT, reference: GPT, reward_model: RewardModel, prompts: torch.Tensor, stop_id: int,
    steps: int = 100, batch_size: int = 32, beta: float = 0.1, lr: float = 1e-4,
    max_new_tokens: int = 8, seed: int = 0, **fit_kwargs,
) -> RLHFHistory:
    """RLHF on ``prompts`` (N, P), all of the same length; ``policy`` is updated in place.

    Each update: sample one answer per prompt of a random batch, score it with
    the reward model, and minimise
        policy_gradient_loss(log p(answer), reward, baseline = mean reward)
        + beta * mean KL(policy || reference) over the answer tokens.
    ``reference`` (the SFT model) and ``reward_model`` stay frozen: they run
    in eval mode without gradients.
    """
    reference.eval()
    reward_model.eval()
    history = RLHFHistory()
    prompt_len = prompts.size(1)

    def get_batch(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pick = torch.randint(0, len(prompts), (batch_size,), generator=generator)
        sampled = policy.generate(prompts[pick], max_new_tokens, generator=generator,
                                  stop_token=stop_id)
        return (sampled, *answer_targets(sampled, prompt_len, stop_id))

    def loss_fn(model: GPT, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        sampled, inputs, targets = batch
        mask = targets != IGNORE_INDEX
        with torch.no_grad():
            ref_logits, _ = reference(inputs)
            rewards = reward_model(sampled, prompt_len + mask.sum(dim=1))
        logits, _ = model(inputs)
        logprobs = token_logprobs(logits, targets).sum(dim=-1)
        kl = kl_penalty(logits, ref_logits, mask)
        history.reward.append(rewards.mean().item())
        history.kl.append(kl.mean().item())
        return policy_gradient_loss(logprobs, rewards, rewards.mean()) + beta * kl.mean()

    # no dropout (train_mode=False): its log-probabilities must match the sampler's and the reference's
    history.fit = fit(policy, loss_fn, get_batch, steps=steps, lr=lr, seed=seed,
                      train_mode=False, **fit_kwargs)
    return history


# ---------------------------------------------------------------------------
# 4. DPO: preferences without a reward model
# ---------------------------------------------------------------------------

def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor,
             ref_chosen: torch.Tensor, ref_rejected: torch.Tensor,
             beta: float = 0.1) -> torch.Tensor:
    """Direct preference optimisation (Rafailov et al. 2023), averaged over the pairs.

    Arguments are log p(answer | prompt) of the chosen and rejected answers
    under the policy and the frozen reference, each (B,). The implicit reward
    of an answer is beta * (log p_policy - log p_reference); the loss is the
    Bradley-Terry loss of those rewards. At the start (policy = reference) it
    is log 2.
    """
    chosen = beta * (policy_chosen - ref_chosen.detach())
    rejected = beta * (policy_rejected - ref_rejected.detach())
    return bradley_terry_loss(chosen, rejected)


def train_dpo(
    policy: GPT, reference: GPT, pairs: Sequence[tuple[Example, Example]], pad_id: int,
    steps: int = 100, batch_size: int = 32, beta: float = 0.1, lr: float = 1e-4, seed: int = 0,
    **fit_kwargs,
) -> History:
    """DPO on (chosen, rejected) SFT-style examples; ``policy`` is updated in place.

    The reference log-probabilities never change, so they are computed once.
    """
    if len(pairs) == 0:
        raise ValueError("train_dpo needs at least one pair")
    chosen = collate([c for c, _ in pairs], pad_id)
    rejected = collate([r for _, r in pairs], pad_id)
    reference.eval()
    with torch.no_grad():
        ref_chosen = sequence_logprob(reference, *chosen)
        ref_rejected = sequence_logprob(reference, *rejected)

    def get_batch(generator: torch.Generator) -> torch.Tensor:
        return torch.randint(0, len(pairs), (batch_size,), generator=generator)

    def loss_fn(model: GPT, pick: torch.Tensor) -> torch.Tensor:
        return dpo_loss(sequence_logprob(model, chosen[0][pick], chosen[1][pick]),
                        sequence_logprob(model, rejected[0][pick], rejected[1][pick]),
                        ref_chosen[pick], ref_rejected[pick], beta)

    # no dropout (train_mode=False): the log-ratios compare the policy with the reference exactly
    return fit(policy, loss_fn, get_batch, steps=steps, lr=lr, seed=seed,
               train_mode=False, **fit_kwargs)


__all__ = [
    "IGNORE_INDEX", "freeze_embeddings", "sft_example", "collate", "sft_loss", "token_logprobs", "sequence_logprob",
    "example_batches", "train_sft", "RewardModel", "bradley_terry_loss", "pad_sequences",
    "pair_rewards", "train_reward_model", "kl_penalty", "policy_gradient_loss",
    "answer_targets", "RLHFHistory", "train_rlhf", "dpo_loss", "train_dpo",
]
