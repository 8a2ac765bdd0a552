// A MainContext for calling a main node's run() directly in a test, without the executor.
import assert from 'node:assert/strict';
import type { MainContext, MainNodeDef } from '../../src/pipeline/node.ts';

export function mainContext<P = any>(
  def: MainNodeDef<any>,
  rawParams: unknown,
  o: { runDir: string; events?: unknown[]; seed?: number; name?: string } & Partial<Pick<MainContext<P>, 'reject' | 'runOnPool'>>,
): MainContext<P> {
  return {
    name: o.name ?? def.name,
    params: def.params.parse(rawParams) as P,
    runDir: o.runDir,
    seed: o.seed ?? 1,
    signal: new AbortController().signal,
    backend: 'cpu',
    resume: false,
    dryRun: false,
    events: { emit: (e) => void o.events?.push(e) },
    reject: o.reject ?? (() => assert.fail('no rejects expected')),
    status: () => {},
    runOnPool: o.runOnPool ?? (() => assert.fail('runOnPool not expected')),
  };
}
