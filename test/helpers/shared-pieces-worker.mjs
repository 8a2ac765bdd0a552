// Thread entry for test/tokenizer-shared-pieces.test.ts: registers the TypeScript loader as the
// pool's worker-entry.mjs does, then runs the TypeScript body.
import { registerLoaders } from '../../src/pipeline/loaders.mjs';

registerLoaders();
await import('./shared-pieces-worker.ts');
