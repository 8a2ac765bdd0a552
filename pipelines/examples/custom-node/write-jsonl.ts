// Example sink (main thread): every item as one JSON line in a file of the run folder, written
// to a temporary name and renamed at the end, so a reader never sees a half-written file.
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { defineNode, z } from 'tokenpipe';

export default defineNode({
  name: 'write-jsonl',
  description: 'writes each item as a JSON line under the run folder',
  params: z.strictObject({ file: z.string().regex(/^[\w.-]+$/).default('items.jsonl').describe('file name inside the run folder') }),
  inputs: { items: { kind: 'stream', item: '*' } },
  outputs: {},
  placement: 'main',
  async run(inputs, ctx) {
    const final = path.join(ctx.runDir, ctx.params.file);
    const out = createWriteStream(`${final}.tmp`);
    let n = 0;
    for await (const item of inputs.items) {
      const line = JSON.stringify(item, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Int32Array) : v)) + '\n';
      if (!out.write(line)) await once(out, 'drain');
      n++;
    }
    out.end();
    await once(out, 'finish');
    await rename(`${final}.tmp`, final);
    ctx.events.emit({ type: 'written', file: final, items: n });
  },
});
