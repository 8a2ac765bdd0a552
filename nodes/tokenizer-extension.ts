// tokenizer-extension: appends the discovered tokens to the base tokenizer (`added` tokens like
// transformers' add_tokens, or `merge` mode: BPE vocabulary + merges for words), writes the
// extended tokenizer.json / tokenizer_config.json under <runDir>/<dir>/ and a report, and emits
// the extended tokenizer with the new ids.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NodeInputMissing } from '../src/errors.ts';
import { defineNode } from '../src/pipeline/node.ts';
import { value } from '../src/pipeline/kinds.ts';
import { pathParam, runPath } from '../src/pipeline/schema.ts';
import type { TokenList, TokenizerArtifact } from '../src/tokenizer/items.ts';
import { artifactFromFiles, checkTokenizerFolder, loadTokenizer } from '../src/tokenizer/load.ts';
import { ExtendOptions, extendTokenizer, writeTokenizerFiles } from '../src/tokenizer/extend.ts';
import { formatExtension, writeReport } from '../src/tokenizer/report.ts';
import { emit } from './_events.ts';
import { TOKEN_LIST, TOKENIZER } from './_kinds.ts';
import { checkTemplateFile } from '../src/tokenizer/template.ts';

const Params = ExtendOptions.extend({
  model: pathParam({ mustExist: 'dir', check: checkTokenizerFolder }).describe('model folder holding the base tokenizer.json and tokenizer_config.json'),
  dir: runPath({ default: 'tokenizer', kind: 'dir' }).describe('folder under the run folder for the extended tokenizer files'),
  report: runPath({ default: 'tokenizer-extension', kind: 'file', suffixes: ['.json', '.txt'] }).describe('report file name (no extension) under the run folder'),
  chatTemplate: pathParam({ mustExist: 'file', check: checkTemplateFile }).optional().describe("chat template (.jinja) the run's chats use: saved as chat_template in the extended tokenizer_config.json, so the adapter carries it (pipe generate --chat)"),
}).strict();

export default defineNode({
  name: 'tokenizer-extension',
  description: 'Adds tokens to the base tokenizer (added tokens, or BPE merges for words) and writes the extended tokenizer files.',
  params: Params,
  inputs: {
    tokens: value(TOKEN_LIST, { description: 'tokens to add' }),
  },
  outputs: {
    tokenizer: value(TOKENIZER, { description: 'the extended tokenizer with its new ids' }),
  },
  placement: 'main',
  run(inputs, ctx) {
    const p = ctx.params;
    const tokenizer = (async function* (): AsyncGenerator<TokenizerArtifact> {
      let list: TokenList | undefined;
      for await (const v of inputs.tokens) {
        list = v;
        break;
      }
      if (!list) throw new NodeInputMissing(ctx.name, 'the tokens input ended without a token list');
      const base = loadTokenizer(p.model);
      const extended = extendTokenizer(base, list.tokens, { mode: p.mode, unmergeable: p.unmergeable });
      const { report } = extended;
      let artifact = extended.artifact;
      // transformers saves a tokenizer with its chat template; so does the run, for the adapter.
      if (p.chatTemplate) {
        const a = artifact;
        // Rebuilt for its hash over the new config; the ids merge mode marked intermediate carry over.
        artifact = {
          ...artifactFromFiles(a.tokenizerJson, { ...a.tokenizerConfig, chat_template: readFileSync(p.chatTemplate, 'utf8') }, a.baseVocabSize, a.newTokens, a.newTokenIds),
          intermediateIds: a.intermediateIds,
        };
      }
      const files = writeTokenizerFiles(path.join(ctx.runDir, p.dir), artifact);
      const rep = writeReport(path.join(ctx.runDir, p.report), report, formatExtension(report));
      emit(ctx, {
        type: 'tokenizer-extension',
        node: ctx.name,
        mode: p.mode,
        newIds: artifact.newTokenIds.length,
        skipped: report.skipped.length,
        tokenizer: files.tokenizerJson,
        report: rep.text,
      });
      yield artifact;
    })();
    return { tokenizer };
  },
});
