// The special markers a chat template needs: found in the real Qwen3 and Llama 3 templates (each
// marker found must be a special added token of that very tokenizer, and appear when the template
// is rendered), literals that are only compared are ignored, families list runtime-built markers,
// and discovery combines list and template tokens in a fixed order without duplicates.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Template } from '@huggingface/jinja';
import { FAMILIES, templateCandidates, templateMarkers } from '../src/tokenizer/template.ts';
import { discover } from '../src/tokenizer/discover.ts';
import { modelDir, type RealTokenizer } from './fixtures/tokens/oracle.ts';

const readJson = (name: RealTokenizer, file: string) => JSON.parse(readFileSync(path.join(modelDir(name), file), 'utf8'));
const messages = [
  { role: 'system', content: 'S' },
  { role: 'user', content: 'U' },
  { role: 'assistant', content: 'A' },
];

for (const name of ['qwen3', 'llama3_1'] as const) {
  test(`${name}: every marker found in the model's template is one of its special added tokens and is printed`, () => {
    const config = readJson(name, 'tokenizer_config.json');
    const added: Array<{ content: string; special: boolean }> = readJson(name, 'tokenizer.json').added_tokens;
    const markers = templateMarkers(config.chat_template, name);
    assert.ok(markers.length >= 2);
    const rendered = new Template(config.chat_template).render({ messages, add_generation_prompt: true, bos_token: config.bos_token, eos_token: config.eos_token });
    for (const m of markers) {
      assert.ok(added.some((a) => a.content === m.content && a.special), `${m.content} is a special added token of ${name}`);
      assert.equal(m.special, true);
      assert.ok(rendered.includes(m.content), `${m.content} is printed`);
    }
  });
}

test('qwen3 with tags: the <think> tags come back as normal tokens, as Qwen3 itself registers them', () => {
  const config = readJson('qwen3', 'tokenizer_config.json');
  const added: Array<{ content: string; special: boolean }> = readJson('qwen3', 'tokenizer.json').added_tokens;
  const tags = templateMarkers(config.chat_template, 'qwen3', { tags: true }).filter((m) => !m.special);
  for (const t of ['<think>', '</think>', '<tool_call>', '</tool_call>']) {
    assert.ok(tags.some((m) => m.content === t), `${t} found`);
    assert.equal(added.find((a) => a.content === t)?.special, false, `${t} is a normal added token in Qwen3`);
  }
});

test('literals that are only compared or raised are not markers; order is order of appearance', () => {
  const tpl =
    "{% if messages[0]['role'] == '<|fake|>' %}{{ raise_exception('<|error|> bad role') }}{% endif %}" +
    "{% for m in messages %}{{ '<|b|>' + m['content'] + '<|a|>' }}{% endfor %}<|c|> text <|b|>";
  assert.deepEqual(templateMarkers(tpl, 'inline').map((m) => m.content), ['<|b|>', '<|a|>', '<|c|>']);
});

test('families: markers built at runtime are listed; each family template renders its markers', () => {
  // Zephyr builds '<|user|>' as '<|' + role + '|>': only the generation prompt's literal is found.
  assert.deepEqual(templateMarkers(FAMILIES.zephyr.template, 'zephyr').map((m) => m.content), ['<|assistant|>']);
  assert.deepEqual(templateCandidates({ family: 'zephyr' }).map((c) => c.content), ['<|system|>', '<|user|>', '<|assistant|>']);
  for (const [name, fam] of Object.entries(FAMILIES)) {
    const out = new Template(fam.template).render({ messages, add_generation_prompt: true, eos_token: '</s>' });
    for (const m of fam.markers) assert.ok(out.includes(m.content), `${name}: ${m.content} rendered`);
  }
  const chatml = new Template(FAMILIES.chatml.template).render({ messages: messages.slice(1, 2), add_generation_prompt: true });
  assert.equal(chatml, '<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n');
});

test('discovery: list first, then template markers; a string named twice keeps its first entry', () => {
  const r = discover({ list: ['acetaminophen', { content: '<|im_end|>', special: false }], template: { family: 'chatml' } });
  assert.deepEqual(
    r.tokens.map((t) => [t.content, t.special, t.origin]),
    [
      ['acetaminophen', false, 'list'],
      ['<|im_end|>', false, 'list'],
      ['<|im_start|>', true, 'template'],
    ],
  );
  assert.deepEqual(r.duplicates, [{ content: '<|im_end|>', kept: 'list', dropped: 'template' }]);
});
