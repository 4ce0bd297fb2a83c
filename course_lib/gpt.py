"""A small, readable GPT in PyTorch.

This is the model every later chapter trains. Read it top to bottom:

1. ``GPTConfig``, ``GPT3``  - the numbers that fix a model's shape; GPT-3's.
2. ``sinusoidal_positions`` - fixed position encodings (Vaswani et al. 2017).
3. ``causal_mask``, ``attention``, ``CausalSelfAttention`` - scaled
   dot-product attention, written out; several heads side by side.
4. ``FeedForward``, ``Block`` - one transformer block: attention, then a
   feed-forward network (a small MLP applied to each token on its own).
5. ``GPT``                  - embeddings, a stack of blocks, next-token logits;
   ``IGNORE_INDEX`` marks targets the loss skips.
6. ``param_count``, ``gpt3_param_count`` - counting weights from the shape alone.

Shapes in comments: B = batch size, T = sequence length, C = n_embd,
H = n_head, D = C // H (size of one head), V = vocab_size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.lm import sample_next
from course_lib.train import evaluating

POSITION_KINDS = ("learned", "sinusoidal")
IGNORE_INDEX = -100  # a target the loss skips (padding; prompt tokens in fine-tuning)


# ---------------------------------------------------------------------------
# 1. Configuration
# ---------------------------------------------------------------------------

@dataclass
class GPTConfig:
    """The shape of a GPT model.

    vocab_size: number of distinct tokens.
    block_size: the longest context (in tokens) the model can read.
    n_layer:    number of transformer blocks stacked on top of each other.
    n_head:     number of attention heads in each block.
    n_embd:     size of the vector that represents each token.
    dropout:    probability of zeroing an activation while training.
    positions:  "learned" (a trained table) or "sinusoidal" (fixed waves).
    tie_weights: use the token embedding matrix again as the output layer.
    bias:       give Linear and LayerNorm layers a bias term.
    """

    vocab_size: int
    block_size: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0
    positions: str = "learned"
    tie_weights: bool = True
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}) "
                "so that every head gets the same number of dimensions"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.positions not in POSITION_KINDS:
            raise ValueError(
                f"positions must be one of {POSITION_KINDS}, got {self.positions!r}"
            )


GPT3 = GPTConfig(vocab_size=50257, block_size=2048, n_layer=96, n_head=96, n_embd=12288)
"""GPT-3's shape (Brown et al. 2020, the 175B model), as nanoGPT names ``gpt2``."""


# ---------------------------------------------------------------------------
# 2. Positional encoding
# ---------------------------------------------------------------------------

def sinusoidal_positions(n_positions: int, dim: int) -> torch.Tensor:
    """Fixed position encodings of shape (n_positions, dim).

    For position ``pos`` and pair index ``i``:
        PE[pos, 2i]   = sin(pos / 10000 ** (2i / dim))
        PE[pos, 2i+1] = cos(pos / 10000 ** (2i / dim))
    Low dimensions oscillate quickly, high dimensions slowly, so every
    position gets its own pattern.
    """
    if n_positions <= 0 or dim <= 0:
        raise ValueError("n_positions and dim must be positive")
    pos = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)   # (P, 1)
    two_i = torch.arange(0, dim, 2, dtype=torch.float32)                # (ceil(dim/2),)
    angles = pos / (10000.0 ** (two_i / dim))                           # (P, ceil(dim/2))
    pe = torch.zeros(n_positions, dim)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : dim // 2])  # odd dim: one cos column fewer
    return pe


# ---------------------------------------------------------------------------
# 3. Attention
# ---------------------------------------------------------------------------

