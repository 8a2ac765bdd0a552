// One thread of test/tokenizer-shared-pieces.test.ts: finds or inserts keys k0..k(n-1) of its
// range in a table another thread fills at the same time; every hit must hold the key's own ids.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedPieces, type SharedPiecesBuffers } from '../../src/tokenizer/shared-pieces.ts';
import { idsFor } from './shared-pieces-keys.ts';

const { buffers, from, to, rounds } = workerData as { buffers: SharedPiecesBuffers; from: number; to: number; rounds: number };
const table = new SharedPieces(buffers);
let wrong = 0;
let hits = 0;
for (let r = 0; r < rounds; r++) {
  for (let i = from; i < to; i++) {
    const key = `piece-${i}-${'x'.repeat(i % 13)}`;
    const h = SharedPieces.hash(key, 0, key.length);
    const k = table.find(key, 0, key.length, i % 2, h);
    if (k < 0) {
      table.insert(key, 0, key.length, i % 2, h, idsFor(i));
      continue;
    }
    hits++;
    const got: number[] = [];
    for (let j = table.idsStart(k); j < table.idsEnd(k); j++) got.push(table.idAt(j));
    if (got.join() !== idsFor(i).join()) wrong++;
  }
}
parentPort!.postMessage({ wrong, hits });
