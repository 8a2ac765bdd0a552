#!/usr/bin/env python3
"""The tokenpipe training step in float32 eager PyTorch: the bench's yardstick (bench-only, never used at run time).

    /usr/bin/python3 bench/torch_step.py --model DIR --mode trainable-tokens --batch 8 --seq 128 --threads 2 \
        --steps 3 --warmup 1 [--accum 1] [--seed 0]

Same work as one tokenpipe update (src/train/step.ts): Llama-family forward (RMSNorm, rotate-half RoPE, GQA, SiLU
MLP, q/k/v/o/MLP biases where the config says, tied or untied head) on B x T random token ids; HF causal-LM loss
(shift by one, every position scored except each row's last, token mean); LoRA r=8 alpha=16 on q_proj and v_proj
(A kaiming-uniform as PEFT; B small random instead of zeros so every gradient is non-trivial); one embedding mode:
  trainable-tokens  16 rows appended to the vocabulary, PEFT style: W.index_copy(0, ids, delta) rebuilt every
                    forward for the embedding and again for the head (an untied head has its own rows)
  full              the whole embedding (and untied head), new rows included, trainable
  frozen            LoRA only; the 16 new rows are constants
then clip_grad_norm_(1.0) and AdamW(lr 1e-3, weight decay 0). With --accum A, A micro-batches of B x T per update.
Prints one JSON line on stdout; progress on stderr ("step k/n: S s", and "micro m/A of step k: S s" since the
update began) so a caller that stops it early still learns the rate. Before loading the model it prints a first JSON
line, {"event": "blas", ...}: torch's sgemm rate (1024^3 fp32, GFLOP/s, at --threads), the BLAS kernel that ran
(threadpoolctl, else OpenBLAS's openblas_get_corename) and the thread/kernel environment variables it saw
(--blas-only: that line alone).

Dev check of the math (not a CI test: CI has no Python), on the committed tiny fixture models, whose weights are
scaled so logits are O(1) (a wrong op moves them far past 1e-4; the random-model folders' 0.02-std logits would not):
    for d in fixtures/models/*; do /usr/bin/python3 bench/torch_step.py --model $d --check; done
builds the trainable-tokens model with non-zero LoRA B and new rows, folds them into plain weights (W + s*B*A, rows
replaced) and compares this float32 forward's logits and loss with tools/reference.py's float64 ones; exit 1 past
1e-4. Last run: max |logits diff| 1.8e-6 .. 1.0e-5 and |loss diff| <= 1.2e-6 on all seven variants (llama, GQA,
head_dim/biases, rope_parameters, llama3-tied bf16, mistral, qwen2 biases, qwen3 q/k norms); a flipped RoPE sign gives
7.2 and exit 1.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools'))
import reference as ref  # noqa: E402  (its safetensors reader and config resolution)

NEW_TOKENS = 16
LORA_R, LORA_ALPHA = 8, 16


def load_weights(model_dir):
    """Single model.safetensors or HF shards with an index; float32 copies."""
    single = os.path.join(model_dir, 'model.safetensors')
    files = [single]
    if not os.path.exists(single):
        with open(os.path.join(model_dir, 'model.safetensors.index.json')) as f:
            files = sorted(set(json.load(f)['weight_map'].values()))
        files = [os.path.join(model_dir, s) for s in files]
    out = {}
    for path in files:
        w, _ = ref.read_safetensors(path)
        out.update({k: v.to(torch.float32) for k, v in w.items()})
    return out


class Step:
    """Frozen model + LoRA + token rows for one embedding mode; `loss(ids)` is the HF causal-LM loss."""

    def __init__(self, cfg, W, mode, gen):
        self.cfg, self.W, self.mode = cfg, W, mode
        H, V = cfg['hidden_size'], W['model.embed_tokens.weight'].shape[0]
        self.V = V + NEW_TOKENS
        self.new_ids = torch.arange(V, self.V)
        pad = lambda m: torch.cat([m, torch.zeros(NEW_TOKENS, H)])  # resized matrix, new rows filled below
        self.embed = pad(W['model.embed_tokens.weight'])
        self.head = None if cfg['tie_word_embeddings'] else pad(W['lm_head.weight'])
        self.params = []
        self.lora = {}
        for i in range(cfg['num_hidden_layers']):
            for m in ('q_proj', 'v_proj'):
                name = f'model.layers.{i}.self_attn.{m}'
                out_f, in_f = W[name + '.weight'].shape
                bound = 1 / math.sqrt(in_f)  # PEFT: kaiming_uniform_(a=sqrt(5)) over fan_in
                A = (torch.rand(LORA_R, in_f, generator=gen) * 2 - 1) * bound
                B = torch.randn(out_f, LORA_R, generator=gen) * 0.01
                self.lora[name] = (A.requires_grad_(), B.requires_grad_())
                self.params += [A, B]
        rows = lambda: torch.randn(NEW_TOKENS, H, generator=gen) * 0.02
        if mode == 'trainable-tokens':
            self.delta_e = rows().requires_grad_()
            self.delta_h = None if self.head is None else rows().requires_grad_()
            self.params += [p for p in (self.delta_e, self.delta_h) if p is not None]
        else:
            self.embed[V:] = rows()
            if self.head is not None:
                self.head[V:] = rows()
            if mode == 'full':
                self.embed.requires_grad_()
                self.params.append(self.embed)
                if self.head is not None:
                    self.head.requires_grad_()
                    self.params.append(self.head)
        D = cfg['head_dim']
        self.inv_freq = ref.inv_freq(cfg).to(torch.float32)
        assert self.inv_freq.numel() == D // 2

    def tables(self):
        """(embedding matrix, head matrix) as this mode builds them each forward."""
        if self.mode == 'trainable-tokens':
            e = self.embed.index_copy(0, self.new_ids, self.delta_e)
            # PEFT's tied lm_head runs its own index_copy with the same rows: a second V x H copy.
            h = self.embed.index_copy(0, self.new_ids, self.delta_e) if self.head is None else \
                self.head.index_copy(0, self.new_ids, self.delta_h)
            return e, h
        return self.embed, self.embed if self.head is None else self.head

    def linear(self, name, x, bias):
        y = F.linear(x, self.W[name + '.weight'], self.W[name + '.bias'] if bias else None)
        if name in self.lora:
            A, B = self.lora[name]
            y = y + (x @ A.t()) @ B.t() * (LORA_ALPHA / LORA_R)
        return y

    def logits(self, ids):
        c, W = self.cfg, self.W
        Bsz, T = ids.shape
        nh, nkv, D, eps = c['num_attention_heads'], c['num_key_value_heads'], c['head_dim'], c['rms_norm_eps']
        E, Hm = self.tables()
        h = F.embedding(ids, E)                                            # [B, T, H]
        ang = torch.arange(T, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        emb = torch.cat([ang, ang], dim=-1)                                # [T, D]
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((T, T), float('-inf')).triu(1)                   # causal
        g = nh // nkv
        for i in range(c['num_hidden_layers']):
            p = f'model.layers.{i}.'
            x = ref.rms_norm(h, W[p + 'input_layernorm.weight'], eps)
            q = self.linear(p + 'self_attn.q_proj', x, c['qkv_bias']).view(Bsz, T, nh, D).transpose(1, 2)
            k = self.linear(p + 'self_attn.k_proj', x, c['qkv_bias']).view(Bsz, T, nkv, D).transpose(1, 2)
            v = self.linear(p + 'self_attn.v_proj', x, c['qkv_bias']).view(Bsz, T, nkv, D).transpose(1, 2)
            if c['qk_norm']:
                q = ref.rms_norm(q, W[p + 'self_attn.q_norm.weight'], eps)
                k = ref.rms_norm(k, W[p + 'self_attn.k_norm.weight'], eps)
            q = q * cos + ref.rotate_half(q) * sin                         # [B, nh, T, D]
            k = k * cos + ref.rotate_half(k) * sin
            k, v = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
            a = torch.softmax(q @ k.transpose(-1, -2) * D ** -0.5 + mask, dim=-1)
            o = (a @ v).transpose(1, 2).reshape(Bsz, T, nh * D)
            h = h + self.linear(p + 'self_attn.o_proj', o, c['o_bias'])
            x = ref.rms_norm(h, W[p + 'post_attention_layernorm.weight'], eps)
            gate = self.linear(p + 'mlp.gate_proj', x, c['mlp_bias'])
            up = self.linear(p + 'mlp.up_proj', x, c['mlp_bias'])
            h = h + self.linear(p + 'mlp.down_proj', F.silu(gate) * up, c['mlp_bias'])
        h = ref.rms_norm(h, W['model.norm.weight'], eps)
        return F.linear(h, Hm)                                             # [B, T, V+16]

    def loss(self, ids):
        logits = self.logits(ids)
        return F.cross_entropy(logits[:, :-1].reshape(-1, self.V), ids[:, 1:].reshape(-1))


def blas_info():
    """torch's BLAS_INFO and, on Debian, the libblas the alternatives system points at (reference BLAS here)."""
    show = torch.__config__.show()
    info = next((s.split('=', 1)[1] for s in show.replace(',', '\n').split() if s.startswith('BLAS_INFO=')), 'unknown')
    lib = '/usr/lib/x86_64-linux-gnu/libblas.so.3'
    return {'blas': info, 'blas_library': os.path.realpath(lib) if os.path.exists(lib) else None}


