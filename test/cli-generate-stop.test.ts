// pipe generate stops at a --stop token (and at chat end-of-turn markers the tokenizer has),
// keeping that token in the output, instead of running on to max-new-tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { main } from '../src/cli.ts';
import { setBackend } from '../src/model/backend.ts';
import { generate } from '../src/model/generate.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';

const MODEL = path.join(import.meta.dirname, '..', 'fixtures', 'base');
const PROMPT = 'The jury said that the';

function cli() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), write: (t: string) => void out.push(t), isTTY: false }, out, err };
}

test('--stop TOKEN ends greedy generation at that token', async () => {
  await setBackend('wasm');
  const tok = loadTokenizer(MODEL);
  const model = await loadModel(MODEL);
  const prompt = Array.from(tok.encode(PROMPT));
  const ids = generate(model, prompt, { maxNewTokens: 12 });
  disposeModel(model);
  // The last generated token not seen before it: stopping there is unambiguous.
  const fresh = ids.map((id, i) => (ids.slice(0, i).includes(id) ? -1 : i)).filter((i) => i >= 0 && i < ids.length - 1);
  const k = fresh.at(-1)!;
  assert.ok(k !== undefined, "a token to stop at before max-new-tokens");
  const stop = tok.idToToken(ids[k])!;

  const c = cli();
  assert.equal(await main(['generate', '--model', MODEL, '--backend', 'wasm', '--prompt', PROMPT, '--max-new-tokens', '12', '--stop', stop], c.io), 0, c.err.join('\n'));
  assert.equal(c.out.join(''), tok.decode([...prompt, ...ids.slice(0, k + 1)], { skipSpecialTokens: true }) + '\n');

  const full = cli();
  assert.equal(await main(['generate', '--model', MODEL, '--backend', 'wasm', '--prompt', PROMPT, '--max-new-tokens', '12'], full.io), 0);
  assert.ok(full.out.join('').length > c.out.join('').length, 'without --stop it runs on');
});

test('--stop with a string that is not one token is a usage error naming it', async () => {
  const c = cli();
  assert.equal(await main(['generate', '--model', MODEL, '--prompt', PROMPT, '--stop', 'not one token at all'], c.io), 2);
  assert.match(c.err.join('\n'), /--stop "not one token at all": not a token of the tokenizer/);
});
