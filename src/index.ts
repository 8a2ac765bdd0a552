// Public API of the tokenpipe package.
export { defineNode } from './pipeline/node.ts';
export type { NodeDef, MainNodeDef, WorkerNodeDef, PortSpec, MainContext, WorkerContext } from './pipeline/node.ts';
export * from './errors.ts';
