// Through the worker pool, a templated document's unscored segments stay unscored: the packed
// labels of chat documents are exactly what tokenizeDocs gives in-process (a task carries marks
// apart from the texts, only for the documents that have them; plain documents beside them keep
// every label).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunPool } from '../src/pipeline/pool.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { tokenizeDocs, tokenizeDocsOf } from '../src/data/tokenize.ts';
import { createTokenizer } from '../src/tokenizer/tokenizers-js.ts';
import { idEncoder } from '../src/tokenizer/encode-ids.ts';
import { batchArrays } from '../src/io/arrow.ts';
import { IGNORE_INDEX } from '../src/io/arrow.ts';
import type { Document, PackedBatch } from '../src/data/items.ts';
import { lenmlArtifact } from './helpers/data.ts';

const artifact = lenmlArtifact('tokenizer-llama3_1', 128256);
const pool = new RunPool({ threads: 2 });
after(() => pool.close());

function chat(i: number): Document {
  const prompt = `<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is ${i} plus ${i}?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`;
  const reply = `It is ${2 * i}.<|eot_id|>`;
  return { id: `c${i}`, text: prompt + reply, segments: [{ text: prompt, scored: false }, { text: reply, scored: true }], templated: true, split: 'train', source: { file: 'chats' } };
}
const plain = (i: number): Document => ({ id: `p${i}`, text: `A plain paragraph, number ${i}, scored throughout.`, split: 'train', source: { file: 'plain' } });

test('chat documents packed on the pool keep their prompts unscored, beside plain documents', async () => {
  const docs = Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? plain(i) : chat(i)));
  const h = createPacker(
    (async function* () {
      yield* docs;
    })(),
    Promise.resolve(artifact),
    null,
    PackerParams.parse({ seqLen: 64, batchSize: 2, docsPerTask: 5, cache: false, epochs: 1 }),
    { name: 'packer', runDir: mkdtempSync(path.join(tmpdir(), 'tp-pack-chat-')), seed: 1, runOnPool: (m, e, a, t) => pool.call(m, e, a, t) },
  );
  const batches: PackedBatch[] = [];
  for await (const b of h.train) batches.push(b);
  await h.built;
  const got: number[] = [];
  for (const b of batches) {
    const v = batchArrays(b.batch);
    for (let i = 0; i < v.input_ids.length; i++) if (v.document_ids[i] >= 0) got.push(v.labels[i]);
  }
  const expected = tokenizeDocs(idEncoder(createTokenizer(artifact.tokenizerJson, artifact.tokenizerConfig)), tokenizeDocsOf(docs), { addSpecialTokens: true, appendEos: true, eosId: 128009 });
  assert.deepEqual(got, [...expected.labels]);
  // The prompts are unscored: far more ignored labels than one per document.
  const ignored = got.filter((l) => l === IGNORE_INDEX).length;
  assert.ok(ignored > 8 * 10, `ignored labels: ${ignored}`);
});
