// Node checks across the graph (NodeDef.checkGraph): once every node's params parse and the edges
// check out, each node that declares one sees the params of the nodes upstream of its inputs, e.g.
// train-step compares the packer's seqLen with its model's context. The framework knows no
// domain: it only walks edges and turns the issues into ConfigIssues at the named param.
import type { ConfigIssue } from '../util/config-issue.ts';
import { breadthFirst } from './graph.ts';
import type { GraphView, NodeDef } from './node.ts';
import type { EdgeRef } from './resolved.ts';

export interface CheckedNode {
  name: string;
  def: NodeDef;
  params: unknown;
}

export async function graphIssues(nodes: CheckedNode[], from: Map<string, Record<string, EdgeRef>>): Promise<ConfigIssue[]> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const issues: ConfigIssue[] = [];
  for (const n of nodes) {
    if (!n.def.checkGraph) continue;
    const view: GraphView = {
      upstream(port) {
        const start = [from.get(n.name)?.[port]?.node].filter((x): x is string => x !== undefined);
        const names = breadthFirst(start, (name) => Object.values(from.get(name) ?? {}).map((e) => e.node), (name) => byName.has(name));
        return names.map((name) => ({ name, type: byName.get(name)!.def.name, params: byName.get(name)!.params }));
      },
    };
    for (const i of await n.def.checkGraph(n.params, view)) {
      issues.push({ severity: i.severity ?? 'error', code: 'graph-check', message: i.message, path: ['nodes', i.node, 'with', ...i.at] });
    }
  }
  return issues;
}
