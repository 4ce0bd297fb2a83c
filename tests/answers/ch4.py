"""Chapter 4: known-wrong answers (MUTANTS) and known-right ones (ALTERNATIVES).

Each entry replaces the whole solution cell of that answer (keyed by the
cell's nbgrader grade_id). The round-trip test autogrades them with nbgrader:
every mutant must lose points on its answer's test cells, every alternative
must keep them all.
"""

_MASK = "def causal_mask(T):\n    return torch.tril(torch.ones(T, T)).bool()\n\n"
_LN = ("def layer_norm(x, w, b, eps=1e-5):\n"
       "    var = x.var(dim=-1, keepdim=True, unbiased=False)\n"
       "    return (x - x.mean(dim=-1, keepdim=True)) / torch.sqrt(var + eps) * w + b\n\n")
_BLOCK_BODY = ("    x = x + multi_head_attention(layer_norm(x, p['ln1_w'], p['ln1_b']), p, n_head)\n"
               "    return x + F.gelu(layer_norm(x, p['ln2_w'], p['ln2_b']) @ p['W1'] + p['b1']) @ p['W2'] + p['b2']\n")
_LOSS = ("def next_token_loss(logits, targets):\n"
         "    keep = targets != -100\n"
         "    logp = torch.log_softmax(logits[keep], -1)\n"
         "    return -logp.gather(-1, targets[keep][:, None]).mean()\n")
_FORWARD = ("def gpt_forward(idx, params, n_head):\n"
            "    x = params['token_emb'][idx] + params['pos_emb'][:idx.shape[1]]\n"
            "    for p in params['blocks']:\n"
            "        x = transformer_block(x, p, n_head)\n"
            "    return layer_norm(x, params['lnf_w'], params['lnf_b']) @ params['token_emb'].T\n\n")


def _pe(body: str) -> str:
    return ("def positional_encoding(n_positions, dim):\n"
            "    pos = torch.arange(n_positions, dtype=torch.float32)[:, None]\n" + body)


def _attention(body: str, mask: str = _MASK) -> str:
    return (mask + "def attention(q, k, v, mask=None):\n"
            "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n" + body)


def _mha(body: str) -> str:
    return ("def multi_head_attention(x, params, n_head):\n"
            "    B, T, C = x.shape\n"
            "    D = C // n_head\n"
            "    q, k, v = (x @ params[w] for w in ('Wq', 'Wk', 'Wv'))\n" + body)


def _block(ln: str, body: str) -> str:
    return (ln + "def transformer_block(x, params, n_head):\n    p = params\n" + body)


