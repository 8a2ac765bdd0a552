// batch-packer: documents + tokenizer → packed Arrow batches (src/io/arrow.ts schema).
//
// Inputs
//   docs         stream of Document (read while the tokenizer is pending: see src/data/intake.ts)
//   tokenizer    value TokenizerArtifact; pool threads build it once each
//   fingerprint  value {hash} from corpus-reader (optional); without it the cache cannot be
//                looked up, so batches are built run-locally every time
// Outputs
//   train        stream of PackedBatch, `epochs` passes (later passes reshuffled, seeded)
//   eval         stream of PackedBatch, one pass over documents whose split is 'eval'
// Tokenizing runs on the shared pool through ctx.runOnPool, many documents per task, at
// most `concurrency` tasks in flight (boundedParallel). Batches are cached as Arrow IPC
// under <cacheDir>/<key>/, key = hash(corpus fingerprint, tokenizer hash, packing params).
import { defineNode, firstValue } from '../src/pipeline/node.ts';
import { stream, value } from '../src/pipeline/kinds.ts';
import { pathParam } from '../src/pipeline/schema.ts';
import { createPacker, PackerParams } from '../src/data/packer.ts';
import { BATCH, CORPUS_FINGERPRINT, DOCUMENT, TOKENIZER } from './_kinds.ts';

/** The packer's options, with the cache folder relative to the pipeline file. */
const Params = PackerParams.extend({
  cacheDir: pathParam().optional().describe('cache folder (default: <outputDir>/.cache/packed)'),
}).strict();

export default defineNode({
  name: 'batch-packer',
  description: 'Tokenizes documents on the worker pool and packs them into Arrow batches (input_ids, labels, position_ids, document_ids) with an on-disk cache.',
  params: Params,
  inputs: {
    docs: stream(DOCUMENT),
    tokenizer: value(TOKENIZER),
    fingerprint: value(CORPUS_FINGERPRINT, { optional: true, description: 'from corpus-reader: enables the cache' }),
  },
  outputs: {
    train: stream(BATCH, { description: 'train batches, epochs passes' }),
    eval: stream(BATCH, { description: 'eval batches, one pass' }),
  },
  placement: 'main',
  run(inputs, ctx) {
    const tokenizer = firstValue(inputs.tokenizer, 'batch-packer', 'tokenizer');
    const fingerprint = inputs.fingerprint ? firstValue(inputs.fingerprint, 'batch-packer', 'fingerprint') : null;
    const handle = createPacker(inputs.docs, tokenizer, fingerprint, ctx.params, {
      name: ctx.name,
      runDir: ctx.runDir,
      seed: ctx.seed,
      signal: ctx.signal,
      runOnPool: (m, e, a, t) => ctx.runOnPool(m, e, a, t),
      emit: (e) => ctx.events.emit({ node: ctx.name, ...e }),
    });
    return { train: handle.train, eval: handle.eval };
  },
});
