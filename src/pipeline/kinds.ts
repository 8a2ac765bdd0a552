// Item kinds: the names ports give to what flows on an edge ('document', 'batch', 'train-state',
// ...). The framework knows no domain: it keeps the registry; a kind is
// registered by whoever owns it. The built-in kinds are declared by the library modules that
// produce them and registered, with their TypeScript types, in nodes/_kinds.ts, where the
// framework meets the library (the loader imports that file before it checks a graph, so a
// pipeline of user nodes is checked against the built-in kinds too).
//
// A port made with stream(KIND) or value(KIND) carries the kind's TypeScript type, which
// defineNode turns into the types of run()'s inputs and outputs. A port that names its item with
// a plain string (`item: 'text-line'`) works as before: its items are `unknown` to TypeScript,
// and a name nobody registered is simply matched by name.
import type { PortSpec } from './node.ts';

/** A kind as its owner declares it (the library needs no framework type to write one). */
export interface ItemKindSpec {
  /** The name ports use, and pipeline files and `pipe nodes` show. */
  name: string;
  /** One line for `pipe nodes`. */
  description: string;
  /** The fields of an item, name -> one line (`pipe nodes --items`): what a custom node reads and emits. */
  fields?: Record<string, string>;
}

export interface ItemKind<T = unknown> {
  readonly name: string;
  readonly description: string;
  readonly fields?: Readonly<Record<string, string>>;
  /** Type only, never set: the TypeScript type of the items. */
  readonly itemType?: T;
}

const registry = new Map<string, ItemKind>();

/**
 * Registers a kind, or returns the one already registered under that name (a module imported
 * twice registers twice).
 */
export function registerItemKind<T>(spec: ItemKindSpec): ItemKind<T> {
  const known = registry.get(spec.name);
  if (known) return known as ItemKind<T>;
  const kind: ItemKind<T> = Object.freeze({ name: spec.name, description: spec.description, ...(spec.fields ? { fields: { ...spec.fields } } : {}) });
  registry.set(spec.name, kind);
  return kind;
}

/** The registered kind of that name, if any ('*' and unregistered names have none). */
export function itemKind(name: string): ItemKind | undefined {
  return registry.get(name);
}

/** Every registered kind, by name. */
export function itemKinds(): ItemKind[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A PortSpec<T> whose `optional` is whatever the options said (absent: a required input). */
type TypedPort<K extends PortSpec['kind'], T> = { kind: K; item: string; readonly itemType?: T };

interface PortOptions {
  description?: string;
  optional?: boolean;
}

// NoInfer: O comes from the options given, never from the port type a caller expects (that
// would be PortSpec<any>, and erase T).

/** A stream port of a registered kind: `inputs: { docs: stream(DOCUMENT) }`. */
export function stream<T, const O extends PortOptions = {}>(kind: ItemKind<T>, opts?: O): TypedPort<'stream', T> & NoInfer<O> {
  return { kind: 'stream', item: kind.name, ...(opts as O) };
}

/** A value port (one artifact) of a registered kind: `inputs: { tokenizer: value(TOKENIZER) }`. */
export function value<T, const O extends PortOptions = {}>(kind: ItemKind<T>, opts?: O): TypedPort<'value', T> & NoInfer<O> {
  return { kind: 'value', item: kind.name, ...(opts as O) };
}
