// Walks a node's params schema next to its parsed params: the loader finds the params declared
// with pathParam({mustExist}) (input-paths.ts) and runPath() (run-paths.ts) this way.
import type { z } from 'zod';
import { unwrap } from './issues.ts';

export type ParamPath = Array<string | number>;
type Def = { type: string; [k: string]: any };
const def = (s: z.core.$ZodType): Def => (s as any)._zod.def as Def;

/**
 * Calls `visit` for each (unwrapped) schema and its value, depth first in schema order; when
 * `visit` returns true the walk does not descend there. `parent`: the object holding the value.
 */
export function walkParams(
  schema: z.core.$ZodType,
  value: unknown,
  visit: (s: z.core.$ZodType, value: unknown, at: ParamPath, parent: Record<string, unknown> | undefined) => boolean,
  at: ParamPath = [],
  parent?: Record<string, unknown>,
): void {
  const s = unwrap(schema);
  if (visit(s, value, at, parent)) return;
  const d = def(s);
  if (d.type === 'object' && value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const [k, sub] of Object.entries<z.core.$ZodType>(d.shape)) walkParams(sub, obj[k], visit, [...at, k], obj);
  } else if (d.type === 'array' && Array.isArray(value)) {
    value.forEach((v, i) => walkParams(d.element, v, visit, [...at, i], parent));
  } else if (d.type === 'record' && value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkParams(d.valueType, v, visit, [...at, k], parent);
  } else if (d.type === 'union') {
    // Only the option whose shape fits the value finds anything (a string, or a list of them).
    for (const option of d.options) walkParams(option, value, visit, at, parent);
  }
}
