// The item-kind registry: a kind registered twice is the same kind; stream(KIND) / value(KIND) make the same plain ports a node
// would write by hand (the graph, `pipe graph` and `pipe nodes --json` see no difference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { itemKind, registerItemKind, stream, value } from '../src/pipeline/kinds.ts';

test('registering a kind twice gives the same kind', () => {
  const a = registerItemKind<number>({ name: 'test-count', description: 'a count' });
  assert.equal(registerItemKind<number>({ name: 'test-count', description: 'a count, again' }), a);
  assert.equal(itemKind('test-count'), a);
  assert.deepEqual({ ...a }, { name: 'test-count', description: 'a count' });
  assert.equal(itemKind('no-such-kind'), undefined);
});

test('typed ports are plain ports at run time', () => {
  const k = registerItemKind<string>({ name: 'test-word', description: 'a word' });
  assert.deepEqual(stream(k), { kind: 'stream', item: 'test-word' });
  assert.deepEqual(value(k, { optional: true, description: 'the word' }), { kind: 'value', item: 'test-word', optional: true, description: 'the word' });
});
