// Entry of a data-parallel training thread (Piscina `filename`, src/train/parallel.ts). Plain .mjs so the thread can
// load it before any TypeScript loader exists; it registers tsx, then serves tasks from step-worker.ts.
import { register } from 'tsx/esm/api';

register();
const worker = import('./step-worker.ts');

export default async function task(t) {
  return (await worker).run(t);
}
