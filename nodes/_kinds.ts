// The built-in item kinds, registered with the framework (src/pipeline/kinds.ts) with their
// TypeScript types: each library declares its kinds next to the types (src/data/items.ts,
// src/tokenizer/items.ts, src/train/items.ts); this is where the two meet. Built-in nodes take
// their ports from here (`stream(DOCUMENT)`), which types their run(); the loader imports this
// file before it checks a graph, so `train-state` is linear even in a pipeline of user nodes.
// ('_' in front: not a node; see src/pipeline/registry.ts.)
import { registerItemKind } from '../src/pipeline/kinds.ts';
import { BATCH_KIND, CORPUS_FINGERPRINT_KIND, DOCUMENT_KIND, type Document, type Fingerprint, type PackedBatch } from '../src/data/items.ts';
import { TOKEN_LIST_KIND, TOKENIZER_KIND, type TokenizerArtifact, type TokenList } from '../src/tokenizer/items.ts';
import { STEP_EVENT_KIND, TRAIN_STATE_KIND, type TrainSnapshot } from '../src/train/items.ts';
import type { StepRecord } from '../src/train/step.ts';

export const DOCUMENT = registerItemKind<Document>(DOCUMENT_KIND);
export const BATCH = registerItemKind<PackedBatch>(BATCH_KIND);
export const CORPUS_FINGERPRINT = registerItemKind<Fingerprint>(CORPUS_FINGERPRINT_KIND);
export const TOKEN_LIST = registerItemKind<TokenList>(TOKEN_LIST_KIND);
export const TOKENIZER = registerItemKind<TokenizerArtifact>(TOKENIZER_KIND);
export const TRAIN_STATE = registerItemKind<TrainSnapshot>(TRAIN_STATE_KIND);
export const STEP_EVENT = registerItemKind<StepRecord>(STEP_EVENT_KIND);
