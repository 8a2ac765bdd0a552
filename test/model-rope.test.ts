// RoPE frequencies against the check values printed in llama-family-spec.md §3.3 (llama3 scaling), the
// linear rule, and the rotate-half pairing (dimension j turns with j + D/2) on a hand-computed vector.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { setBackend } from '../src/model/backend.ts';
import { applyRope, invFreq, ropeTables } from '../src/model/rope.ts';

test('llama3 inv_freq matches the spec check values (D=64, theta 5e5, factor 32, low 1, high 4, old 8192)', () => {
  const inv = invFreq({ type: 'llama3', theta: 5e5, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }, 64);
  const want: Array<[number, number]> = [[0, 1.0], [14, 3.211446e-3], [15, 1.290548e-3], [16, 4.295568e-4], [20, 8.570255e-6], [31, 9.418307e-8]];
  for (const [j, v] of want) assert.ok(Math.abs(inv[j] - v) <= 1e-6 * v, `j=${j}: ${inv[j]} vs ${v}`);
});

test('default and linear inv_freq', () => {
  const d = invFreq({ type: 'default', theta: 10000 }, 8);
  assert.deepEqual([...d].map((x) => +x.toPrecision(12)), [1, 0.1, 0.01, 0.001]);
  const l = invFreq({ type: 'linear', theta: 10000, factor: 4 }, 8);
  assert.deepEqual([...l].map((x) => +x.toPrecision(12)), [0.25, 0.025, 0.0025, 0.00025]);
});

test('applyRope pairs j with j + D/2 (rotate half), not interleaved', async () => {
  await setBackend('cpu');
  const inv = Float64Array.from([1, 0.5]); // D = 4
  const p = 3;
  const x = [1, 2, 3, 4];
  const t = ropeTables(Int32Array.from([p]), inv);
  const got = applyRope(tf.tensor3d(x, [1, 1, 4]), t).dataSync();
  const want: number[] = [];
  for (let j = 0; j < 2; j++) {
    const c = Math.cos(p * inv[j]);
    const s = Math.sin(p * inv[j]);
    want[j] = x[j] * c - x[j + 2] * s;
    want[j + 2] = x[j + 2] * c + x[j] * s;
  }
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `${i}: ${got[i]} vs ${want[i]}`);
});
