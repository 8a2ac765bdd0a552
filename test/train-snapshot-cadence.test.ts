// A train node copies its weights out only where a node downstream asked (the evaluator's every and
// atStart, the sink's every with the optimizer state), always at the end and on an interrupt, never
// for a diverged run; with no asks known (a node run outside the executor) every snapshot is full.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotAsks, snapshotCadence } from '../src/train/snapshot.ts';
import evaluatorNode from '../nodes/evaluator.ts';
import sinkNode from '../nodes/checkpoint-sink.ts';
import summaryNode from '../nodes/summary.ts';

const at = (cadence: ReturnType<typeof snapshotCadence>, what: 'weights' | 'optimizer', reason: 'start' | 'step' | 'end' | 'interrupt' | 'diverged', steps: number[]) =>
  steps.filter((step) => cadence[what]({ step, reason }));

test('weights where an evaluator or a sink asked, the optimizer state where the sink asked', () => {
  const asks = snapshotAsks([
    { asks: evaluatorNode.asks!(evaluatorNode.params.parse({ every: 3, atStart: true })) },
    { asks: summaryNode.asks?.(summaryNode.params.parse({})) },
    { asks: sinkNode.asks!(sinkNode.params.parse({ every: 4 })) },
  ]);
  const c = snapshotCadence(asks);
  const steps = Array.from({ length: 12 }, (_, i) => i + 1);
  assert.deepEqual(at(c, 'weights', 'step', steps), [3, 4, 6, 8, 9, 12]);
  assert.deepEqual(at(c, 'optimizer', 'step', steps), [4, 8, 12]);
  assert.ok(c.weights({ step: 0, reason: 'start' }) && !c.optimizer({ step: 0, reason: 'start' }));
  for (const reason of ['end', 'interrupt'] as const) assert.ok(c.weights({ step: 7, reason }) && c.optimizer({ step: 7, reason }), reason);
  assert.ok(!c.weights({ step: 8, reason: 'diverged' }));
});

test('no reader asks for the start: the start snapshot carries no weights; nobody asks at all: only the end does', () => {
  const c = snapshotCadence(snapshotAsks([{ asks: evaluatorNode.asks!(evaluatorNode.params.parse({ every: 2 })) }]));
  assert.ok(!c.weights({ step: 0, reason: 'start' }));
  assert.ok(!c.optimizer({ step: 2, reason: 'step' }));
  const none = snapshotCadence([]);
  assert.deepEqual(at(none, 'weights', 'step', [1, 2, 3]), []);
  assert.ok(none.weights({ step: 3, reason: 'end' }) && !none.optimizer({ step: 3, reason: 'end' }));
});

test('with no asks known, every snapshot but a diverged one is full', () => {
  const c = snapshotCadence(undefined);
  assert.deepEqual(at(c, 'weights', 'step', [1, 2, 3]), [1, 2, 3]);
  assert.deepEqual(at(c, 'optimizer', 'step', [1, 2, 3]), [1, 2, 3]);
  assert.ok(!c.weights({ step: 3, reason: 'diverged' }));
});
