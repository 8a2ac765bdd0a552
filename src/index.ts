// Public API of the tokenpipe package.
export { defineNode } from './pipeline/node.ts';
export { registerItemKind, stream, value } from './pipeline/kinds.ts';
// The zod that validates params, re-exported so a custom node outside this package writes
// `import { defineNode, z } from 'tokenpipe'` and needs no zod of its own.
export { z } from 'zod';
export { pathParam, runPath } from './pipeline/schema.ts';
export type { NodeDef, MainNodeDef, OperatorNodeDef, WorkerNodeDef, PortSpec, MainContext, WorkerContext, ItemOf, InputsOf, OutputsOf } from './pipeline/node.ts';
export type { ItemKind, ItemKindSpec } from './pipeline/kinds.ts';
export * from './errors.ts';
