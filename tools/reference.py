#!/usr/bin/env python3
"""Reference Llama-family causal LM (HF transformers semantics) for tokenpipe's goldens.

A dev tool, never a runtime dependency. Written from docs/llama-family-spec.md §1-4, independently of the
TypeScript code it checks. All math runs in float64 on the stored weights upcast exactly (f16/bf16 -> f64), so
goldens stand for the exact math and the f32 TypeScript forward must land within 1e-4.

Covers: config defaults/derivations for llama, mistral, qwen2, qwen3 (legacy rope_theta/rope_scaling and v5
rope_parameters; rope types default, linear, llama3), RMSNorm, rotate-half RoPE, GQA (block repeat_kv), Qwen2 q/k/v
biases, Qwen3 q/k norms and explicit head_dim, Llama attention_bias/mlp_bias, tied/untied head, packed rows (a new
segment starts wherever position_ids do not increase by 1; no attention across segments), the HF causal-LM loss
(shift, ignore -100, token mean), windowed eval loss and greedy generation.

Needs only /usr/bin/python3 with torch (apt python3-torch); safetensors I/O is implemented here in plain Python.
"""
import json
import math
import os
import struct

import torch

# --- safetensors (llama-family-spec.md §5) ---------------------------------------------------------------------

_ST_DTYPES = {
    'F64': (torch.float64, 8), 'F32': (torch.float32, 4), 'F16': (torch.float16, 2), 'BF16': (torch.bfloat16, 2),
    'I64': (torch.int64, 8), 'I32': (torch.int32, 4), 'I16': (torch.int16, 2), 'I8': (torch.int8, 1),
    'U8': (torch.uint8, 1), 'BOOL': (torch.bool, 1),
}
_ST_NAMES = {v[0]: k for k, v in _ST_DTYPES.items()}


