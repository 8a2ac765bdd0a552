// What a run folder records about the run itself, so that `--resume` can check it continues
// the same run:
//   pipeline.json  the resolved pipeline of the FIRST leg (every node, edge and param with its
//                  default, and a fingerprint of every input path and user module); a resumed
//                  leg never rewrites it
//   legs.jsonl     one line when a leg starts (its --set overrides, and the changes it was
//                  allowed with --resume-changed) and one when it ends (its status); append-only,
//                  so a leg killed mid-way leaves the earlier lines intact
// A resume compares the pipeline it would run now with pipeline.json, field by field.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { appendSync } from '../io/append.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomicSync } from '../io/atomic.ts';
import { jsonSafe } from './events.ts';
import { fingerprintOf, inputPaths } from './input-paths.ts';
import { BUILTIN_DIR } from './registry.ts';
import type { ResolvedPipeline } from './resolved.ts';

export interface NodeRecord {
  name: string;
  use: string;
  placement: 'main' | 'worker';
  module: string;
  export: string;
  params: unknown;
  from: Record<string, { node: string; output: string }>;
  onError: 'fail' | 'reject';
}

export interface PipelineRecord {
  name: string;
  file: string;
  settings: ResolvedPipeline['settings'];
  nodes: NodeRecord[];
  /** `<node>.<param path>` of every input path, and `<node>.module` of every user module: their fingerprint. */
  inputs: Record<string, string>;
}

/** The resolved pipeline without functions and schemas, with its inputs' fingerprints: what ran. */
export async function pipelineRecord(p: ResolvedPipeline): Promise<PipelineRecord> {
  const inputs: Record<string, string> = {};
  for (const n of p.nodes) {
    // A user's node is part of the run: its code is compared too (built-ins go by their name).
    const module = n.modulePath.startsWith('file:') ? fileURLToPath(n.modulePath) : path.resolve(n.modulePath);
    if (!module.startsWith(BUILTIN_DIR) && existsSync(module)) {
      inputs[`${n.name}.module`] = `sha256 ${createHash('sha256').update(readFileSync(module)).digest('hex').slice(0, 16)}`;
    }
    for (const ip of inputPaths(n.def.params, n.params, path.dirname(p.file))) {
      if (ip.spec.fingerprint === false) continue;
      inputs[`${n.name}.${formatAt(ip.at)}`] = await fingerprintOf(ip);
    }
  }
  return {
    name: p.name,
    file: p.file,
    settings: p.settings,
    nodes: p.nodes.map((n) => ({
      name: n.name, use: n.def.name, placement: n.def.placement, module: n.modulePath, export: n.exportName,
      params: n.params, from: n.from, onError: n.onError,
    })),
    inputs,
  };
}

const formatAt = (at: Array<string | number>) => at.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');

export function writePipelineRecord(runDir: string, r: PipelineRecord): void {
  writeFileAtomicSync(path.join(runDir, 'pipeline.json'), JSON.stringify(r, jsonSafe, 2) + '\n', { fsync: false });
}

export function readPipelineRecord(runDir: string): PipelineRecord | undefined {
  const f = path.join(runDir, 'pipeline.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as PipelineRecord) : undefined;
}

// --- the comparison -------------------------------------------------------------------------

export interface FieldChange {
  /** `nodes.pack.with.seqLen`, `settings.seed`, `inputs.corpus.paths[0]`, ... */
  field: string;
  /** As in the first leg; undefined: absent there. */
  first?: string;
  now?: string;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Leaves of a value under `prefix`; arrays are compared whole (a list of modules is one field). */
function leaves(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) out.set(prefix, '{}');
    for (const [k, x] of entries) leaves(x, `${prefix}.${k}`, out);
  } else if (v !== undefined) out.set(prefix, show(v));
}

/** The fields a resume compares, named as in the pipeline file: `nodes.<name>.with.<param>`. */
function fields(r: PipelineRecord): Map<string, string> {
  const out = new Map<string, string>();
  out.set('name', r.name);
  out.set('file', r.file);
  leaves(r.settings, 'settings', out);
  for (const n of r.nodes) {
    out.set(`nodes.${n.name}.use`, n.use);
    if (n.export !== 'default') out.set(`nodes.${n.name}.export`, n.export);
    leaves(n.params, `nodes.${n.name}.with`, out);
    for (const [input, ref] of Object.entries(n.from)) out.set(`nodes.${n.name}.from.${input}`, `${ref.node}.${ref.output}`);
    out.set(`nodes.${n.name}.onError`, n.onError);
  }
  for (const [k, v] of Object.entries(r.inputs ?? {})) out.set(`inputs.${k}`, v);
  return out;
}