MUTANTS = {
    "positional_encoding": [
        # base 1000 instead of 10000
        _pe("    rate = 1000.0 ** (-torch.arange(0, dim, 2) / dim)\n"
            "    pe = torch.zeros(n_positions, dim)\n"
            "    pe[:, 0::2] = torch.sin(pos * rate)\n"
            "    pe[:, 1::2] = torch.cos(pos * rate)\n"
            "    return pe\n"),
        # sin and cos swapped
        _pe("    rate = 10000.0 ** (-torch.arange(0, dim, 2) / dim)\n"
            "    pe = torch.zeros(n_positions, dim)\n"
            "    pe[:, 0::2] = torch.cos(pos * rate)\n"
            "    pe[:, 1::2] = torch.sin(pos * rate)\n"
            "    return pe\n"),
        # all sines, then all cosines
        _pe("    rate = 10000.0 ** (-torch.arange(0, dim, 2) / dim)\n"
            "    return torch.cat([torch.sin(pos * rate), torch.cos(pos * rate)], dim=1)\n"),
        # exponent i / dim instead of 2i / dim
        _pe("    rate = 10000.0 ** (-torch.arange(dim // 2) / dim)\n"
            "    pe = torch.zeros(n_positions, dim)\n"
            "    pe[:, 0::2] = torch.sin(pos * rate)\n"
            "    pe[:, 1::2] = torch.cos(pos * rate)\n"
            "    return pe\n"),
        # the course's own version: forbidden
        "from course_lib.gpt import sinusoidal_positions\n\n"
        "def positional_encoding(n_positions, dim):\n"
        "    return sinusoidal_positions(n_positions, dim)\n",
    ],
    "attention": [
        # no scaling by sqrt(d_k)
        _MASK + "def attention(q, k, v, mask=None):\n"
        "    scores = q @ k.transpose(-2, -1)\n"
        "    if mask is not None:\n"
        "        scores = scores.masked_fill(~mask, float('-inf'))\n"
        "    w = torch.softmax(scores, -1)\n"
        "    return w @ v, w\n",
        # softmax over the wrong axis
        _attention("    if mask is not None:\n"
                   "        scores = scores.masked_fill(~mask, float('-inf'))\n"
                   "    w = torch.softmax(scores, -2).nan_to_num()\n"
                   "    return w @ v, w\n"),
        # mask applied after the softmax
        _attention("    w = torch.softmax(scores, -1)\n"
                   "    if mask is not None:\n"
                   "        w = w * mask\n"
                   "    return w @ v, w\n"),
        # the future instead of the past
        _attention("    if mask is not None:\n"
                   "        scores = scores.masked_fill(~mask, float('-inf'))\n"
                   "    w = torch.softmax(scores, -1).nan_to_num()\n"
                   "    return w @ v, w\n",
                   mask="def causal_mask(T):\n    return torch.triu(torch.ones(T, T)).bool()\n\n"),
        # torch's fused attention: forbidden
        _attention("    if mask is not None:\n"
                   "        scores = scores.masked_fill(~mask, float('-inf'))\n"
                   "    w = torch.softmax(scores, -1)\n"
                   "    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), w\n"),
    ],
    "multi_head_attention": [
        # heads split across the wrong axis (the positions instead of the channels)
        _mha("    split = lambda h: h.reshape(B, n_head, T, D)\n"
             "    out, _ = attention(split(q), split(k), split(v), causal_mask(T))\n"
             "    return out.reshape(B, T, C) @ params['Wo']\n"),
        # one big head
        _mha("    out, _ = attention(q, k, v, causal_mask(T))\n"
             "    return out @ params['Wo']\n"),
        # no output projection
        _mha("    split = lambda h: h.view(B, T, n_head, D).transpose(1, 2)\n"
             "    out, _ = attention(split(q), split(k), split(v), causal_mask(T))\n"
             "    return out.transpose(1, 2).reshape(B, T, C)\n"),
        # heads merged without swapping the axes back
        _mha("    split = lambda h: h.view(B, T, n_head, D).transpose(1, 2)\n"
             "    out, _ = attention(split(q), split(k), split(v), causal_mask(T))\n"
             "    return out.reshape(B, T, C) @ params['Wo']\n"),
        # no causal mask
        _mha("    split = lambda h: h.view(B, T, n_head, D).transpose(1, 2)\n"
             "    out, _ = attention(split(q), split(k), split(v))\n"
             "    return out.transpose(1, 2).reshape(B, T, C) @ params['Wo']\n"),
    ],
    "transformer_block": [
        # post-LN
        _block(_LN, "    x = layer_norm(x + multi_head_attention(x, p, n_head), p['ln1_w'], p['ln1_b'])\n"
                    "    h = x + F.gelu(x @ p['W1'] + p['b1']) @ p['W2'] + p['b2']\n"
                    "    return layer_norm(h, p['ln2_w'], p['ln2_b'])\n"),
        # no residual around the MLP
        _block(_LN, "    x = x + multi_head_attention(layer_norm(x, p['ln1_w'], p['ln1_b']), p, n_head)\n"
                    "    return F.gelu(layer_norm(x, p['ln2_w'], p['ln2_b']) @ p['W1'] + p['b1']) @ p['W2'] + p['b2']\n"),
        # ReLU instead of GELU
        _block(_LN, "    x = x + multi_head_attention(layer_norm(x, p['ln1_w'], p['ln1_b']), p, n_head)\n"
                    "    return x + F.relu(layer_norm(x, p['ln2_w'], p['ln2_b']) @ p['W1'] + p['b1']) @ p['W2'] + p['b2']\n"),
        # the unbiased variance in layer norm
        _block("def layer_norm(x, w, b, eps=1e-5):\n"
               "    return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps) * w + b\n\n",
               "    x = x + multi_head_attention(layer_norm(x, p['ln1_w'], p['ln1_b']), p, n_head)\n"
               "    return x + F.gelu(layer_norm(x, p['ln2_w'], p['ln2_b']) @ p['W1'] + p['b1']) @ p['W2'] + p['b2']\n"),
        # torch's layer norm (the text does not allow it in layer_norm)
        _block("def layer_norm(x, w, b, eps=1e-5):\n"
               "    return F.layer_norm(x, (x.shape[-1],), w, b, eps)\n\n", _BLOCK_BODY),
        # eps outside the square root (the text says: divide by sqrt(variance + eps))
        _block("def layer_norm(x, w, b, eps=1e-5):\n"
               "    centred = x - x.mean(dim=-1, keepdim=True)\n"
               "    return centred / (centred.pow(2).mean(dim=-1, keepdim=True).sqrt() + eps) * w + b\n\n",
               _BLOCK_BODY),
        # GPT-2's tanh approximation of GELU (the text asks for the exact F.gelu)
        _block(_LN, "    x = x + multi_head_attention(layer_norm(x, p['ln1_w'], p['ln1_b']), p, n_head)\n"
                    "    h = F.gelu(layer_norm(x, p['ln2_w'], p['ln2_b']) @ p['W1'] + p['b1'], approximate='tanh')\n"
                    "    return x + h @ p['W2'] + p['b2']\n"),
    ],
    "gpt": [
        # the position embeddings added after the blocks instead of before them
        "def gpt_forward(idx, params, n_head):\n"
        "    x = params['token_emb'][idx]\n"
        "    for p in params['blocks']:\n"
        "        x = transformer_block(x, p, n_head)\n"
        "    x = x + params['pos_emb'][:idx.shape[1]]\n"
        "    return layer_norm(x, params['lnf_w'], params['lnf_b']) @ params['token_emb'].T\n\n" + _LOSS,
        # no final layer norm
        "def gpt_forward(idx, params, n_head):\n"
        "    x = params['token_emb'][idx] + params['pos_emb'][:idx.shape[1]]\n"
        "    for p in params['blocks']:\n"
        "        x = transformer_block(x, p, n_head)\n"
        "    return x @ params['token_emb'].T\n\n" + _LOSS,
        # no position embeddings
        "def gpt_forward(idx, params, n_head):\n"
        "    x = params['token_emb'][idx]\n"
        "    for p in params['blocks']:\n"
        "        x = transformer_block(x, p, n_head)\n"
        "    return layer_norm(x, params['lnf_w'], params['lnf_b']) @ params['token_emb'].T\n\n" + _LOSS,
        # the loss counts the -100 positions
        _FORWARD + "def next_token_loss(logits, targets):\n"
        "    logp = torch.log_softmax(logits, -1)\n"
        "    keep = targets != -100\n"
        "    picked = logp.gather(-1, targets.clamp(min=0)[..., None])[..., 0]\n"
        "    return -(picked * keep).sum() / keep.numel()\n",
        # a ready-made loss: forbidden
        _FORWARD + "def next_token_loss(logits, targets):\n"
        "    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))\n",
    ],
}

