// Reading a large JSONL file streams: peak memory stays bounded whatever the file size.
// ~200 MB here to stay quick; bench/data.bench.ts measures the 1 GB figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CorpusParams, readCorpus } from '../src/data/corpus.ts';
import { writeFillerJsonl } from './helpers/data.ts';

test('reading ~200 MB of JSONL keeps RSS growth under 150 MB', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tp-mem-'));
  const file = path.join(dir, 'big.jsonl');
  try {
    const lines = await writeFillerJsonl(file, 200 * 2 ** 20);
    const base = process.memoryUsage().rss;
    let peak = base;
    // timer-ok: samples RSS while reading; the bound is on memory, not on time.
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    let docs = 0;
    let chars = 0;
    const params = CorpusParams.parse({ paths: file, evalFraction: 0.01 });
    for await (const d of readCorpus(params, { seed: 0 })) {
      docs++;
      chars += d.text.length;
    }
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.equal(docs, lines);
    assert.ok(chars > 190 * 2 ** 20);
    const growth = (peak - base) / 2 ** 20;
    t.diagnostic(`RSS growth ${growth.toFixed(1)} MB`);
    assert.ok(growth < 150, `RSS grew by ${growth.toFixed(0)} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
