// The DAG of a pipeline, from each node's `from:`. Checks every edge against the ports the
// node definitions declare (names, stream vs value, item kind), finds missing inputs, cycles
// and unused outputs, and gives a topological order.
// Issues carry field paths only; load.ts turns paths into file:line:column.
import type { ConfigIssue } from '../util/config-issue.ts';
import type { NodeDef, PortSpec } from './node.ts';
import type { EdgeRef, ResolvedPipeline } from './resolved.ts';
import { parseEdgeRef, type NodeSpec } from './schema.ts';
import { didYouMean, hint } from './suggest.ts';

export interface GraphNode {
  name: string;
  /** Undefined when the node's module failed to load: its ports are then not checked. */
  def?: NodeDef;
  from?: NodeSpec['from'];
}

export interface Graph {
  /** node -> input port -> the output feeding it (only edges that check out). */
  from: Map<string, Record<string, EdgeRef>>;
  /** Node names in topological order (file order among independent nodes); partial when there is a cycle. */
  order: string[];
  issues: ConfigIssue[];
}

const err = (code: string, message: string, path: Array<string | number>, suggestion?: string): ConfigIssue => ({
  severity: 'error',
  code,
  message,
  path,
  suggestion,
});

const list = (xs: string[]): string => (xs.length ? xs.join(', ') : 'none');
const kindWord = (p: PortSpec): string => (p.kind === 'value' ? 'a value' : 'a stream');

export function buildGraph(nodes: GraphNode[]): Graph {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const issues: ConfigIssue[] = [];
  const from = new Map<string, Record<string, EdgeRef>>();
  /** producer -> consumers, by node name only (for cycles and order, even where ports are unknown). */
  const succ = new Map<string, Set<string>>(nodes.map((n) => [n.name, new Set<string>()]));
  const used = new Set<string>(); // 'node.output'

  for (const n of nodes) {
    const edges: Record<string, EdgeRef> = {};
    from.set(n.name, edges);
    const inputs = n.def ? Object.keys(n.def.inputs) : undefined;
    let wanted: Array<{ input?: string; ref: string; path: Array<string | number> }> = [];
    const fromPath = ['nodes', n.name, 'from'];
    if (typeof n.from === 'string') {
      if (inputs && inputs.length === 0) issues.push(err('unknown-input', `node '${n.name}' takes no inputs`, fromPath));
      else if (inputs && inputs.length > 1)
        issues.push(err('ambiguous-input', `node '${n.name}' has inputs ${list(inputs)}: give a map, from: {${inputs[0]}: ..., ...}`, fromPath));
      else wanted = [{ input: inputs?.[0], ref: n.from, path: fromPath }];
    } else if (n.from) {
      for (const [input, ref] of Object.entries(n.from)) {
        if (inputs && !inputs.includes(input)) {
          const s = didYouMean(input, inputs);
          issues.push(err('unknown-input', `node '${n.name}' has no input '${input}'${hint(s)}; its inputs: ${list(inputs)}`, [...fromPath, input], s));
        } else wanted.push({ input, ref, path: [...fromPath, input] });
      }
    }

    for (const w of wanted) {
      const r = parseEdgeRef(w.ref);
      const src = byName.get(r.node);
      if (!src) {
        const s = didYouMean(r.node, byName.keys());
        issues.push(err('unknown-ref', `unknown node '${r.node}'${hint(s)}`, w.path, s));
        continue;
      }
      succ.get(src.name)!.add(n.name);
      if (!src.def) continue;
      const outs = Object.keys(src.def.outputs);
      if (!n.def || w.input === undefined) {
        // The consumer's ports are unknown (its module failed): count the output as used
        // anyway, so its failure does not also raise "unused output" warnings upstream.
        (r.output ? [r.output] : outs).forEach((o) => used.add(`${src.name}.${o}`));
        continue;
      }
      let output = r.output;
      if (output === undefined) {
        if (outs.length === 1) output = outs[0];
        else {
          const why = outs.length === 0 ? `node '${src.name}' has no outputs` : `node '${src.name}' has several outputs (${list(outs)}): write '${src.name}.${outs[0]}'`;
          issues.push(err(outs.length === 0 ? 'unknown-output' : 'ambiguous-output', why, w.path));
          continue;
        }
      } else if (!outs.includes(output)) {
        const s = didYouMean(output, outs);
        issues.push(err('unknown-output', `node '${src.name}' has no output '${output}'${hint(s)}; its outputs: ${list(outs)}`, w.path, s));
        continue;
      }
      used.add(`${src.name}.${output}`);
      const out = src.def.outputs[output];
      const inp = n.def.inputs[w.input];
      const edge = `'${src.name}.${output}'`;
      if (out.kind !== inp.kind) {
        issues.push(err('kind-mismatch', `input '${w.input}' of node '${n.name}' takes ${kindWord(inp)}, but ${edge} is ${kindWord(out)}`, w.path));
      } else if (out.item !== inp.item && out.item !== '*' && inp.item !== '*') {
        issues.push(err('item-mismatch', `input '${w.input}' of node '${n.name}' takes '${inp.item}' items, but ${edge} gives '${out.item}'`, w.path));
      } else {
        edges[w.input] = { node: src.name, output };
      }
    }
  }

  for (const n of nodes) {
    if (!n.def) continue;
    const connected = new Set<string>();
    // A string `from:` on a multi-input node was reported above; do not pile missing inputs on it.
    if (typeof n.from === 'string') Object.keys(n.def.inputs).forEach((i) => connected.add(i));
    else if (n.from) Object.keys(n.from).forEach((i) => connected.add(i));
    for (const [input, spec] of Object.entries(n.def.inputs)) {
      if (!spec.optional && !connected.has(input))
        issues.push(err('missing-input', `required input '${input}' of node '${n.name}' is not connected (from: ...)`, ['nodes', n.name]));
    }
    for (const output of Object.keys(n.def.outputs)) {
      if (!used.has(`${n.name}.${output}`))
        issues.push({ severity: 'warning', code: 'unused-output', message: `output '${output}' of node '${n.name}' is not used by any node`, path: ['nodes', n.name] });
    }
  }

  const fileIndex = new Map(nodes.map((n, i) => [n.name, i]));
  issues.push(...findCycles(nodes.map((n) => n.name), succ, fileIndex));
  return { from, order: topoOrder(nodes.map((n) => n.name), succ, fileIndex), issues };
}

