// Loading a tokenizer (Llama 2 here; the Llama 3.1 and Qwen3 bases are checked in the oracle
// files): encode/decode and ids agree with the Rust tokenizers, chat_template.jinja is picked up,
// the artifact hash is the sha256 of Python's canonical json.dumps, and tokenizer_config.json is
// written the way Python's json.dumps(indent=2, sort_keys=True) writes it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { artifactFromFiles, loadTokenizer, LoadedTokenizer } from '../src/tokenizer/load.ts';
import { writeTokenizerFiles } from '../src/tokenizer/extend.ts';
import { brownDocs } from './fixtures/tokens/corpus.ts';
import { modelDir, rustFromFile } from './fixtures/tokens/oracle.ts';
import { tinyTokenizer } from './fixtures/tokens/tiny.ts';

const dir = modelDir('llama2');
const tok = loadTokenizer(dir);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tok-load-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function python(code: string, input: string): string {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('llama2: ids, vocabulary size and named special ids agree with the Rust tokenizer', async () => {
  const rust = rustFromFile(path.join(dir, 'tokenizer.json'));
  const docs = [...brownDocs(['ca05']).slice(0, 20), 'Café naïve — 東京 🙂\n\n  two  spaces'];
  for (const addSpecialTokens of [true, false]) {
    const want = await rust.encode(docs, addSpecialTokens);
    docs.forEach((d, i) => assert.deepEqual(Array.from(tok.encode(d, { addSpecialTokens })), want[i]));
  }
  assert.ok(tok.encode('x') instanceof Int32Array);
  assert.equal(tok.vocabSize, 32000);
  assert.equal(tok.bosId, rust.tokenToId('<s>'));
  assert.equal(tok.eosId, rust.tokenToId('</s>'));
  assert.equal(tok.tokenToId('▁the'), rust.tokenToId('▁the'));
  assert.equal(tok.idToToken(tok.tokenToId('▁the')!), '▁the');
  assert.equal(tok.decode(tok.encode(docs[0], { addSpecialTokens: false })), docs[0]);
  assert.equal(tok.scheme.kind, 'metaspace');
});

test('a chat_template.jinja next to the files becomes the chat template', () => {
  writeFileSync(path.join(tmp, 'tokenizer.json'), JSON.stringify(tinyTokenizer({ merges: ['▁ p'], extra: ['▁p'] })));
  writeFileSync(path.join(tmp, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<unk>' }));
  writeFileSync(path.join(tmp, 'chat_template.jinja'), "{{ '<|im_start|>' }}");
  const t = loadTokenizer(tmp);
  assert.equal(t.chatTemplate, "{{ '<|im_start|>' }}");
  assert.equal(t.eosId, 0);
  assert.equal(t.vocabSize, 8);
});

test("the artifact hash is sha256 of Python's canonical JSON of both files, whatever the key order", () => {
  const json = { version: '1.0', model: { vocab: { b: 1, a: 0, '10': 2, é: 3 }, merges: [['a', 'b']] }, big: 1e30, list: [{ z: 1, y: [true, null] }] };
  const config = { model_max_length: 1e30, added_tokens_decoder: { '10': { content: 'x' }, '9': { content: 'y' } } };
  const reordered = { list: [{ y: [true, null], z: 1 }], big: 1e30, model: { merges: [['a', 'b']], vocab: { é: 3, '10': 2, a: 0, b: 1 } }, version: '1.0' };
  const a = artifactFromFiles(json, config, 3, [], []);
  assert.equal(artifactFromFiles(reordered, config, 3, [], []).hash, a.hash);
  assert.notEqual(artifactFromFiles({ ...json, version: '1.1' }, config, 3, [], []).hash, a.hash);
  const canon = python(
    "import json,sys; d=json.load(sys.stdin); f=lambda o: json.dumps(o, sort_keys=True, separators=(',',':'), ensure_ascii=False); sys.stdout.write(f(d[0])+'\\n'+f(d[1]))",
    JSON.stringify([json, config]),
  );
  assert.equal(a.hash, createHash('sha256').update(canon, 'utf8').digest('hex'));
});

test('writeTokenizerFiles: tokenizer_config.json as transformers writes it, tokenizer.json loads back', () => {
  const tokenizerJson = tinyTokenizer({ merges: [] });
  const config = { b: 1, added_tokens_decoder: { '10': { special: true, content: 'x' }, '9': { content: 'y' } }, a: 'é' };
  const artifact = artifactFromFiles(tokenizerJson, config, 7, [], []);
  const files = writeTokenizerFiles(path.join(tmp, 'out'), artifact);
  const want = python('import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin), indent=2, sort_keys=True, ensure_ascii=False))', JSON.stringify(config));
  assert.equal(readFileSync(files.tokenizerConfig, 'utf8'), want + '\n');
  const back = loadTokenizer(path.join(tmp, 'out'));
  assert.deepEqual(back.tokenizerJson, tokenizerJson);
  assert.equal(back.hash, artifact.hash);
  assert.deepEqual(Array.from(new LoadedTokenizer(artifact).encode('pq')), Array.from(back.encode('pq')));
});
