// fixtures/corpora: the quickstart's pharmacy chats are valid chat JSONL, train and eval do not overlap, the
// eval text is the ChatML rendering of the eval chats, and the domain words and ChatML markers are exactly what
// the Brown-trained base tokenizer handles badly (many pieces each): there is something to discover.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import { templateMarkers } from '../src/tokenizer/template.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CORPORA = path.join(ROOT, 'fixtures', 'corpora');
const read = (f: string) => readFileSync(path.join(CORPORA, f), 'utf8');
const TERMS = [
  'acetaminophen', 'ibuprofen', 'amoxicillin', 'metformin', 'lisinopril', 'atorvastatin', 'omeprazole',
  'levothyroxine', 'amlodipine', 'sertraline', 'gabapentin', 'prednisone', 'warfarin', 'azithromycin',
  'losartan', 'hydrochlorothiazide', 'montelukast', 'simvastatin',
];

type Message = { role: string; content: string };

function readChats(file: string): Array<{ messages: Message[] }> {
  const lines = read(file).split('\n');
  assert.equal(lines.pop(), '', `${file} ends with a newline`);
  return lines.map((line, i) => {
    const rec = JSON.parse(line);
    const where = `${file}:${i + 1}`;
    assert.deepEqual(Object.keys(rec), ['messages'], where);
    const roles = rec.messages.map((m: Message) => m.role);
    const turns = roles[0] === 'system' ? roles.slice(1) : roles;
    assert.ok(turns.length >= 2 && turns.length % 2 === 0, where);
    turns.forEach((r: string, k: number) => assert.equal(r, k % 2 === 0 ? 'user' : 'assistant', where));
    for (const m of rec.messages) {
      assert.deepEqual(Object.keys(m), ['role', 'content'], where);
      assert.ok(typeof m.content === 'string' && m.content.trim().length > 0, where);
    }
    return rec;
  });
}

const train = readChats('pharma-chat.jsonl');
const held = readChats('pharma-eval.jsonl');

test('chat JSONL: 1500-3000 training conversations in under 1.5 MB, held-out ones disjoint', () => {
  assert.ok(train.length >= 1500 && train.length <= 3000, `${train.length}`);
  assert.ok(statSync(path.join(CORPORA, 'pharma-chat.jsonl')).size < 1.5e6);
  assert.ok(held.length >= 100);
  const seen = new Set(train.map((c) => JSON.stringify(c)));
  assert.equal(seen.size, train.length, 'no duplicate conversations');
  for (const c of held) assert.ok(!seen.has(JSON.stringify(c)), 'an eval conversation is also in the training file');
});

test('chatml.jinja renders ChatML with and without the generation prompt', () => {
  const tpl = new Template(read('chatml.jinja'));
  const messages = [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q?' }, { role: 'assistant', content: 'A.' }];
  assert.equal(
    tpl.render({ messages, add_generation_prompt: false }),
    '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\nA.<|im_end|>\n',
  );
  assert.equal(
    tpl.render({ messages: messages.slice(0, 2), add_generation_prompt: true }),
    '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.deepEqual(templateMarkers(read('chatml.jinja'), 'chatml.jinja'), [
    { content: '<|im_start|>', special: true },
    { content: '<|im_end|>', special: true },
  ]);
});

test('pharma-eval.txt is the held-out chats rendered with chatml.jinja, one blank line apart', () => {
  const tpl = new Template(read('chatml.jinja'));
  const rendered = held.map((c) => tpl.render({ messages: c.messages, add_generation_prompt: false }));
  assert.equal(read('pharma-eval.txt'), rendered.join('\n'));
});

test('every domain term is frequent and splits into >= 3 pieces under the base tokenizer; markers too', () => {
  const tok = loadTokenizer(path.join(ROOT, 'fixtures', 'base'));
  const text = read('pharma-chat.jsonl').toLowerCase();
  for (const term of TERMS) {
    const count = text.split(term).length - 1;
    assert.ok(count >= 50, `${term} occurs ${count} times`);
    for (const form of [` ${term}`, term, ` ${term[0].toUpperCase()}${term.slice(1)}`]) {
      const n = tok.encode(form, { addSpecialTokens: false }).length;
      assert.ok(n >= 3, `${JSON.stringify(form)} is only ${n} pieces`);
    }
  }
  for (const marker of ['<|im_start|>', '<|im_end|>']) {
    assert.ok(tok.encode(marker, { addSpecialTokens: false }).length >= 3, `${marker} is already a token`);
  }
});
