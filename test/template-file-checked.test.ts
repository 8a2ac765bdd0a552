// A chat template file given to a node (tokenizer-extension's chatTemplate, token-discovery's
// templateFile) must parse before the run starts: `pipe validate` names the param's position and
// the file, instead of an adapter that carries a template `pipe generate --chat` cannot render.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, pipeHere as pipe } from './fixtures/train/tiny-pipeline.ts';

const MODEL = path.join(ROOT, 'fixtures', 'models', 'llama');

test('a chat template that does not parse is an error at its param, exit 2; a good one is valid', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-template-'));
  writeFileSync(path.join(dir, 'bad.jinja'), '{% for m in messages %}{{ m.content ');
  writeFileSync(path.join(dir, 'good.jinja'), '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}');
  const file = (template: string) => {
    const f = path.join(dir, `${template}.yaml`);
    writeFileSync(f, `name: template
nodes:
  tokens:
    use: token-discovery
    with: { model: ${MODEL}, templateFile: ${template}.jinja, mine: false }
  tokenizer:
    use: tokenizer-extension
    from: tokens
    with: { model: ${MODEL}, chatTemplate: ${template}.jinja }
`);
    return f;
  };
  const bad = await pipe('validate', file('bad'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad\.yaml:5:\d+: error: nodes\.tokens\.with\.templateFile: .*bad\.jinja: chat template: does not parse/);
  assert.match(bad.stderr, /bad\.yaml:9:\d+: error: nodes\.tokenizer\.with\.chatTemplate: .*bad\.jinja: chat template: does not parse/);
  const good = await pipe('validate', file('good'));
  assert.equal(good.status, 0, good.stderr);
});