/** Every field that differs between the first leg and now; a node only one side has is one change. */
export function pipelineChanges(first: PipelineRecord, now: PipelineRecord): FieldChange[] {
  const a = fields(first);
  const b = fields(now);
  // A run folder from before inputs were recorded: compare what it has.
  if (!first.inputs) for (const k of [...b.keys()]) if (k.startsWith('inputs.')) b.delete(k);
  const only = (r: PipelineRecord, other: PipelineRecord) => new Set(r.nodes.map((n) => n.name).filter((n) => !other.nodes.some((m) => m.name === n)));
  const gone = only(first, now);
  const added = only(now, first);
  const nodeOf = (field: string) => /^(?:nodes|inputs)\.([^.[]+)/.exec(field)?.[1] ?? '';
  const changes: FieldChange[] = [];
  for (const n of gone) changes.push({ field: `nodes.${n}`, first: first.nodes.find((m) => m.name === n)!.use });
  for (const n of added) changes.push({ field: `nodes.${n}`, now: now.nodes.find((m) => m.name === n)!.use });
  for (const field of new Set([...a.keys(), ...b.keys()])) {
    if (gone.has(nodeOf(field)) || added.has(nodeOf(field))) continue;
    if (a.get(field) !== b.get(field)) changes.push({ field, first: a.get(field), now: b.get(field) });
  }
  return changes;
}

/** `nodes.pack.with.seqLen: 64 (first leg) → 128 (now)` */
export function formatChange(c: FieldChange): string {
  return `${c.field}: ${c.first ?? '(absent)'} (first leg) → ${c.now ?? '(absent)'} (now)`;
}

// --- legs -----------------------------------------------------------------------------------

export interface Leg {
  leg: number;
  started: string;
  resume: boolean;
  dryRun: boolean;
  overrides?: string[];
  /** Accepted with --resume-changed. */
  changes?: FieldChange[];
  ended?: string;
  status?: 'completed' | 'interrupted' | 'failed';
}

const legsFile = (runDir: string) => path.join(runDir, 'legs.jsonl');

/** The legs of a run folder, each with its start and (if it got there) end folded together. */
export function readLegs(runDir: string): Leg[] {
  if (!existsSync(legsFile(runDir))) return [];
  const legs = new Map<number, Leg>();
  for (const line of readFileSync(legsFile(runDir), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let e: Partial<Leg>;
    try {
      e = JSON.parse(line);
    } catch {
      continue; // a line cut short by a crash
    }
    if (typeof e.leg === 'number') legs.set(e.leg, { ...(legs.get(e.leg) as Leg), ...e } as Leg);
  }
  return [...legs.values()].sort((x, y) => x.leg - y.leg);
}

export function startLeg(runDir: string, o: { resume: boolean; dryRun: boolean; overrides?: string[]; changes?: FieldChange[] }): number {
  const leg = (readLegs(runDir).at(-1)?.leg ?? 0) + 1;
  const line: Leg = { leg, started: new Date().toISOString(), resume: o.resume, dryRun: o.dryRun };
  if (o.overrides?.length) line.overrides = o.overrides;
  if (o.changes?.length) line.changes = o.changes;
  appendSync(legsFile(runDir), JSON.stringify(line) + '\n');
  return leg;
}

export function endLeg(runDir: string, leg: number, status: NonNullable<Leg['status']>): void {
  appendSync(legsFile(runDir), JSON.stringify({ leg, ended: new Date().toISOString(), status }) + '\n');
}

/** The leg that finished the run: the last leg that trained (not a dry run) completed. */
export function finishedBy(legs: Leg[]): Leg | undefined {
  const last = legs.filter((l) => !l.dryRun).at(-1);
  return last?.status === 'completed' ? last : undefined;
}

export interface ResumeCheck {
  /** Fields that differ from the first leg's pipeline.json. */
  changes: FieldChange[];
  /** Set when the run already completed: there is nothing to continue. */
  finished?: Leg;
}

/** What `--resume` must know before it touches the run folder. */
export async function checkResume(runDir: string, p: ResolvedPipeline): Promise<ResumeCheck> {
  const first = readPipelineRecord(runDir);
  const changes = first ? pipelineChanges(first, await pipelineRecord(p)) : [];
  return { changes, finished: finishedBy(readLegs(runDir)) };
}
