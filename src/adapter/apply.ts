// Puts a PEFT adapter on a loaded base model for inference (pipe eval --adapter, merge checks):
// LoRA on the linear hook (no dropout) and the adapter's rows in the token table. The base needs
// no resizing first: rows past its vocabulary must all be in the adapter (tokenpipe adapters
// always store them), rows inside it are replaced, as PEFT does after resize_token_embeddings.
import * as tf from '@tensorflow/tfjs';
import { AdapterMismatch } from '../errors.ts';
import type { LoadedAdapter, TokenRows } from './peft.ts';
import type { FrozenTokenTable, LlamaModel } from '../model/weights.ts';
import { LoraSet, modelShape } from '../model/lora.ts';
import { createTokenTable } from '../model/tokens.ts';

/** Mutates `model`: returns the LoRA set it now uses (dispose with the model). */
export function applyAdapter(model: LlamaModel, a: LoadedAdapter): LoraSet {
  const base = model.tokens as FrozenTokenTable;
  const V0 = base.vocabSize;
  const H = model.config.hiddenSize;
  if (a.hiddenSize !== 0 && a.hiddenSize !== H) throw new AdapterMismatch(`${a.dir}: adapter rows have hidden size ${a.hiddenSize}, the model ${H}`);
  if (a.fullRows) {
    const V = a.fullRows.vocabSize;
    if (V < V0) throw new AdapterMismatch(`${a.dir}: full matrices have ${V} rows, fewer than the model's ${V0}`);
    const table = createTokenTable(base, { mode: 'full', appendedEmbed: new Float32Array((V - V0) * H), appendedHead: base.tied ? undefined : new Float32Array((V - V0) * H) });
    table.importRows({ embedFull: a.fullRows.embed, headFull: a.fullRows.lmHead ?? a.fullRows.embed });
    model.tokens = table;
  } else {
    const embed = a.tokenRows?.embed ?? { ids: [], rows: new Float32Array(0) };
    const head = base.tied ? undefined : a.tokenRows?.lmHead ?? { ids: [], rows: new Float32Array(0) };
    const split = (r: TokenRows) => ({ inside: r.ids.filter((id) => id < V0), past: r.ids.filter((id) => id >= V0).sort((x, y) => x - y) });
    const e = split(embed);
    const n = e.past.length;
    e.past.forEach((id, k) => {
      if (id !== V0 + k) throw new AdapterMismatch(`${a.dir}: token rows past the model's ${V0} rows must cover ${V0}, ${V0 + 1}, ...; got ${e.past}`);
    });
    if (head && (split(head).past.length !== n || split(head).past.some((id, k) => id !== e.past[k]))) {
      throw new AdapterMismatch(`${a.dir}: lm_head rows must cover the same new ids as embed_tokens (${e.past})`);
    }
    const rowsOf = (r: TokenRows, ids: number[]) => Float32Array.from(ids.flatMap((id) => Array.from(r.rows.subarray(r.ids.indexOf(id) * H, (r.ids.indexOf(id) + 1) * H))));
    const table = createTokenTable(base, {
      mode: 'trainable-tokens', appendedEmbed: rowsOf(embed, e.past), appendedHead: head && rowsOf(head, e.past),
      replaceEmbed: e.inside, replaceHead: head ? split(head).inside : undefined,
    });
    table.importRows({ embed, lmHead: head });
    model.tokens = table;
  }
  const lora = LoraSet.fromPeft(modelShape(model), a.loraConfig, a.lora);
  model.adapters = lora;
  return lora;
}
