// How the embedding (and an untied head) trains; declared once, as the zod enum the train config
// validates with and the type every layer above uses (token tables, memory plan, adapters, reports).
//   'trainable-tokens'  LoRA + only the new (and named) tokens' rows (PEFT trainable_token_indices)
//   'full'              LoRA + the whole embedding and head (PEFT modules_to_save)
//   'frozen'            LoRA only; the new rows keep their initial values
import { z } from 'zod';

export const EmbeddingMode = z.enum(['trainable-tokens', 'full', 'frozen']);
export type EmbeddingMode = z.infer<typeof EmbeddingMode>;
/** The modes in the order reports and `--dry-run` list them. */
export const EMBEDDING_MODES: readonly EmbeddingMode[] = EmbeddingMode.options;
