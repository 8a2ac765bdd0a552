// token-discovery: which tokens to add. Three sources, combined and deduplicated in a fixed order
// (list, template markers, mined units): an explicit list, the special markers a chat template
// prints, and corpus mining (counting on the pool in shards of `shardSize` documents, reduced here).
// Emits the token list and writes <runDir>/<report>.json and .txt.
import path from 'node:path';
import { z } from 'zod';
import { defineNode, type MainContext } from '../src/pipeline/node.ts';
import { stream, value } from '../src/pipeline/kinds.ts';
import { pathParam, runPath } from '../src/pipeline/schema.ts';
import type { Document } from '../src/data/items.ts';
import type { TokenList } from '../src/tokenizer/items.ts';
import { checkTokenizerFolder } from '../src/tokenizer/load.ts';
import { ListEntry, discover } from '../src/tokenizer/discover.ts';
import { MinedCounts, MiningOptions, type ShardCounts } from '../src/tokenizer/mine.ts';
import { MINE_WORKER, type CountShardTask } from '../src/tokenizer/mine-worker.ts';
import { checkTemplateFile, FAMILIES } from '../src/tokenizer/template.ts';
import { discoveryReport, formatDiscovery, writeReport } from '../src/tokenizer/report.ts';
import { emit } from './_events.ts';
import { DOCUMENT, TOKEN_LIST } from './_kinds.ts';

const Params = z
  .object({
    model: pathParam({ mustExist: 'dir', check: checkTokenizerFolder }).describe('model folder holding tokenizer.json (the base tokenizer mining measures against)'),
    tokens: z.array(ListEntry).default([]).describe('explicit tokens: a string (normal token) or {content, special}'),
    template: z.string().optional().describe('inline chat template; the <|...|> markers it prints become special tokens'),
    templateFile: pathParam({ mustExist: 'file', check: checkTemplateFile }).optional().describe('chat template file (.jinja); same as template'),
    family: z.string().optional().describe(`known chat format whose markers to add: ${Object.keys(FAMILIES).join(', ')}`),
    tags: z.boolean().default(false).describe('also take <tag>/</tag> markers from the template, as normal tokens'),
    mine: z.boolean().default(true).describe('mine the docs input when it is connected (options below)'),
    ...MiningOptions.shape,
    split: z.enum(['train', 'all']).default('train').describe("documents mined: 'train' leaves the eval split unseen"),
    shardSize: z.number().int().min(1).default(256).describe('documents per pool task'),
    inFlight: z.number().int().min(1).default(4).describe('shards counted at the same time'),
    report: runPath({ default: 'token-discovery', kind: 'file', suffixes: ['.json', '.txt'] }).describe('report file name (no extension) under the run folder'),
  })
  .strict();
type Params = z.output<typeof Params>;

export default defineNode({
  name: 'token-discovery',
  description: 'Finds tokens to add: an explicit list, the special markers of a chat template, and corpus units the base tokenizer splits (scored by tokens saved).',
  params: Params,
  inputs: {
    docs: stream(DOCUMENT, { optional: true, description: 'corpus to mine (leave unconnected for list/template only)' }),
  },
  outputs: {
    tokens: value(TOKEN_LIST, { description: 'the combined token list' }),
  },
  placement: 'main',
  run(inputs, ctx) {
    const p = ctx.params;
    const tokens = (async function* (): AsyncGenerator<TokenList> {
      const mining = inputs.docs && p.mine ? { docs: inputs.docs, options: miningOptions(p) } : null;
      const counts = mining ? await countCorpus(mining.docs, p, mining.options, ctx) : undefined;
      const combined = discover({
        list: p.tokens,
        template: p.template !== undefined || p.templateFile !== undefined || p.family !== undefined
          ? { template: p.template, templateFile: p.templateFile, family: p.family, tags: p.tags }
          : undefined,
        mined: counts && mining ? { counts, options: mining.options } : undefined,
      });
      const report = discoveryReport(combined, counts, mining?.options);
      const files = writeReport(path.join(ctx.runDir, p.report), report, formatDiscovery(report));
      emit(ctx, { type: 'token-discovery', node: ctx.name, tokens: combined.tokens.length, report: files.text });
      yield { tokens: combined.tokens };
    })();
    return { tokens };
  },
});

function miningOptions(p: Params): MiningOptions {
  const { minCount, maxTokens, minPieces, maxWords, minChars, exclude } = p;
  return { minCount, maxTokens, minPieces, maxWords, minChars, exclude, case: p.case };
}

/** Map on the pool in shards, reduce here; sums are order-free, so completion order does not matter. */
async function countCorpus(docs: AsyncIterable<Document>, p: Params, opts: MiningOptions, ctx: MainContext<Params>): Promise<MinedCounts> {
  const counts = new MinedCounts();
  const running = new Set<Promise<void>>();
  let failure: unknown = null;
  let shard: string[] = [];
  const send = (texts: string[]) => {
    const task: CountShardTask = { tokenizerDir: p.model, texts, maxWords: opts.maxWords, minPieces: opts.minPieces };
    const job: Promise<void> = ctx
      .runOnPool<ShardCounts>(MINE_WORKER, 'countShardTask', task)
      .then((r) => void counts.add(r), (e) => void (failure ??= e))
      .finally(() => running.delete(job));
    running.add(job);
  };
  for await (const d of docs) {
    if (ctx.signal.aborted || failure) break;
    if (p.split === 'train' && d.split !== 'train') continue;
    shard.push(d.text);
    if (shard.length < p.shardSize) continue;
    send(shard);
    shard = [];
    // Pull no further documents while inFlight shards are out: this is the backpressure.
    if (running.size >= p.inFlight) await Promise.race(running);
  }
  if (shard.length && !failure) send(shard);
  await Promise.all(running);
  if (failure) throw failure;
  emit(ctx, { type: 'mining', node: ctx.name, documents: counts.documents, tokens: counts.tokens, units: counts.units.size });
  return counts;
}