def blas_kernel():
    """Which BLAS and kernel this process runs: threadpoolctl's report when it is installed, else OpenBLAS's own
    openblas_get_corename/config from the already-loaded libblas (None when that is not OpenBLAS)."""
    try:
        import threadpoolctl
        return {'source': 'threadpoolctl', 'pools': threadpoolctl.threadpool_info()}
    except ImportError:
        pass
    import ctypes
    for name in ('libblas.so.3', 'libopenblas.so.0'):
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)
        except OSError:
            continue
        if not hasattr(lib, 'openblas_get_corename'):
            return {'source': name, 'pools': [{'internal_api': 'not openblas (no openblas_get_corename)'}]}
        for f in ('openblas_get_corename', 'openblas_get_config'):
            getattr(lib, f).restype = ctypes.c_char_p
        return {'source': name, 'pools': [{'internal_api': 'openblas', 'architecture': lib.openblas_get_corename().decode(),
                                           'config': lib.openblas_get_config().decode(), 'num_threads': lib.openblas_get_num_threads()}]}
    return {'source': None, 'pools': []}


def sgemm_rate(threads):
    """GFLOP/s of a 1024^3 float32 matmul in this process, at its thread settings: the median of up to 10 timed
    products after 2 warm-ups (at least 3, stopping past 3 s so a reference BLAS does not stall the bench)."""
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(1024, 1024, generator=g), torch.randn(1024, 1024, generator=g)
    for _ in range(2):
        x @ y
    times, t_all = [], time.perf_counter()
    while len(times) < 10 and (len(times) < 3 or time.perf_counter() - t_all < 3.0):
        t0 = time.perf_counter()
        x @ y
        times.append(time.perf_counter() - t0)
    return 2 * 1024 ** 3 / statistics.median(times) / 1e9


