#!/usr/bin/env node
// Tokenizer oracle for tools/make-fixtures.py: the Rust `tokenizers` (via @anush008/tokenizers), independent of
// the tokenizers.js the product uses, so goldens built from these ids check our encoding too.
// stdin: {"tokenizer": "path/tokenizer.json", "encode": ["text", ...], "add_special_tokens": true,
//         "decode": [[ids...], ...]}
// stdout: {"ids": [[...], ...], "text": ["...", ...]}
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const { Tokenizer } = createRequire(import.meta.url)('@anush008/tokenizers');
const req = JSON.parse(readFileSync(0, 'utf8'));
const tok = Tokenizer.fromFile(req.tokenizer);
const ids = [];
for (const text of req.encode ?? []) {
  const enc = await tok.encode(text, null, { addSpecialTokens: req.add_special_tokens ?? true });
  ids.push(enc.getIds());
}
const text = [];
for (const seq of req.decode ?? []) text.push(await tok.decode(seq, true));
process.stdout.write(JSON.stringify({ ids, text }));
