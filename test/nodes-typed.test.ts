// The built-in nodes are typed by their ports: every port names a registered item kind (so
// defineNode types run() from it), and no node casts what flows on an edge (`as AsyncIterable`).
// The kinds are declared by the libraries and registered in nodes/_kinds.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { itemKind, itemKinds } from '../src/pipeline/kinds.ts';
import { listBuiltinNodes } from '../src/pipeline/registry.ts';

test('every port of a built-in node names a registered item kind', async () => {
  const unregistered: string[] = [];
  for (const n of await listBuiltinNodes()) {
    for (const [side, ports] of [['in', n.def!.inputs], ['out', n.def!.outputs]] as const) {
      for (const [port, spec] of Object.entries(ports)) if (!itemKind(spec.item)) unregistered.push(`${n.name} ${side} ${port}: '${spec.item}'`);
    }
  }
  assert.deepEqual(unregistered, []);
  assert.ok(itemKinds().every((k) => k.description.length > 0));
});

test('no built-in node casts its inputs or outputs', () => {
  const casts = readdirSync('nodes')
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => readFileSync(`nodes/${f}`, 'utf8').split('\n').map((line, i) => ({ at: `nodes/${f}:${i + 1}`, line })))
    .filter(({ line }) => /\bas\s+AsyncIterable\b/.test(line));
  assert.deepEqual(casts.map((c) => `${c.at}: ${c.line.trim()}`), []);
});
