// Example source node (main thread): the non-empty lines of a text file, read as a stream.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { defineNode, pathParam, z } from 'tokenpipe';

export default defineNode({
  name: 'read-lines',
  description: 'non-empty lines of a text file',
  params: z.strictObject({
    // mustExist: a missing file is an error of `pipe validate`, before anything runs.
    file: pathParam({ mustExist: 'file' }).describe('text file, relative to the pipeline file'),
    limit: z.number().int().positive().optional().describe('stop after this many lines'),
  }),
  inputs: {},
  outputs: { lines: { kind: 'stream', item: 'text-line' } },
  placement: 'main',
  run(_inputs, ctx) {
    const { file, limit } = ctx.params;
    async function* lines() {
      const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      let n = 0;
      try {
        for await (const line of rl) {
          // Stop reading on Ctrl-C: items already emitted still flow to the sink.
          if (ctx.signal.aborted || (limit !== undefined && n >= limit)) break;
          if (line.trim() === '') continue;
          n++;
          yield line;
        }
      } finally {
        rl.close();
      }
    }
    return { lines: lines() };
  },
});
