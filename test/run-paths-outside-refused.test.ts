// Writes stay inside the run folder (issue 21): a checkpoint sink's adapterDir of '.', '..',
// '../../victim' or an absolute folder elsewhere would have the final adapter replace that folder
// (the run folder itself, with pipeline.json, checkpoints/ and train.log; or a user's folder).
// `pipe validate` and `pipe run` refuse each one before any work, with exit 2 and the value's
// file:line:column (or the --set that gave it), and the victim folder keeps every file. A path
// onto another writer's folder (checkpoints/, tokenizer/) or a file the run keeps is refused too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeHere as pipe, tinyPipeline } from './fixtures/train/tiny-pipeline.ts';

/** The tiny training pipeline with `adapterDir: <value>` written into its checkpoint sink, and a victim folder beside it. */
function setup(value: (dir: string) => string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-outside-'));
  const victim = path.join(dir, 'victim');
  mkdirSync(path.join(victim, 'sub'), { recursive: true });
  writeFileSync(path.join(victim, 'thesis.txt'), 'years of work\n');
  writeFileSync(path.join(victim, 'sub', 'data.csv'), '1,2,3\n');
  const file = tinyPipeline(dir, { steps: 2, every: 2 });
  const text = readFileSync(file, 'utf8');
  const sink = text.split('\n').findIndex((l) => l.includes('use: checkpoint-sink'));
  const lines = text.split('\n');
  const v = JSON.stringify(value(dir));
  lines[sink] = lines[sink].replace('with: { every: 2 }', `with: { every: 2, adapterDir: ${v} }`);
  writeFileSync(file, lines.join('\n'));
  const column = lines[sink].indexOf(v) + 1;
  return { dir, file, victim, line: sink + 1, column };
}

const victimIntact = (victim: string) => {
  assert.deepEqual(readdirSync(victim).sort(), ['sub', 'thesis.txt']);
  assert.equal(readFileSync(path.join(victim, 'thesis.txt'), 'utf8'), 'years of work\n');
  assert.equal(readFileSync(path.join(victim, 'sub', 'data.csv'), 'utf8'), '1,2,3\n');
};

const cases: Array<[string, (dir: string) => string, RegExp]> = [
  ['.', () => '.', /is the run folder itself/],
  ['..', () => '..', /leaves the run folder/],
  // The run folder is <dir>/runs/e2e-<time>: two levels up is <dir>, where the victim is.
  ['../../victim', () => '../../victim', /leaves the run folder/],
  ['an absolute folder elsewhere', (dir) => path.join(dir, 'victim'), /is absolute/],
];

for (const [name, value, why] of cases) {
  test(`adapterDir ${name}: validate and run refuse it at file:line:col, exit 2, and delete nothing`, async () => {
    const { dir, file, victim, line, column } = setup(value);
    const v = await pipe('validate', file);
    assert.equal(v.status, 2, v.stderr);
    const at = `${file}:${line}:${column}: error: nodes.save.with.adapterDir: `;
    assert.ok(v.stderr.includes(at), `expected '${at}' in:\n${v.stderr}`);
    assert.match(v.stderr, why);
    const r = await pipe('run', file);
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.includes(at), r.stderr);
    assert.equal(existsSync(path.join(dir, 'runs')), false, 'refused before any work: no run folder');
    victimIntact(victim);
  });
}

test('given with --set, the refusal names the --set; a folder another node writes and a run file are refused too', async () => {
  const { file, victim } = setup(() => 'adapter');
  for (const [arg, why] of [
    ['save.adapterDir=../../victim', /leaves the run folder/],
    ['save.adapterDir=checkpoints', /overlaps 'checkpoints', where node 'train' writes \(checkpointDir\)/],
    ['save.adapterDir=tokenizer/', /overlaps 'tokenizer', where node 'tokenizer' writes \(dir\)/],
    ['save.adapterDir=pipeline.json', /taken by the run's own record/],
    ['save.adapterDir=train.log', /taken by node 'train'/],
  ] as const) {
    const r = await pipe('validate', file, '--set', arg);
    assert.equal(r.status, 2, `${arg}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`--set ${arg}: error: nodes.save.with.adapterDir: `), r.stderr);
    assert.match(r.stderr, why);
  }
  assert.equal((await pipe('validate', file)).status, 0, 'the pipeline as written is valid');
  victimIntact(victim);
});
