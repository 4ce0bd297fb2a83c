"""Chapter 5: known-wrong answers (MUTANTS) and known-right ones (ALTERNATIVES).

The format and its use are described in tests/answers/ch1.py.
"""

MUTANTS = {
    "format_sft_example": [
        # masks one target too many: the first answer token does not count
        "def format_sft_example(prompt_ids, answer_ids):\n"
        "    ids = torch.tensor(list(prompt_ids) + list(answer_ids))\n"
        "    targets = ids[1:].clone()\n"
        "    targets[: len(prompt_ids)] = -100\n"
        "    return ids[:-1], targets\n",
        # no masking at all
        "def format_sft_example(prompt_ids, answer_ids):\n"
        "    ids = torch.tensor(list(prompt_ids) + list(answer_ids))\n"
        "    return ids[:-1], ids[1:]\n",
        # targets not shifted
        "def format_sft_example(prompt_ids, answer_ids):\n"
        "    ids = torch.tensor(list(prompt_ids) + list(answer_ids))\n"
        "    targets = ids[:-1].clone()\n"
        "    targets[: len(prompt_ids) - 1] = -100\n"
        "    return ids[:-1], targets\n",
        # masks the inputs instead of the targets
        "def format_sft_example(prompt_ids, answer_ids):\n"
        "    ids = torch.tensor(list(prompt_ids) + list(answer_ids))\n"
        "    inputs = ids[:-1].clone()\n"
        "    inputs[: len(prompt_ids) - 1] = -100\n"
        "    return inputs, ids[1:]\n",
        # extends the caller's prompt_ids in place (right tensors, but the caller's list is changed)
        "def format_sft_example(prompt_ids, answer_ids):\n"
        "    n = len(prompt_ids)\n"
        "    prompt_ids.extend(answer_ids)\n"
        "    ids = torch.tensor(prompt_ids, dtype=torch.long)\n"
        "    targets = ids[1:].clone()\n"
        "    targets[: n - 1] = -100\n"
        "    return ids[:-1], targets\n",
        # targets as torch.int32 (the text says torch.long)
        "def format_sft_example(prompt_ids, answer_ids):\n"
        "    ids = list(prompt_ids) + list(answer_ids)\n"
        "    targets = torch.tensor(ids[1:], dtype=torch.int32)\n"
        "    targets[: len(prompt_ids) - 1] = -100\n"
        "    return torch.tensor(ids[:-1], dtype=torch.long), targets\n",
    ],
    "sft_loss": [
        # divides by every position, masked ones too
        "def sft_loss(logits, targets):\n"
        "    keep = targets != -100\n"
        "    logp = torch.log_softmax(logits, -1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)\n"
        "    return -(logp * keep).sum() / keep.numel()\n",
        # the mean of per-sequence means
        "def sft_loss(logits, targets):\n"
        "    keep = targets != -100\n"
        "    logp = torch.log_softmax(logits, -1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)\n"
        "    return -((logp * keep).sum(1) / keep.sum(1)).mean()\n",
        # log of softmax: -inf for confident wrong answers
        "def sft_loss(logits, targets):\n"
        "    keep = targets != -100\n"
        "    p = torch.exp(logits) / torch.exp(logits).sum(-1, keepdim=True)\n"
        "    return -torch.log(p[keep].gather(-1, targets[keep].unsqueeze(-1))).mean()\n",
        # the forbidden shortcut
        "def sft_loss(logits, targets):\n"
        "    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))\n",
        # the sum over the answer tokens instead of the mean
        "def sft_loss(logits, targets):\n"
        "    keep = targets != -100\n"
        "    logp = torch.log_softmax(logits, -1).gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)\n"
        "    return -(logp * keep).sum()\n",
    ],
    "bradley_terry_loss": [
        # chosen and rejected swapped
        "def bradley_terry_loss(r_chosen, r_rejected):\n"
        "    return -F.logsigmoid(r_rejected - r_chosen).mean()\n",
        # sum instead of mean
        "def bradley_terry_loss(r_chosen, r_rejected):\n"
        "    return -F.logsigmoid(r_chosen - r_rejected).sum()\n",
        # log(sigmoid(...)): overflows for large gaps
        "def bradley_terry_loss(r_chosen, r_rejected):\n"
        "    return -torch.log(torch.sigmoid(r_chosen - r_rejected)).mean()\n",
        # returns a Python float
        "def bradley_terry_loss(r_chosen, r_rejected):\n"
        "    return float(-F.logsigmoid(r_chosen - r_rejected).mean())\n",
        # torch's binary cross-entropy (forbidden: the right values, but not written by hand)
        "def bradley_terry_loss(r_chosen, r_rejected):\n"
        "    diff = r_chosen - r_rejected\n"
        "    return F.binary_cross_entropy_with_logits(diff, torch.ones_like(diff))\n",
    ],
    "kl_penalty": [
        # the other direction
        "def kl_penalty(policy_logits, ref_logits, mask):\n"
        "    log_p = torch.log_softmax(policy_logits, -1)\n"
        "    log_q = torch.log_softmax(ref_logits.detach(), -1)\n"
        "    return ((log_q.exp() * (log_q - log_p)).sum(-1) * mask).sum(-1)\n",
        # no mask
        "def kl_penalty(policy_logits, ref_logits, mask):\n"
        "    log_p = torch.log_softmax(policy_logits, -1)\n"
        "    log_q = torch.log_softmax(ref_logits.detach(), -1)\n"
        "    return (log_p.exp() * (log_p - log_q)).sum(-1).sum(-1)\n",
        # the reference is not detached
        "def kl_penalty(policy_logits, ref_logits, mask):\n"
        "    log_p = torch.log_softmax(policy_logits, -1)\n"
        "    log_q = torch.log_softmax(ref_logits, -1)\n"
        "    return ((log_p.exp() * (log_p - log_q)).sum(-1) * mask).sum(-1)\n",
        # mean over the positions instead of the sum
        "def kl_penalty(policy_logits, ref_logits, mask):\n"
        "    log_p = torch.log_softmax(policy_logits, -1)\n"
        "    log_q = torch.log_softmax(ref_logits.detach(), -1)\n"
        "    kl = (log_p.exp() * (log_p - log_q)).sum(-1)\n"
        "    return (kl * mask).sum(-1) / mask.sum(-1)\n",
        # torch.distributions' KL (forbidden: the right values, but not written by hand)
        "def kl_penalty(policy_logits, ref_logits, mask):\n"
        "    p = torch.distributions.Categorical(logits=policy_logits)\n"
        "    q = torch.distributions.Categorical(logits=ref_logits.detach())\n"
        "    return (torch.distributions.kl_divergence(p, q) * mask).sum(-1)\n",
    ],
    "dpo_loss": [
        # chosen and rejected swapped
        "def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):\n"
        "    margin = (policy_rejected - ref_rejected.detach()) - (policy_chosen - ref_chosen.detach())\n"
        "    return -F.logsigmoid(beta * margin).mean()\n",
        # beta forgotten
        "def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):\n"
        "    margin = (policy_chosen - ref_chosen.detach()) - (policy_rejected - ref_rejected.detach())\n"
        "    return -F.logsigmoid(margin).mean()\n",
        # the reference forgotten
        "def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):\n"
        "    return -F.logsigmoid(beta * (policy_chosen - policy_rejected)).mean()\n",
        # the reference not detached
        "def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):\n"
        "    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)\n"
        "    return -F.logsigmoid(beta * margin).mean()\n",
        # torch's binary cross-entropy (forbidden: the right values, but not written by hand)
        "def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):\n"
        "    margin = (policy_chosen - ref_chosen.detach()) - (policy_rejected - ref_rejected.detach())\n"
        "    return F.binary_cross_entropy_with_logits(beta * margin, torch.ones_like(margin))\n",
    ],
}

