// Entry module of every pool thread (Piscina `filename`). Plain .mjs so the thread can load
// it before any TypeScript loader exists; it then registers tsx (and the resolve hook) so
// built-in and user nodes written in TypeScript, anywhere on disk, import normally.
//
// Per thread it caches imported modules and each worker node's `init(params, values)`
// result, so start-up is paid once per thread, not per item. Results travel back in an
// envelope ({ ok, value | error, threadId }) whose typed-array buffers are transferred.
// Node errors are returned, not thrown, so the main thread gets the original name, message
// and stack plus the item back (for the rejects file).
import { threadId, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { registerLoaders } from './loaders.mjs';

registerLoaders();

// The plain Errors thrown below reach the main thread in the envelope and surface there as
// NodeFailed (named, with this message); this .mjs loads before TypeScript can be imported.

/** name -> { modulePath, exportName, params, valueInputs } of the run's worker nodes. */
const specs = workerData?.nodes ?? {};
const modules = new Map();
const nodeStates = new Map();
const nodeValues = new Map();
let transferModule;

function importModule(modulePath) {
  let p = modules.get(modulePath);
  if (!p) {
    const url = /^[a-z]+:/i.test(modulePath) && !/^[a-zA-Z]:[\\/]/.test(modulePath)
      ? modulePath
      : pathToFileURL(modulePath).href;
    p = import(url);
    modules.set(modulePath, p);
  }
  return p;
}

async function exportOf(modulePath, exportName) {
  const mod = await importModule(modulePath);
  const value = mod[exportName];
  // internal: becomes NodeFailed on the main thread (see the top).
  if (value === undefined) throw new Error(`${modulePath} has no export '${exportName}'`);
  return value;
}

function nodeState(name) {
  let p = nodeStates.get(name);
  if (!p) {
    const spec = specs[name];
    p = (async () => {
      const def = await exportOf(spec.modulePath, spec.exportName);
      if (def?.placement !== 'worker' || typeof def.process !== 'function') {
        // internal: becomes NodeFailed on the main thread (see the top).
        throw new Error(`${spec.modulePath} (${spec.exportName}) is not a worker node definition`);
      }
      const state = def.init ? await def.init(spec.params, nodeValues.get(name) ?? {}) : undefined;
      return { def, state };
    })();
    // A failed init stays cached: every later item of that node fails with the same error.
    nodeStates.set(name, p);
  }
  return p;
}

function serializeError(error) {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack, code: error.code };
  }
  return { name: 'Error', message: String(error), stack: undefined, code: undefined };
}

async function send(envelope) {
  transferModule ??= import('./transfer.ts');
  const { prepareTransfer } = await transferModule;
  const { value, transfer } = prepareTransfer(envelope);
  if (transfer.length === 0) return value;
  return move({ [transferableSymbol]: transfer, [valueSymbol]: value });
}

async function runNodeTask(task) {
  const spec = specs[task.node];
  // internal: becomes NodeFailed on the main thread (see the top).
  if (!spec) throw new Error(`worker node '${task.node}' is not part of this run's pool`);
  if (task.values) nodeValues.set(task.node, task.values);
  const hasValues = spec.valueInputs.length === 0 || nodeValues.has(task.node);
  if (!hasValues) return send({ ok: false, need: 'values', threadId, item: task.item });
  try {
    const { def, state } = await nodeState(task.node);
    const value = await def.process(task.item, spec.params, { state, index: task.index });
    return send({ ok: true, value, threadId, hasValues });
  } catch (error) {
    return send({ ok: false, error: serializeError(error), threadId, hasValues, item: task.item });
  }
}

async function runCallTask(task) {
  try {
    const fn = await exportOf(task.modulePath, task.exportName);
    // internal: becomes NodeFailed on the main thread (see the top).
    if (typeof fn !== 'function') throw new Error(`${task.modulePath}: export '${task.exportName}' is not a function`);
    return send({ ok: true, value: await fn(task.arg), threadId });
  } catch (error) {
    return send({ ok: false, error: serializeError(error), threadId });
  }
}

// The pool hands each thread up to two tasks at once (the next waits in the thread's port, ready
// when the current one ends); they still run one after another, so a worker node's process() never
// overlaps itself on a thread, even when it awaits.
let running = Promise.resolve();

export default function handle(task) {
  const result = running.then(() => dispatch(task));
  running = result.catch(() => {});
  return result;
}

function dispatch(task) {
  switch (task.kind) {
    case 'node':
      return runNodeTask(task);
    case 'call':
      return runCallTask(task);
    case 'ping':
      return { ok: true, value: threadId, threadId };
    default:
      // internal: becomes NodeFailed on the main thread (see the top).
      throw new Error(`unknown pool task kind '${task.kind}'`);
  }
}
