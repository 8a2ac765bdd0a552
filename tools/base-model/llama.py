"""A compact Llama (HF `LlamaForCausalLM` math and weight names) for training the fixture base model.

Follows docs llama-family-spec.md §3: RMSNorm (fp32 statistics, weight applied after the cast back),
rotate-half RoPE (dim j pairs with j + D/2), GQA by block repeat of kv heads, SiLU-gated MLP,
no biases, tied input/output embedding, no embedding scaling. `state_dict_hf()` yields exactly the
tensor names and shapes `save_pretrained` writes for a tied model (no `lm_head.weight`).

Speed on this machine: apt's torch 1.13 links the reference BLAS (libblas3), whose sgemm runs at ~3-4
GFLOP/s single-threaded. oneDNN's 1x1 convolution computes the same x @ W^T over an order of magnitude
faster, so `linear` goes through conv1d. Attention's batched products have no such route in fp32; with
`bf16_attention` they run in bfloat16 (oneDNN, ~4x faster) with fp32 softmax, the mixed precision HF
training uses. Export/eval runs with it off: all-fp32 math. On a CPU shared with other jobs, one
thread beats two: every OpenMP region waits for its slowest thread, and a descheduled thread stalls
each of the step's ~1500 ops (measured: 2 threads 0.4-5 s/step, erratic; 1 thread ~0.7 s).
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class LlamaConfig:
    vocab_size: int = 4096
    hidden_size: int = 128
    intermediate_size: int = 384
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 256
    bf16_attention: bool = False

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads


def linear(x, w):
    """x [..., in] @ w[out, in]^T as a 1x1 convolution (see module docstring). The tokens are split
    into 16 conv "batch" rows when they divide evenly: torch only picks oneDNN for a 1x1 convolution
    with a batch of >= 16 or more than one thread, and one thread is faster on a loaded machine."""
    shape = x.shape
    N = x.numel() // shape[-1]
    g = 16 if N % 16 == 0 else 1
    xt = x.reshape(g, N // g, shape[-1]).transpose(1, 2)  # [g, in, N/g]
    y = F.conv1d(xt, w.unsqueeze(-1))  # [g, out, N/g]
    return y.transpose(1, 2).reshape(*shape[:-1], w.shape[0])


class Linear(nn.Linear):
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out, bias=False)

    def forward(self, x):
        return linear(x, self.weight)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        t = x.float()
        t = t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * t.to(x.dtype)


def rope_tables(cfg, positions):
    """cos/sin [S, D] for integer positions, built in fp32 as HF does (inv_freq from an int arange)."""
    D = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))  # [D/2]
    ang = positions.float()[:, None] * inv_freq[None, :]  # [S, D/2]
    emb = torch.cat([ang, ang], dim=-1)  # [S, D]
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.nh, self.nkv, self.D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        H = cfg.hidden_size
        self.q_proj = Linear(H, self.nh * self.D)
        self.k_proj = Linear(H, self.nkv * self.D)
        self.v_proj = Linear(H, self.nkv * self.D)
        self.o_proj = Linear(self.nh * self.D, H)
        self.bf16 = cfg.bf16_attention

    def forward(self, x, cos, sin, mask):
        B, S, _ = x.shape
        q = self.q_proj(x).view(B, S, self.nh, self.D).transpose(1, 2)  # [B, nh, S, D]
        k = self.k_proj(x).view(B, S, self.nkv, self.D).transpose(1, 2)  # [B, nkv, S, D]
        v = self.v_proj(x).view(B, S, self.nkv, self.D).transpose(1, 2)  # [B, nkv, S, D]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # query head j reads kv head j // (nh / nkv): repeat_interleave is HF's block repeat_kv
        rep = self.nh // self.nkv
        k = k.repeat_interleave(rep, dim=1)  # [B, nh, S, D]
        v = v.repeat_interleave(rep, dim=1)
        if self.bf16:
            q, k, v = q.bfloat16(), k.bfloat16(), v.bfloat16()
        a = (q @ k.transpose(-1, -2)).float() * self.D ** -0.5 + mask  # [B, nh, S, S]
        p = F.softmax(a, dim=-1).to(q.dtype)
        o = (p @ v).float().transpose(1, 2).reshape(B, S, self.nh * self.D)  # [B, S, nh*D]
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        H, I = cfg.hidden_size, cfg.intermediate_size
        self.gate_proj = Linear(H, I)
        self.up_proj = Linear(H, I)
        self.down_proj = Linear(I, H)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, h, cos, sin, mask):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.apply(self._init)
        # GPT-2 style: shrink the residual-branch outputs so the stream does not grow with depth
        for n, p in self.named_parameters():
            if n.endswith('o_proj.weight') or n.endswith('down_proj.weight'):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.num_hidden_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids):
        """ids [B, S] int64 -> logits [B, S, V]; positions 0..S-1, causal mask."""
        S = ids.shape[1]
        cos, sin = rope_tables(self.cfg, torch.arange(S))
        mask = torch.full((S, S), float('-inf')).triu(1)  # [S, S] additive causal mask
        h = self.embed_tokens(ids)  # [B, S, H], no scaling
        for layer in self.layers:
            h = layer(h, cos, sin, mask)
        return linear(self.norm(h), self.embed_tokens.weight)  # tied head, [B, S, V]

    def loss(self, ids):
        """Mean next-token cross-entropy over all B*(S-1) targets (HF ForCausalLMLoss, no ignores)."""
        logits = self(ids[:, :-1])
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))

    def state_dict_hf(self):
        """Tensors under the names HF `LlamaForCausalLM` saves when tied (lm_head is dropped)."""
        return {'model.' + k: v.detach().contiguous() for k, v in self.state_dict().items()}