ALTERNATIVES = {
    "format_sft_example": [
        "def format_sft_example(prompt_ids, answer_ids):\n"
        "    ids = list(prompt_ids) + list(answer_ids)\n"
        "    masked = [-100] * (len(prompt_ids) - 1) + ids[len(prompt_ids):]\n"
        "    return torch.tensor(ids[:-1]), torch.tensor(masked)\n",
        "def format_sft_example(prompt_ids, answer_ids):\n"
        "    prompt = torch.as_tensor(prompt_ids, dtype=torch.long)\n"
        "    reply = torch.as_tensor(answer_ids, dtype=torch.long)\n"
        "    inputs = torch.cat([prompt, reply[:-1]])\n"
        "    targets = torch.cat([torch.full((len(prompt) - 1,), -100), reply])\n"
        "    return inputs, targets\n",
    ],
    "sft_loss": [
        "def sft_loss(logits, targets):\n"
        "    keep = targets != -100\n"
        "    log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)\n"
        "    safe = torch.where(keep, targets, torch.zeros_like(targets))\n"
        "    picked = log_probs.gather(-1, safe.unsqueeze(-1)).squeeze(-1)\n"
        "    return -(picked * keep).sum() / keep.sum()\n",
        "def sft_loss(logits, targets):\n"
        "    V = logits.shape[-1]\n"
        "    flat_logits, flat_targets = logits.reshape(-1, V), targets.reshape(-1)\n"
        "    rows = (flat_targets != -100).nonzero().squeeze(1)\n"
        "    losses = [-torch.log_softmax(flat_logits[i], 0)[flat_targets[i]] for i in rows]\n"
        "    return torch.stack(losses).mean()\n",
    ],
    "bradley_terry_loss": [
        "def bradley_terry_loss(r_chosen, r_rejected):\n"
        "    return F.softplus(r_rejected - r_chosen).mean()\n",
        "def bradley_terry_loss(r_chosen, r_rejected):\n"
        "    d = r_chosen - r_rejected\n"
        "    # log(1 + e^-d), written stably\n"
        "    return (torch.clamp(-d, min=0) + torch.log1p(torch.exp(-d.abs()))).mean()\n",
    ],
    "kl_penalty": [
        "def kl_penalty(policy_logits, ref_logits, mask):\n"
        "    p = torch.softmax(policy_logits, dim=-1)\n"
        "    diff = torch.log_softmax(policy_logits, -1) - torch.log_softmax(ref_logits, -1).detach()\n"
        "    per_position = (p * diff).sum(-1)\n"
        "    return torch.where(mask.bool(), per_position, torch.zeros_like(per_position)).sum(-1)\n",
        "def kl_penalty(policy_logits, ref_logits, mask):\n"
        "    with torch.no_grad():\n"
        "        log_q = torch.log_softmax(ref_logits, -1)\n"
        "    log_p = torch.log_softmax(policy_logits, -1)\n"
        "    out = []\n"
        "    for b in range(policy_logits.shape[0]):\n"
        "        kl = (log_p[b].exp() * (log_p[b] - log_q[b])).sum(-1)\n"
        "        out.append(kl[mask[b].bool()].sum())\n"
        "    return torch.stack(out)\n",
    ],
    "dpo_loss": [
        "def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):\n"
        "    logits = beta * ((policy_chosen - policy_rejected) - (ref_chosen - ref_rejected).detach())\n"
        "    return F.softplus(-logits).mean()\n",
        "def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):\n"
        "    reward_chosen = beta * (policy_chosen - ref_chosen.detach())\n"
        "    reward_rejected = beta * (policy_rejected - ref_rejected.detach())\n"
        "    return bradley_terry_loss(reward_chosen, reward_rejected)\n",
    ],
}