def causal_mask(T: int) -> torch.Tensor:
    """A (T, T) bool tensor, True where attention is allowed.

    Row t is the query at position t; it may look at positions 0..t only
    (lower triangle, diagonal included), never at the future.
    """
    return torch.tril(torch.ones(T, T, dtype=torch.bool))


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, written out (shown in Chapter 4).

    q, k: (..., T, d_k); v: (..., T, d_v); mask: bool, broadcastable to
    (..., T, T), True where a query may attend to a key.
    Returns (out, weights): out is (..., T, d_v), weights is (..., T, T) and
    each row of weights sums to 1.
    """
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)          # (..., T, T)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)                    # rows sum to 1
    out = weights @ v                                          # (..., T, d_v)
    return out, weights


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each token sees only earlier tokens."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        C = config.n_embd
        self.q_proj = nn.Linear(C, C, bias=config.bias)   # queries: what I look for
        self.k_proj = nn.Linear(C, C, bias=config.bias)   # keys: what I offer
        self.v_proj = nn.Linear(C, C, bias=config.bias)   # values: what I pass on
        self.out_proj = nn.Linear(C, C, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.last_weights: torch.Tensor | None = None     # (B, H, T, T), for plots

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, H, T, D)."""
        B, T, C = x.shape
        return x.view(B, T, self.n_head, self.head_dim).transpose(1, 2)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, T, D) -> (B, T, C)."""
        B, H, T, D = x.shape
        return x.transpose(1, 2).contiguous().view(B, T, H * D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C): every head attends on its own slice (shown in Chapter 4)."""
        T = x.size(1)
        q = self.split_heads(self.q_proj(x))
        k = self.split_heads(self.k_proj(x))
        v = self.split_heads(self.v_proj(x))
        mask = causal_mask(T).to(x.device)
        out, weights = attention(q, k, v, mask)               # (B, H, T, D)
        self.last_weights = weights.detach()
        return self.resid_dropout(self.out_proj(self.merge_heads(out)))


# ---------------------------------------------------------------------------
# 4. The rest of a block
# ---------------------------------------------------------------------------

