// Makes TypeScript node modules importable on the current thread: tsx for the syntax, and
// resolve-hook.mjs so node files outside the repository find 'tokenpipe' and its
// dependencies. Call once per thread before importing node modules (bin/pipe.mjs on the
// main thread, worker-entry.mjs on each pool thread). Plain .mjs so it needs no loader itself.
import { register as registerTsx } from 'tsx/esm/api';
import { register as registerHooks } from 'node:module';

let done = false;

export function registerLoaders() {
  if (done) return;
  done = true;
  registerTsx();
  // Registered after tsx, so it runs first and sees tsx's resolution to adjust.
  registerHooks(new URL('./resolve-hook.mjs', import.meta.url));
}
