// `pipe graph` prints a Mermaid flowchart with one box per node and one arrow per edge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../src/cli.ts';

async function graph(file: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['graph', file], { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, text: out.join(''), err: err.join('\n') };
}

test('mermaid text of the valid fixture', async () => {
  const r = await graph('test/fixtures/pipelines/valid.yaml');
  assert.equal(r.code, 0, r.err);
  const lines = r.text.trim().split('\n');
  assert.equal(lines[0], 'flowchart LR');
  const boxes = lines.filter((l) => /^\s+n\d+\[/.test(l));
  assert.equal(boxes.length, 6);
  // `up` is a worker node: subroutine box.
  assert.ok(boxes.some((l) => l.includes('[["up<br/>')));
  const edges = lines.filter((l) => /-->|\.->/.test(l));
  assert.equal(edges.length, 6);
  // vocab.vocab is a value edge: dotted.
  const id = (name: string) => boxes.find((l) => l.includes(`"${name}<br/>`))!.trim().match(/^n\d+/)![0];
  assert.ok(edges.some((l) => l.trim().startsWith(`${id('vocab')} -.`) && l.trim().endsWith(`.-> ${id('join')}`)));
  assert.ok(edges.some((l) => l.trim().startsWith(`${id('src')} --`) && l.trim().endsWith(`--> ${id('up')}`)));
});

test('an invalid file prints its errors and no graph', async () => {
  const r = await graph('test/fixtures/pipelines/cycle.yaml');
  assert.equal(r.code, 2);
  assert.equal(r.text, '');
  assert.match(r.err, /cycle: a -> b -> c -> a/);
});
