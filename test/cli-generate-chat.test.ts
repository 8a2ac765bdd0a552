// pipe generate --chat renders the messages with the chat template the run saved in the
// adapter's tokenizer (tokenizer-extension's chatTemplate) and prints the same greedy reply as
// the prompt written out by hand; without any template it says how to give one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import extensionNode from '../nodes/tokenizer-extension.ts';
import { applyAdapter } from '../src/adapter/apply.ts';
import { loadAdapter, saveAdapter } from '../src/adapter/peft.ts';
import { setBackend } from '../src/model/backend.ts';
import { generate } from '../src/model/generate.ts';
import { LoraConfig } from '../src/model/lora.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { loadTokenizer } from '../src/tokenizer/load.ts';
import type { TokenizerArtifact } from '../src/tokenizer/items.ts';
import { mainContext } from './helpers/context.ts';
import { pipeHere, ROOT } from './fixtures/train/tiny-pipeline.ts';
import { main } from '../src/cli.ts';
import type { CliIO } from '../src/cli/command.ts';

const LLAMA = path.join(ROOT, 'fixtures', 'models', 'llama');
const CHATML = path.join(ROOT, 'fixtures', 'corpora', 'chatml.jinja');
const SYSTEM = 'You answer briefly.';
const USER = 'Where is the harbour?';
const HAND = `<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\n${USER}<|im_end|>\n<|im_start|>assistant\n`;

/** `pipe generate ARGS` in this process; stdout as streamed (generate writes without newlines). */
async function generateHere(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(['generate', ...args], { out: (t: string) => void out.push(t + '\n'), err: (t: string) => void err.push(t), write: (t: string) => void out.push(t), isTTY: false } as CliIO);
  return { status, stdout: out.join(''), stderr: err.join('\n') };
}

/** The run's extended tokenizer (ChatML markers added, the template saved) in an adapter folder. */
async function adapterWithTemplate(root: string): Promise<{ adapter: string; artifact: TokenizerArtifact }> {
  const runDir = path.join(root, 'run');
  const tokens = { tokens: ['<|im_start|>', '<|im_end|>'].map((content) => ({ content, special: true, origin: 'list' as const })) };
  const out = await extensionNode.run(
    { tokens: (async function* () { yield tokens; })() },
    mainContext<any>(extensionNode, { model: LLAMA, mode: 'added', chatTemplate: CHATML }, { runDir }),
  );
  let artifact!: TokenizerArtifact;
  for await (const a of out!.tokenizer as AsyncIterable<TokenizerArtifact>) artifact = a;
  assert.equal(JSON.parse(readFileSync(path.join(runDir, 'tokenizer', 'tokenizer_config.json'), 'utf8')).chat_template, readFileSync(CHATML, 'utf8'));
  // LoRA with B = 0 and small rows for the two markers: any change in the prompt's ids shows.
  const D = 16;
  const rows = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.05);
  const adapter = path.join(runDir, 'adapter');
  const ids = artifact.newTokenIds;
  await saveAdapter(adapter, {
    lora: new Map([0, 1].map((l) => [`model.layers.${l}.self_attn.q_proj`, { A: new Float32Array(2 * D).fill(0.1), B: new Float32Array(2 * D), inF: D, outF: D }])),
    loraConfig: LoraConfig.parse({ r: 2, alpha: 4, targetModules: ['q_proj'] }), mode: 'frozen', hiddenSize: D,
    vocabSize: Math.max(...ids) + 1, baseVocabSize: artifact.baseVocabSize, tieWordEmbeddings: false, baseModelNameOrPath: LLAMA,
    tokenRows: { embed: { ids, rows: rows(ids.length * D) }, lmHead: { ids, rows: rows(ids.length * D) } },
    newTokens: artifact.newTokens, newTokenIds: ids,
  }, { tokenizer: { tokenizerJson: artifact.tokenizerJson, tokenizerConfig: artifact.tokenizerConfig } });
  return { adapter, artifact };
}

test("--chat output equals the hand-written prompt's greedy reply, with the adapter's template", async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tp-chat-'));
  const { adapter, artifact } = await adapterWithTemplate(root);

  await setBackend('cpu');
  const model = await loadModel(LLAMA);
  applyAdapter(model, await loadAdapter(adapter));
  const tok = loadTokenizer(artifact);
  // apply_chat_template's text is encoded as is: the template writes whatever BOS it wants.
  const prompt = Array.from(tok.encode(HAND, { addSpecialTokens: false }));
  const reply = generate(model, prompt, { maxNewTokens: 8, eosTokenIds: [...model.config.eosTokenIds, tok.tokenToId('<|im_end|>')!] });
  disposeModel(model);
  const skip = { skipSpecialTokens: true };
  const expected = tok.decode([...prompt, ...reply], skip).slice(tok.decode(prompt, skip).length) + '\n';

  const chat = await generateHere('--adapter', adapter, '--backend', 'cpu', '--max-new-tokens', '8', '--system', SYSTEM, '--user', USER);
  assert.equal(chat.status, 0, chat.stderr);
  assert.equal(chat.stdout, expected);

  const file = path.join(root, 'messages.json');
  writeFileSync(file, JSON.stringify([{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }]));
  const fromFile = await generateHere('--adapter', adapter, '--backend', 'cpu', '--max-new-tokens', '8', '--chat', '--messages', file);
  assert.equal(fromFile.stdout, expected);

  // A role the templates do not know (a typo) is refused, naming the message and the roles.
  writeFileSync(file, JSON.stringify([{ role: 'usr', content: USER }]));
  const typo = await generateHere('--adapter', adapter, '--backend', 'cpu', '--chat', '--messages', file);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /message 0 has role "usr"; expected one of system, user, assistant, tool/);
});

test('--chat without a template names the folder and the ways to give one', async () => {
  const r = await pipeHere('generate', '--model', LLAMA, '--chat', '--user', USER);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /fixtures\/models\/llama has no chat template .*--chat-template FILE/);
  const both = await pipeHere('generate', '--model', LLAMA, '--prompt', 'x', '--user', USER);
  assert.match(both.stderr, /--prompt and --chat exclude each other/);
});
