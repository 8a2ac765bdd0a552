// batch-packer: documents + tokenizer → packed Arrow batches (src/io/arrow.ts schema).
//
// Inputs
//   docs         stream of Document (read while the tokenizer is pending: see src/data/intake.ts)
//   tokenizer    value TokenizerArtifact; pool threads build it once each
//   fingerprint  value {hash} from corpus-reader (optional): groups cached packings by corpus,
//                so a first run on a changed corpus packs at once instead of after hashing
//                every document (the cache works without it)
// Outputs
//   train        stream of PackedBatch: `epochs` passes, or when epochs is unset pass after pass
//                until the consumer (the train node, at its steps) stops pulling; later passes
//                reshuffled, seeded. Each batch carries the stream's PackPlan (batches per pass).
//   eval         stream of PackedBatch, one pass over documents whose split is 'eval'
// Tokenizing runs on the shared pool through ctx.runOnPool, many documents per task, at
// most `concurrency` tasks in flight (boundedParallel). Batches are cached as Arrow IPC under
// <cacheDir>/<family>/<build>/: the family is the tokenizer and packing params, the build is
// chosen by the digest of the documents that reached this node (src/data/pack-cache.ts), so a
// change in any node upstream misses the cache.
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
    fingerprint: value(CORPUS_FINGERPRINT, { optional: true, description: 'from corpus-reader: groups cached packings by corpus (optional)' }),
  },
  outputs: {
    train: stream(BATCH, { description: 'train batches: epochs passes, or repeated until the consumer stops' }),
    eval: stream(BATCH, { description: 'eval batches, one pass' }),
  },
  placement: 'main',
  // Without the cache, the run's packing goes to <runDir>/packer/<node> (src/data/packer.ts).
  runFiles: (name) => [`packer/${name}`],
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
      status: (line) => ctx.status(line, { beside: true }),
    });
    return { train: handle.train, eval: handle.eval };
  },
});
