// pipe nodes [NAME ...]: the built-in nodes, their ports and params (types, defaults and
// descriptions read from each node's zod schema through zod's JSON Schema output), and the
// item kinds their ports carry (from the kind registry, src/pipeline/kinds.ts).
import { z } from 'zod';
import { itemKind, itemKinds, type ItemKind } from '../pipeline/kinds.ts';
import { isOperatorNode, type NodeDef, type Ports } from '../pipeline/node.ts';
import { listBuiltinNodes, loadBuiltinKinds, type BuiltinEntry } from '../pipeline/registry.ts';
import { didYouMean, hint } from '../pipeline/suggest.ts';
import { defineCommand, EXIT } from './command.ts';

export interface ParamInfo {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description?: string;
}

type JsonSchema = { type?: string | string[]; enum?: unknown[]; items?: JsonSchema; anyOf?: JsonSchema[]; const?: unknown; [k: string]: unknown };

function typeOf(s: JsonSchema | undefined): string {
  if (!s) return 'any';
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join('|');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf) return s.anyOf.map(typeOf).join('|');
  if (s.type === 'array') return `${typeOf(s.items)}[]`;
  if (Array.isArray(s.type)) return s.type.join('|');
  return s.type ?? 'any';
}

/** Top-level params of a node, from its schema (empty when the schema is not an object). */
export function describeParams(def: NodeDef): ParamInfo[] {
  let js: JsonSchema & { properties?: Record<string, JsonSchema>; required?: string[] };
  try {
    js = z.toJSONSchema(def.params, { io: 'input', unrepresentable: 'any' }) as typeof js;
  } catch {
    return [];
  }
  return Object.entries(js.properties ?? {}).map(([name, p]) => ({
    name,
    type: typeOf(p),
    required: (js.required ?? []).includes(name),
    default: p.default,
    description: typeof p.description === 'string' ? p.description : undefined,
  }));
}

const ports = (p: Ports): string =>
  Object.entries(p).map(([k, s]) => `${k}: ${s.kind}<${s.item}>${s.optional ? '?' : ''}`).join(', ') || 'none';

/** The registered kinds the nodes' ports name, by name. */
function kindsOf(defs: NodeDef[]): ItemKind[] {
  const names = new Set(defs.flatMap((d) => [...Object.values(d.inputs), ...Object.values(d.outputs)].map((p) => p.item)));
  return [...names].sort().flatMap((n) => itemKind(n) ?? []);
}

function renderKinds(kinds: ItemKind[]): string {
  if (kinds.length === 0) return '';
  const w = Math.max(...kinds.map((k) => k.name.length));
  return ['item kinds:', ...kinds.map((k) => `  ${k.name.padEnd(w)}  ${k.description}`), ''].join('\n');
}

/** --items: every registered kind with its fields, and what a node may do with items. */
function renderItemKinds(kinds: ItemKind[]): string {
  const blocks = kinds.map((k) => {
    const fields = Object.entries(k.fields ?? {});
    const w = Math.max(0, ...fields.map(([f]) => f.length));
    return [`${k.name}`, `  ${k.description}`, ...fields.map(([f, d]) => `    ${f.padEnd(w)}  ${d}`), ''].join('\n');
  });
  return [
    ...blocks,
    "A port may also name any other string (items are then `unknown` to TypeScript) or '*' (any kind).",
    "A worker node's process(item) returns the item to emit; returning undefined drops the item (a filter).",
    'A main node yields what it emits from the async iterables run() returns; an operator node maps in$ to out$.',
    '',
  ].join('\n');
}

/** A port for --json, with its kind's description when the kind is registered. */
const portJson = (p: Ports) =>
  Object.fromEntries(Object.entries(p).map(([k, s]) => {
    const kind = itemKind(s.item);
    return [k, kind ? { ...s, itemDescription: kind.description } : s];
  }));

function render(e: BuiltinEntry): string {
  if (!e.def) return `${e.name}\n  error: cannot load ${e.file}: ${e.error}\n`;
  const d = e.def;
  const params = describeParams(d);
  const rows = params.map((p) => [p.name, p.type, p.required ? 'required' : p.default === undefined ? '' : `default ${JSON.stringify(p.default)}`, p.description ?? '']);
  const widths = [0, 1, 2].map((c) => Math.max(0, ...rows.map((r) => r[c].length)));
  return [
    `${d.name}  (${d.placement}${isOperatorNode(d) ? ', operator' : ''}${d.canReject ? ', can reject' : ''})  ${d.description}`,
    `  inputs:  ${ports(d.inputs)}`,
    `  outputs: ${ports(d.outputs)}`,
    params.length ? '  params:' : '  params:  none',
    ...rows.map((r) => `    ${r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ')}`.trimEnd()),
    ...(e.warning ? [`  warning: ${e.warning}`] : []),
    '',
  ].join('\n');
}

export default defineCommand({
  usage: '[NAME ...] [--items] [--json]',
  description: "Every file nodes/<name>.ts is a built-in node usable as 'use: <name>'. A module that fails to\nload is listed with its error; the others are still shown.",
  options: {
    json: { type: 'boolean', description: 'print as JSON' },
    items: { type: 'boolean', description: 'the item kinds nodes pass (document, batch, train-state, ...) with their fields' },
  },
  async run({ values, positionals }, io) {
    if (values.items) {
      await loadBuiltinKinds();
      const kinds = itemKinds();
      io.out(values.json ? JSON.stringify(kinds, null, 2) : renderItemKinds(kinds));
      return EXIT.ok;
    }
    let entries = await listBuiltinNodes();
    if (positionals.length) {
      const unknown = positionals.filter((n) => !entries.some((e) => e.name === n));
      for (const n of unknown) io.err(`pipe nodes: no built-in node '${n}'${hint(didYouMean(n, entries.map((e) => e.name)))}`);
      if (unknown.length) return EXIT.usage;
      entries = entries.filter((e) => positionals.includes(e.name));
    }
    if (values.json) {
      const out = entries.map((e) =>
        e.def
          ? { name: e.name, placement: e.def.placement, description: e.def.description, canReject: !!e.def.canReject, inputs: portJson(e.def.inputs), outputs: portJson(e.def.outputs), params: describeParams(e.def), warning: e.warning }
          : { name: e.name, error: e.error },
      );
      io.out(JSON.stringify(out, null, 2));
    } else {
      const kinds = renderKinds(kindsOf(entries.flatMap((e) => e.def ?? [])));
      io.out(entries.length ? [...entries.map(render), ...(kinds ? [kinds] : [])].join('\n') : 'no built-in nodes found');
    }
    return entries.some((e) => !e.def) ? EXIT.failed : EXIT.ok;
  },
});