ALTERNATIVES = {
    "positional_encoding": [
        # a plain loop with math
        "def positional_encoding(n_positions, dim):\n"
        "    pe = torch.zeros(n_positions, dim)\n"
        "    for pos in range(n_positions):\n"
        "        for i in range(0, dim, 2):\n"
        "            angle = pos / 10000 ** (i / dim)\n"
        "            pe[pos, i] = math.sin(angle)\n"
        "            pe[pos, i + 1] = math.cos(angle)\n"
        "    return pe\n",
        # exp-log rates, sin and cos stacked then interleaved
        _pe("    rate = torch.exp(torch.arange(0, dim, 2).float() * (-math.log(10000.0) / dim))\n"
            "    angles = pos * rate\n"
            "    return torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1).reshape(n_positions, dim)\n"),
    ],
    "attention": [
        # masked_fill and F.softmax
        _attention("    if mask is not None:\n"
                   "        scores = scores.masked_fill(mask == 0, float('-inf'))\n"
                   "    w = F.softmax(scores, dim=-1)\n"
                   "    return w @ v, w\n",
                   mask="def causal_mask(T):\n    return torch.ones(T, T, dtype=torch.bool).tril()\n\n"),
        # a softmax written out, with the usual max trick
        _attention("    if mask is not None:\n"
                   "        scores = torch.where(mask, scores, -torch.inf)\n"
                   "    e = torch.exp(scores - scores.max(dim=-1, keepdim=True).values)\n"
                   "    w = e / e.sum(dim=-1, keepdim=True)\n"
                   "    return torch.einsum('...ts,...sd->...td', w, v), w\n"),
    ],
    "multi_head_attention": [
        # one head at a time, slices of the last axis
        _mha("    outs = []\n"
             "    for h in range(n_head):\n"
             "        part = slice(h * D, (h + 1) * D)\n"
             "        out, _ = attention(q[..., part], k[..., part], v[..., part], causal_mask(T))\n"
             "        outs.append(out)\n"
             "    return torch.cat(outs, dim=-1) @ params['Wo']\n"),
        # reshape and permute
        _mha("    q, k, v = (t.reshape(B, T, n_head, D).permute(0, 2, 1, 3) for t in (q, k, v))\n"
             "    out, _ = attention(q, k, v, causal_mask(T))\n"
             "    return out.permute(0, 2, 1, 3).reshape(B, T, C) @ params['Wo']\n"),
    ],
    "transformer_block": [
        # layer norm with torch.var(unbiased=False), a helper for the MLP
        _block(_LN, "    def mlp(h):\n"
                    "        return F.gelu(h @ p['W1'] + p['b1']) @ p['W2'] + p['b2']\n"
                    "    x = x + multi_head_attention(layer_norm(x, p['ln1_w'], p['ln1_b']), p, n_head)\n"
                    "    return x + mlp(layer_norm(x, p['ln2_w'], p['ln2_b']))\n"),
        # rsqrt, and GELU written with erf
        _block("def layer_norm(x, w, b, eps=1e-5):\n"
               "    var = x.var(dim=-1, keepdim=True, unbiased=False)\n"
               "    return (x - x.mean(dim=-1, keepdim=True)) * torch.rsqrt(var + eps) * w + b\n\n",
               "    a = x + multi_head_attention(layer_norm(x, p['ln1_w'], p['ln1_b']), p, n_head)\n"
               "    h = layer_norm(a, p['ln2_w'], p['ln2_b']) @ p['W1'] + p['b1']\n"
               "    h = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))\n"
               "    return a + h @ p['W2'] + p['b2']\n"),
    ],
    "gpt": [
        _FORWARD + _LOSS,
        # F.embedding, and the loss through logsumexp
        "def gpt_forward(idx, params, n_head):\n"
        "    T = idx.shape[1]\n"
        "    x = F.embedding(idx, params['token_emb']) + params['pos_emb'][torch.arange(T)]\n"
        "    for block in params['blocks']:\n"
        "        x = transformer_block(x, block, n_head)\n"
        "    x = layer_norm(x, params['lnf_w'], params['lnf_b'])\n"
        "    return torch.einsum('btc,vc->btv', x, params['token_emb'])\n\n"
        "def next_token_loss(logits, targets):\n"
        "    keep = (targets != -100).float()\n"
        "    safe = targets.clamp(min=0)\n"
        "    nll = torch.logsumexp(logits, -1) - logits.gather(-1, safe[..., None])[..., 0]\n"
        "    return (nll * keep).sum() / keep.sum()\n",
    ],
}
