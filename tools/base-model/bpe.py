"""Byte-level BPE (GPT-2 / Llama 3 style): deterministic trainer, encoder, and the Hugging Face
`tokenizer.json` / `tokenizer_config.json` it is saved as.

Pre-tokenization is the GPT-2 regex the `ByteLevel` pre-tokenizer applies when `use_regex` is true.
Python's `re` has no \\p{L}/\\p{N}; for the ASCII text we train and encode here `[^\\W\\d_]` is exactly
\\p{L} and `\\d` is exactly \\p{N}, so `encode` refuses non-ASCII input rather than diverge silently.
"""
import heapq
import json
import re
from collections import Counter

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_PY_PATTERN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map (space -> 'Ġ', newline -> 'Ċ')."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_CHAR = bytes_to_unicode()


def pretokenize(text):
    """Split like the ByteLevel pre-tokenizer, then map each piece's UTF-8 bytes to byte characters."""
    if not text.isascii():
        raise ValueError('bpe.py only pre-tokenizes ASCII text (see module docstring)')
    return [''.join(BYTE_CHAR[b] for b in piece.encode('utf-8')) for piece in _PY_PATTERN.findall(text)]


def train(texts, vocab_size, n_special):
    """Learn merges until the vocabulary (256 bytes + merges + specials) has `vocab_size` entries.

    Ties between equally frequent pairs go to the pair of smaller token ids, so the result only
    depends on the input texts. Pair counts are updated incrementally from an index of the words
    each pair occurs in, and the best pair comes from a heap with stale entries skipped.
    """
    word_freq = Counter()
    for t in texts:
        word_freq.update(pretokenize(t))
    vocab = [BYTE_CHAR[b] for b in range(256)]  # id == byte value
    index = {tok: i for i, tok in enumerate(vocab)}
    words = [[index[c] for c in w] for w in word_freq]
    freqs = list(word_freq.values())

    pair_count = Counter()
    where = {}
    for wi, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_count[p] += freqs[wi]
            where.setdefault(p, set()).add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)

    merges = []
    while len(vocab) + n_special < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg:
            continue  # stale entry
        if -neg < 2:
            break
        new_id = len(vocab)
        vocab.append(vocab[pair[0]] + vocab[pair[1]])
        merges.append(pair)
        touched = Counter()
        for wi in sorted(where.pop(pair)):
            w, f = words[wi], freqs[wi]
            for p in zip(w, w[1:]):
                pair_count[p] -= f
                touched[p] += 1
            merged = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == pair:
                    merged.append(new_id)
                    i += 2
                else:
                    merged.append(w[i])
                    i += 1
            words[wi] = merged
            for p in zip(merged, merged[1:]):
                pair_count[p] += f
                touched[p] += 1
                where.setdefault(p, set()).add(wi)
        for p in touched:
            c = pair_count[p]
            if c <= 0:
                pair_count.pop(p, None)
            elif p != pair:
                heapq.heappush(heap, (-c, p))
        pair_count.pop(pair, None)
    return vocab, [(vocab[a], vocab[b]) for a, b in merges]


class Encoder:
    """Rank-ordered BPE over byte characters, the same procedure the `BPE` model of tokenizers runs."""

    def __init__(self, vocab, merges):
        self.index = {tok: i for i, tok in enumerate(vocab)}
        self.rank = {m: r for r, m in enumerate(merges)}
        self.cache = {}

    def word(self, w):
        if w in self.cache:
            return self.cache[w]
        parts = list(w)
        while len(parts) > 1:
            ranked = [(self.rank.get(p, 1 << 30), i) for i, p in enumerate(zip(parts, parts[1:]))]
            r, i = min(ranked)
            if r == 1 << 30:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids = [self.index[p] for p in parts]
        self.cache[w] = ids
        return ids

    def encode(self, text):
        return [i for w in pretokenize(text) for i in self.word(w)]


def tokenizer_json(vocab, merges, bos, eos):
    """The HF `tokenizer.json` in the Llama 3 layout: ByteLevel BPE, BOS added by TemplateProcessing."""
    special = [
        {'id': len(vocab) + i, 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False,
         'normalized': False, 'special': True}
        for i, s in enumerate([bos, eos])
    ]
    bos_id = special[0]['id']
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': special,
        'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'post_processor': {
            'type': 'Sequence',
            'processors': [
                {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
                {
                    'type': 'TemplateProcessing',
                    'single': [{'SpecialToken': {'id': bos, 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                    'pair': [
                        {'SpecialToken': {'id': bos, 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                        {'SpecialToken': {'id': bos, 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}},
                    ],
                    'special_tokens': {bos: {'id': bos, 'ids': [bos_id], 'tokens': [bos]}},
                },
            ],
        },
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {
            'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
            'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
            'vocab': {tok: i for i, tok in enumerate(vocab)},
            # "a b" strings: read by every tokenizers release (the [a, b] list form is newer)
            'merges': [f'{a} {b}' for a, b in merges],
        },
    }


def tokenizer_config(tok_json, bos, eos, model_max_length):
    """`tokenizer_config.json` as transformers v4 saves it (sorted keys, added_tokens_decoder)."""
    decoder = {
        str(t['id']): {k: t[k] for k in ('content', 'lstrip', 'normalized', 'rstrip', 'single_word', 'special')}
        for t in tok_json['added_tokens']
    }
    return {
        'added_tokens_decoder': decoder,
        'bos_token': bos,
        'clean_up_tokenization_spaces': False,
        'eos_token': eos,
        'model_input_names': ['input_ids', 'attention_mask'],
        'model_max_length': model_max_length,
        'tokenizer_class': 'PreTrainedTokenizerFast',
    }


def dump_json(obj, path, sort_keys=False):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, ensure_ascii=False, indent=2, sort_keys=sort_keys)
        f.write('\n')