def read_safetensors(path):
    """-> ({name: tensor in its stored dtype}, metadata dict)."""
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    base = 8 + n
    meta = header.pop('__metadata__', {}) or {}
    out = {}
    for name, e in header.items():
        dtype, width = _ST_DTYPES[e['dtype']]
        b, end = e['data_offsets']
        buf = bytearray(raw[base + b:base + end])
        count = (end - b) // width
        if count == 0:
            t = torch.zeros(e['shape'], dtype=dtype)
        elif dtype == torch.bfloat16:
            # torch.frombuffer has no bf16 path on old torch: reinterpret the int16 bits.
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(buf, dtype=dtype)
        out[name] = t.reshape(e['shape']).clone()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: tensor}; each is written in its own dtype. Layout like the reference writer: sorted by
    alignment (element width) descending then name, header padded with spaces to a multiple of 8."""
    items = sorted(tensors.items(), key=lambda kv: (-_ST_DTYPES[_ST_NAMES[kv[1].dtype]][1], kv[0]))
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs = []
    off = 0
    for name, t in items:
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            data = t.view(torch.int16).numpy().tobytes()
        else:
            data = t.numpy().tobytes()
        header[name] = {'dtype': _ST_NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# --- config (llama-family-spec.md §1) --------------------------------------------------------------------------

_DEFAULTS = {
    #            vocab  H     I      L   nh  nkv(absent) head_dim(absent) max_pos
    'llama':   (32000, 4096, 11008, 32, 32, None, None, 2048),
    'mistral': (32000, 4096, 14336, 32, 32, 8, None, 131072),
    'qwen2':   (151936, 4096, 22016, 32, 32, 32, None, 32768),
    'qwen3':   (151936, 4096, 22016, 32, 32, 32, 128, 32768),
}


def load_config(model_dir):
    """Normalized config dict with every derived value the forward needs."""
    with open(os.path.join(model_dir, 'config.json')) as f:
        c = json.load(f)
    mt = c['model_type']
    if mt not in _DEFAULTS:
        raise ValueError(f'model_type {mt!r} unsupported')
    vocab, H, I, L, nh, nkv_d, hd_d, maxpos = _DEFAULTS[mt]
    H = c.get('hidden_size', H)
    nh = c.get('num_attention_heads', nh)
    nkv = c['num_key_value_heads'] if 'num_key_value_heads' in c else nkv_d
    if nkv is None:
        nkv = nh
    hd = c['head_dim'] if 'head_dim' in c else hd_d
    if hd is None:
        hd = H // nh
    # rope: v5 rope_parameters wins; legacy rope_theta + rope_scaling otherwise ("type" is an old alias).
    if c.get('rope_parameters') is not None:
        rp = dict(c['rope_parameters'])
        theta = rp.get('rope_theta', c.get('rope_theta', 10000.0))
    else:
        rp = dict(c.get('rope_scaling') or {})
        theta = c.get('rope_theta', 10000.0)
    rtype = rp.get('rope_type', rp.get('type', 'default'))
    if mt == 'qwen2':
        q_bias, o_bias, mlp_bias = True, False, False
    elif mt == 'mistral':
        q_bias, o_bias, mlp_bias = False, False, False
    elif mt == 'qwen3':
        ab = bool(c.get('attention_bias', False))
        q_bias, o_bias, mlp_bias = ab, ab, False
    else:
        ab = bool(c.get('attention_bias', False))
        q_bias, o_bias, mlp_bias = ab, ab, bool(c.get('mlp_bias', False))
    return {
        'model_type': mt,
        'vocab_size': c.get('vocab_size', vocab), 'hidden_size': H, 'intermediate_size': c.get('intermediate_size', I),
        'num_hidden_layers': c.get('num_hidden_layers', L), 'num_attention_heads': nh, 'num_key_value_heads': nkv,
        'head_dim': hd, 'rms_norm_eps': c.get('rms_norm_eps', 1e-6), 'rope_theta': float(theta),
        'rope_type': rtype, 'rope': rp, 'max_position_embeddings': c.get('max_position_embeddings', maxpos),
        'qkv_bias': q_bias, 'o_bias': o_bias, 'mlp_bias': mlp_bias, 'qk_norm': mt == 'qwen3',
        'tie_word_embeddings': bool(c.get('tie_word_embeddings', False)),
    }


# --- model (llama-family-spec.md §3) -----------------------------------------------------------------------------

def load_weights(model_dir):
    w, _ = read_safetensors(os.path.join(model_dir, 'model.safetensors'))
    return {k: v.to(torch.float64) for k, v in w.items()}


def inv_freq(cfg):
    D = cfg['head_dim']
    inv = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, D, 2, dtype=torch.int64).to(torch.float64) / D))
    t, r = cfg['rope_type'], cfg['rope']
    if t == 'default':
        return inv
    if t == 'linear':
        return inv / r['factor']
    if t == 'llama3':
        factor, low, high = r['factor'], r['low_freq_factor'], r['high_freq_factor']
        old = r['original_max_position_embeddings']
        lw, hw = old / low, old / high
        out = inv.clone()
        for j in range(inv.numel()):
            lam = 2 * math.pi / inv[j].item()
            if lam < hw:
                continue
            if lam > lw:
                out[j] = inv[j] / factor
            else:
                s = (old / lam - low) / (high - low)
                out[j] = (1 - s) * inv[j] / factor + s * inv[j]
        return out
    raise ValueError(f'rope_type {t!r} not in the reference')


def segments(pos):
    """[B, T] position ids -> [B, T] segment ids; a segment starts wherever p[t] - p[t-1] != 1."""
    starts = torch.ones_like(pos, dtype=torch.int64)
    starts[:, 1:] = (pos[:, 1:] - pos[:, :-1] != 1).to(torch.int64)
    return torch.cumsum(starts, dim=1)


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def linear(W, name, x, bias):
    y = x @ W[name + '.weight'].T
    if bias:
        y = y + W[name + '.bias']
    return y


def forward(W, cfg, ids, pos, return_hidden=False):
    """ids, pos: LongTensor [B, T]. Returns float64 logits [B, T, V] (or final-normed hidden [B, T, H])."""
    B, T = ids.shape
    nh, nkv, D, eps = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['head_dim'], cfg['rms_norm_eps']
    E = W['model.embed_tokens.weight']
    h = E[ids]                                                        # [B, T, H]
    ang = pos.to(torch.float64)[..., None] * inv_freq(cfg)[None, None, :]
    emb = torch.cat([ang, ang], dim=-1)                               # [B, T, D]
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]                 # [B, 1, T, D]
    seg = segments(pos)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    allowed = causal[None] & (seg[:, :, None] == seg[:, None, :])     # [B, Tq, Tk]
    mask = torch.zeros(B, 1, T, T, dtype=torch.float64).masked_fill(~allowed[:, None], float('-inf'))
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        x = rms_norm(h, W[p + 'input_layernorm.weight'], eps)
        q = linear(W, p + 'self_attn.q_proj', x, cfg['qkv_bias']).view(B, T, nh, D)
        k = linear(W, p + 'self_attn.k_proj', x, cfg['qkv_bias']).view(B, T, nkv, D)
        v = linear(W, p + 'self_attn.v_proj', x, cfg['qkv_bias']).view(B, T, nkv, D)
        if cfg['qk_norm']:
            q = rms_norm(q, W[p + 'self_attn.q_norm.weight'], eps)
            k = rms_norm(k, W[p + 'self_attn.k_norm.weight'], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)   # [B, heads, T, D]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        g = nh // nkv
        K, V = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)  # head j reads kv head j // g
        A = (q @ K.transpose(-1, -2)) * D ** -0.5 + mask
        P = torch.softmax(A, dim=-1)
        o = (P @ V).transpose(1, 2).reshape(B, T, nh * D)
        h = h + linear(W, p + 'self_attn.o_proj', o, cfg['o_bias'])
        x = rms_norm(h, W[p + 'post_attention_layernorm.weight'], eps)
        gate = linear(W, p + 'mlp.gate_proj', x, cfg['mlp_bias'])
        up = linear(W, p + 'mlp.up_proj', x, cfg['mlp_bias'])
        h = h + linear(W, p + 'mlp.down_proj', gate * torch.sigmoid(gate) * up, cfg['mlp_bias'])
    h = rms_norm(h, W['model.norm.weight'], eps)
    if return_hidden:
        return h
    head = W['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else W['lm_head.weight']
    return h @ head.T


# --- loss, eval, generation (llama-family-spec.md §4) -----------------------------------------------------------

def causal_lm_loss_sum(logits, labels):
    """HF ForCausalLMLoss pieces: target(t) = labels[t+1], -100 ignored. -> (sum of token losses, count)."""
    B, T, V = logits.shape
    shift = torch.full_like(labels, -100)
    shift[:, :-1] = labels[:, 1:]
    flat, tgt = logits.reshape(-1, V), shift.reshape(-1)
    keep = tgt != -100
    lp = torch.log_softmax(flat[keep], dim=-1)
    nll = -lp.gather(1, tgt[keep][:, None])[:, 0]
    return nll.sum().item(), int(keep.sum().item())


def causal_lm_loss(logits, labels):
    s, n = causal_lm_loss_sum(logits, labels)
    return s / n if n else float('nan')


def eval_loss(W, cfg, ids, max_len):
    """Consecutive windows of at most max_len tokens; the first token of each window is context only."""
    total, count = 0.0, 0
    for start in range(0, len(ids), max_len):
        win = torch.tensor([ids[start:start + max_len]], dtype=torch.int64)
        if win.shape[1] < 2:
            continue
        pos = torch.arange(win.shape[1], dtype=torch.int64)[None]
        s, n = causal_lm_loss_sum(forward(W, cfg, win, pos), win)
        total += s
        count += n
    return {'tokens': count, 'loss': total / count}


def greedy(W, cfg, prompt, max_new, eos=()):
    """Greedy continuation without any cache (full recompute each step). -> (new ids, smallest top1-top2 margin)."""
    seq = list(prompt)
    new, margin = [], float('inf')
    for _ in range(max_new):
        x = torch.tensor([seq], dtype=torch.int64)
        logits = forward(W, cfg, x, torch.arange(len(seq))[None])[0, -1]
        top = torch.topk(logits, 2)
        margin = min(margin, (top.values[0] - top.values[1]).item())
        nxt = int(top.indices[0])
        new.append(nxt)
        seq.append(nxt)
        if nxt in eos:
            break
    return new, margin


# --- self check (run: /usr/bin/python3 tools/reference.py) ------------------------------------------------------

def self_check(model_dir=None):
    """Checks the reference against the spec's llama3 check values, and packed rows against per-document runs."""
    cfg = {'head_dim': 64, 'rope_theta': 5e5, 'rope_type': 'llama3',
           'rope': {'factor': 32.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
                    'original_max_position_embeddings': 8192}}
    inv = inv_freq(cfg)
    for j, want in [(0, 1.0), (14, 3.211446e-3), (15, 1.290548e-3), (16, 4.295568e-4), (20, 8.570255e-6),
                    (31, 9.418307e-8)]:
        assert abs(inv[j].item() - want) <= 1e-6 * want, (j, inv[j].item(), want)
    if model_dir:
        c, W = load_config(model_dir), load_weights(model_dir)
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(0, c['vocab_size'], (1, 9), generator=g)
        pos = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 0, 1]])
        packed = forward(W, c, ids, pos)
        for a, b in [(0, 4), (4, 7), (7, 9)]:
            alone = forward(W, c, ids[:, a:b], pos[:, a:b])
            assert torch.allclose(packed[:, a:b], alone, atol=1e-10), (a, b)
    return True


if __name__ == '__main__':
    import sys
    for d in sys.argv[1:] or [None]:
        self_check(d)
    print('reference self-check ok')
