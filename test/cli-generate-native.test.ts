// `pipe generate --backend native` prints the text wasm prints (greedy: the same tokens) on a tied and an untied
// fixture model, through ONNX Runtime sessions, its prompt crossing a padded length (16) while it generates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { main } from '../src/cli.ts';
import { sessionsBuilt } from '../src/model/native-run.ts';

const PROMPT = 'The jury said that the city had been';

function cli() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), write: (t: string) => void out.push(t), isTTY: false }, out, err };
}

for (const model of ['fixtures/base', 'fixtures/models/llama']) {
  test(`pipe generate --backend native prints wasm's text (${model})`, async () => {
    const dir = path.join(import.meta.dirname, '..', model);
    const run = async (backend: string) => {
      const c = cli();
      assert.equal(await main(['generate', '--model', dir, '--backend', backend, '--prompt', PROMPT, '--max-new-tokens', '20'], c.io), 0, c.err.join('\n'));
      return c.out.join('');
    };
    const wasm = await run('wasm');
    assert.ok(wasm.length > PROMPT.length + 5, 'it generated');
    const before = sessionsBuilt();
    assert.equal(await run('native'), wasm);
    assert.ok(sessionsBuilt() > before, 'the native run ran ONNX Runtime sessions');
  });
}