class FeedForward(nn.Module):
    """The block's feed-forward network, a small MLP applied to each position on
    its own: widen 4x, GELU, project back."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """One transformer block (pre-layer-norm, with residual connections)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = FeedForward(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C): attention, then the MLP, each added to its input (shown in Chapter 4)."""
        x = x + self.attn(self.ln1(x))   # tokens exchange information
        x = x + self.mlp(self.ln2(x))    # each token thinks on its own
        return x


# ---------------------------------------------------------------------------
# 5. The model
# ---------------------------------------------------------------------------

class GPT(nn.Module):
    """A decoder-only transformer that predicts the next token."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.token_emb = nn.Embedding(config.vocab_size, config.n_embd)
        if config.positions == "learned":
            self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        else:
            # A fixed table, not trained: a buffer, not a parameter.
            self.pos_emb = None
            self.register_buffer(
                "pos_table",
                sinusoidal_positions(config.block_size, config.n_embd),
                persistent=False,
            )
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            # One matrix turns tokens into vectors and vectors back into tokens
            # (weight tying; Chapter 4 shows it, Chapter 5 relies on it).
            self.lm_head.weight = self.token_emb.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2 style init: N(0, 0.02); residual projections scaled down."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        # Each block adds two outputs to the residual stream; keep the sum small.
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for block in self.blocks:
            nn.init.normal_(block.attn.out_proj.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.proj.weight, mean=0.0, std=residual_std)

    def position_embeddings(self, T: int) -> torch.Tensor:
        """(T, C) vectors for positions 0..T-1."""
        if self.pos_emb is not None:
            positions = torch.arange(T, device=self.token_emb.weight.device)
            return self.pos_emb(positions)
        return self.pos_table[:T]

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx: (B, T) token ids. Returns logits (B, T, V) and the loss.

        The loss is the mean cross-entropy of the next-token predictions over
        every position whose target is not IGNORE_INDEX (fine-tuning marks prompt
        tokens IGNORE_INDEX so that they do not count). It is None without targets.
        """
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(
                f"sequence length {T} is longer than block_size {self.config.block_size}"
            )
        x = self.token_emb(idx) + self.position_embeddings(T)   # (B, T, C)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        logits = self.lm_head(x)                                # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.reshape(B * T, -1), targets.reshape(B * T), ignore_index=IGNORE_INDEX
            )
        return logits, loss

    def num_params(self, non_embedding: bool = False) -> int:
        """Number of trainable weights (a tied matrix counts once).

        non_embedding=True leaves out the token and position embedding tables
        (and an untied output layer), as scaling-law papers count models.
        """
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.token_emb.weight.numel()
            if self.pos_emb is not None:
                n -= self.pos_emb.weight.numel()
            if not self.config.tie_weights:
                n -= self.lm_head.weight.numel()
        return n

    def attention_maps(self) -> list[torch.Tensor]:
        """Attention weights of the last forward pass, one (B, H, T, T) per layer."""
        maps = [block.attn.last_weights for block in self.blocks]
        if any(m is None for m in maps):
            raise RuntimeError("run the model on some tokens first")
        return maps

    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
        stop_token: int | None = None,
    ) -> torch.Tensor:
        """Extend idx (B, T) by up to max_new_tokens sampled tokens.

        temperature 0 picks the most likely token every time (greedy);
        higher temperatures flatten the distribution. top_k keeps only the k
        most likely tokens. Only the last block_size tokens are read.
        With stop_token, a sequence that has produced it keeps producing it,
        and generation ends once every sequence has.
        Runs in eval mode (no dropout) without gradients, and restores the previous mode.
        """
        if temperature < 0:
            raise ValueError("temperature must be >= 0")
        with evaluating(self):
            done = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
            for _ in range(max_new_tokens):
                context = idx[:, -self.config.block_size:]
                logits, _ = self(context)
                logits = logits[:, -1, :]                              # (B, V)
                if temperature == 0:
                    next_token = logits.argmax(dim=-1, keepdim=True)   # (B, 1)
                else:
                    logits = logits / temperature
                    if top_k is not None:
                        k = min(top_k, logits.size(-1))
                        kth_best = torch.topk(logits, k).values[:, [-1]]
                        logits = logits.masked_fill(logits < kth_best, float("-inf"))
                    probs = torch.softmax(logits, dim=-1)
                    next_token = sample_next(probs, generator)             # (B, 1)
                if stop_token is not None:
                    next_token[done] = stop_token
                    done = done | (next_token[:, 0] == stop_token)
                idx = torch.cat([idx, next_token], dim=1)
                if stop_token is not None and bool(done.all()):
                    break
        return idx


# ---------------------------------------------------------------------------
# 6. Counting parameters from the shape alone
# ---------------------------------------------------------------------------

def param_count(config: GPTConfig, non_embedding: bool = False) -> int:
    """Number of weights of GPT(config), from the config alone.

    Per block, with d = n_embd:
      attention: 4 matrices d x d (Q, K, V, output)   -> 4 d^2
      MLP:       d x 4d and 4d x d                     -> 8 d^2
      so 12 d^2 weights, plus 9d biases and 2 LayerNorms (2d each) when bias.
    Agrees with GPT(config).num_params(non_embedding).
    """
    d = config.n_embd
    ln = 2 * d if config.bias else d                  # LayerNorm: scale (+ shift)
    per_block = 12 * d * d + 2 * ln
    if config.bias:
        per_block += 3 * d + d + 4 * d + d            # q,k,v; out; fc; proj
    n = config.n_layer * per_block + ln               # blocks + final LayerNorm
    if not non_embedding:
        n += config.vocab_size * d                    # token embedding
        if config.positions == "learned":
            n += config.block_size * d                # position embedding
        if not config.tie_weights:
            n += config.vocab_size * d                # separate output layer
    return n


def gpt3_param_count(
    n_layer: int = GPT3.n_layer,
    d_model: int = GPT3.n_embd,
    vocab_size: int = GPT3.vocab_size,
    block_size: int = GPT3.block_size,
) -> int:
    """GPT-3's parameter count (about 175 billion) from its shape.

    Same formula as ``param_count``: learned positions, tied weights, biases.
    The n_head does not change the count (96 heads of 128 in GPT-3).
    """
    config = GPTConfig(
        vocab_size=vocab_size,
        block_size=block_size,
        n_layer=n_layer,
        n_head=1,
        n_embd=d_model,
    )
    return param_count(config)