/** Each distinct cycle once, named in data-flow order from its first node in the file: `a -> b -> c -> a`. */
function findCycles(names: string[], succ: Map<string, Set<string>>, fileIndex: Map<string, number>): ConfigIssue[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  const visit = (v: string): void => {
    state.set(v, 'open');
    stack.push(v);
    for (const w of succ.get(v) ?? []) {
      if (state.get(w) === 'open') {
        const cycle = stack.slice(stack.indexOf(w));
        const start = cycle.reduce((a, b) => (fileIndex.get(a)! <= fileIndex.get(b)! ? a : b));
        const rotated = [...cycle.slice(cycle.indexOf(start)), ...cycle.slice(0, cycle.indexOf(start))];
        const key = [...rotated].sort().join('\0');
        if (!seen.has(key)) {
          seen.add(key);
          issues.push(err('cycle', `cycle: ${[...rotated, start].join(' -> ')}`, ['nodes', start, 'from']));
        }
      } else if (!state.has(w)) visit(w);
    }
    stack.pop();
    state.set(v, 'done');
  };
  for (const n of names) if (!state.has(n)) visit(n);
  return issues;
}

/** Kahn's algorithm; among ready nodes the one earliest in the file goes first, so the order is stable. */
function topoOrder(names: string[], succ: Map<string, Set<string>>, fileIndex: Map<string, number>): string[] {
  const indeg = new Map(names.map((n) => [n, 0]));
  for (const ws of succ.values()) for (const w of ws) indeg.set(w, indeg.get(w)! + 1);
  const ready = names.filter((n) => indeg.get(n) === 0);
  const order: string[] = [];
  while (ready.length) {
    ready.sort((a, b) => fileIndex.get(a)! - fileIndex.get(b)!);
    const v = ready.shift()!;
    order.push(v);
    for (const w of succ.get(v)!) {
      indeg.set(w, indeg.get(w)! - 1);
      if (indeg.get(w) === 0) ready.push(w);
    }
  }
  return order;
}

/** Mermaid flowchart text: worker nodes as subroutine boxes, value edges dotted. */
export function toMermaid(p: ResolvedPipeline): string {
  const id = new Map(p.nodes.map((n, i) => [n.name, `n${i}`]));
  const esc = (s: string): string => s.replace(/"/g, '#quot;');
  const lines = ['flowchart LR'];
  for (const n of p.nodes) {
    const label = esc(`${n.name}<br/><small>${n.def.name}</small>`);
    lines.push(n.def.placement === 'worker' ? `  ${id.get(n.name)}[["${label}"]]` : `  ${id.get(n.name)}["${label}"]`);
  }
  for (const n of p.nodes) {
    for (const [input, ref] of Object.entries(n.from)) {
      const src = p.nodes.find((m) => m.name === ref.node)!;
      const port = src.def.outputs[ref.output];
      const label = esc(ref.output === input ? `${input}: ${port.item}` : `${ref.output} → ${input}: ${port.item}`);
      const arrow = port.kind === 'value' ? `-. "${label}" .->` : `-- "${label}" -->`;
      lines.push(`  ${id.get(ref.node)} ${arrow} ${id.get(n.name)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/**
 * The nodes reached from `start` through `next`, nearest first, each once (a DAG may reach one by two paths);
 * names `known` rejects are passed over. Upstream at load (graph-checks.ts) and downstream at run time (executor.ts).
 */
export function breadthFirst(start: string[], next: (name: string) => string[], known: (name: string) => boolean): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let frontier = start;
  while (frontier.length) {
    const following: string[] = [];
    for (const name of frontier) {
      if (seen.has(name) || !known(name)) continue;
      seen.add(name);
      out.push(name);
      following.push(...next(name));
    }
    frontier = following;
  }
  return out;
}