def blas_report(threads):
    """The BLAS facts one JSON line carries (printed before the model loads, so a run stopped later still has them)."""
    env = {k: os.environ.get(k) for k in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE')}
    return {'event': 'blas', 'sgemm_gflops': sgemm_rate(threads), 'torch_threads': torch.get_num_threads(),
            'kernel': blas_kernel(), 'env': env, **blas_info()}


def run(a):
    blas = blas_report(a.threads)
    print(json.dumps(blas), flush=True)
    if a.blas_only:
        return None
    torch.set_num_threads(a.threads)
    cfg = ref.load_config(a.model)
    W = load_weights(a.model)
    gen = torch.Generator().manual_seed(a.seed)
    step = Step(cfg, W, a.mode, gen)
    opt = torch.optim.AdamW(step.params, lr=1e-3, weight_decay=0.0)
    times = []
    total = a.warmup + a.steps
    for k in range(total):
        batches = [torch.randint(0, step.V, (a.batch, a.seq), generator=gen) for _ in range(a.accum)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        for m, ids in enumerate(batches):
            (step.loss(ids) / a.accum).backward()  # equal token counts: the mean over the update
            if a.accum > 1:
                print(f'micro {m + 1}/{a.accum} of step {k + 1}: {time.perf_counter() - t0:.3f} s', file=sys.stderr, flush=True)
        torch.nn.utils.clip_grad_norm_(step.params, 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        print(f'step {k + 1}/{total}: {dt:.3f} s{" (warm-up)" if k < a.warmup else ""}', file=sys.stderr, flush=True)
        if k >= a.warmup:
            times.append(dt)
    s = statistics.median(times)
    return {'mode': a.mode, 'threads': a.threads, 'B': a.batch, 'T': a.seq, 'accum': a.accum, 'steps': a.steps,
            'warmup': a.warmup, 'seconds_per_step': s, 'tokens_per_sec': a.batch * a.seq * a.accum / s,
            'step_seconds': times, 'peak_rss_bytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            'torch_version': torch.__version__, **blas_info(), 'sgemm_gflops': blas['sgemm_gflops'], 'kernel': blas['kernel']}


def check(a):
    """Float32 step model vs tools/reference.py in float64, LoRA and new rows folded into plain weights."""
    torch.set_num_threads(a.threads)
    cfg = ref.load_config(a.model)
    W = load_weights(a.model)
    step = Step(cfg, W, 'trainable-tokens', torch.Generator().manual_seed(a.seed))
    ids = torch.randint(0, step.V, (2, 12), generator=torch.Generator().manual_seed(a.seed + 1))
    with torch.no_grad():
        ours = step.logits(ids)
        loss = step.loss(ids).item()
        W64 = {k: v.to(torch.float64) for k, v in W.items()}
        for name, (A, B) in step.lora.items():
            W64[name + '.weight'] = W64[name + '.weight'] + (B.double() @ A.double()) * (LORA_ALPHA / LORA_R)
        E, Hm = step.tables()
        W64['model.embed_tokens.weight'] = E.double()
        if not cfg['tie_word_embeddings']:
            W64['lm_head.weight'] = Hm.double()
        pos = torch.arange(ids.shape[1])[None].expand(ids.shape[0], -1)
        theirs = ref.forward(W64, cfg, ids, pos)
        ref_loss = ref.causal_lm_loss(theirs, ids)
    d_logits = (ours.double() - theirs).abs().max().item()
    d_loss = abs(loss - ref_loss)
    print(json.dumps({'check': 'torch_step vs reference.py', 'max_abs_logits': d_logits, 'abs_loss': d_loss}))
    return d_logits < 1e-4 and d_loss < 1e-4


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', required=True)
    p.add_argument('--mode', choices=['trainable-tokens', 'full', 'frozen'], default='trainable-tokens')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--seq', type=int, default=128)
    p.add_argument('--accum', type=int, default=1, help='micro-batches per update')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--check', action='store_true', help='compare the math with tools/reference.py and exit')
    p.add_argument('--blas-only', action='store_true', help='print the BLAS line (sgemm rate, kernel) and exit')
    a = p.parse_args()
    if a.check:
        sys.exit(0 if check(a) else 1)
    out = run(a)
    if out is not None:
        print(json.dumps(out))


if __name__ == '__main__':
    main()
