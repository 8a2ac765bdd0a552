// Special tokens a chat template needs. A template prints its turn markers as string literals
// ('<|im_start|>' + message.role ...); those markers must be single added tokens (special,
// unnormalized) or the rendered chat re-tokenizes into fragments. We parse the template with
// @huggingface/jinja (the engine transformers.js renders with) and collect the marker-shaped
// substrings of the literals it can print. Markers built at runtime ('<|' + role + '|>') cannot be
// found this way: the known families list theirs explicitly.
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import type { TokenCandidate } from './items.ts';
import { TemplateInvalid } from '../errors.ts';

export interface TemplateFamily {
  description: string;
  /** Markers the format needs, in the order they appear in a chat. */
  markers: Array<{ content: string; special: boolean }>;
  template: string;
}

const sp = (content: string) => ({ content, special: true });

export const FAMILIES: Record<string, TemplateFamily> = {
  chatml: {
    description: 'ChatML (Qwen, many fine-tunes): <|im_start|>role\\n...<|im_end|>',
    markers: [sp('<|im_start|>'), sp('<|im_end|>')],
    template:
      "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  },
  llama3: {
    description: 'Llama 3 headers: <|start_header_id|>role<|end_header_id|>\\n\\n...<|eot_id|>',
    markers: [sp('<|begin_of_text|>'), sp('<|start_header_id|>'), sp('<|end_header_id|>'), sp('<|eot_id|>')],
    template:
      "{{ '<|begin_of_text|>' }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
  },
  zephyr: {
    description: 'Zephyr: <|system|> / <|user|> / <|assistant|> turns ended by the EOS token',
    markers: [sp('<|system|>'), sp('<|user|>'), sp('<|assistant|>')],
    template:
      "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
  },
};

export interface MarkerOptions {
  /** Also take XML-like tags ('<think>', '</tool_call>') as normal (non-special) tokens. Default false. */
  tags?: boolean;
}

/** Parses, or throws TemplateInvalid naming `source` with the parser's message. */
export function parseTemplate(text: string, source: string): Template {
  if (typeof text !== 'string' || text.trim() === '') throw new TemplateInvalid(source, 'the template is empty');
  try {
    return new Template(text);
  } catch (e) {
    // The parser reports a missing {% endfor %} / {% endif %} as a TypeError from running past the end.
    const detail = e instanceof SyntaxError ? (e as Error).message : `unexpected end of template (a {% for %} or {% if %} block left open?): ${(e as Error).message}`;
    throw new TemplateInvalid(source, `does not parse: ${detail}`, { cause: e });
  }
}

/** A pipeline's template file param, checked before the run: it must parse (a `pathParam` check). */
export function checkTemplateFile(file: string): void {
  parseTemplate(readFileSync(file, 'utf8'), file);
}

const SPECIAL_RE = /<\|[^|<>\s]+\|>/g;
const TAG_RE = /<\/?[A-Za-z_][A-Za-z0-9_-]*>/g;
const COMPARISONS = new Set(['==', '!=', 'in', 'not in', '<', '>', '<=', '>=']);

/** Marker strings the template prints, in order of first appearance. */
export function templateMarkers(text: string, source: string, opts: MarkerOptions = {}): Array<{ content: string; special: boolean }> {
  const parsed = parseTemplate(text, source).parsed;
  const literals: string[] = [];
  walk(parsed, literals);
  const seen = new Map<string, boolean>();
  for (const lit of literals) {
    const found: Array<[number, string, boolean]> = [];
    for (const m of lit.matchAll(SPECIAL_RE)) found.push([m.index!, m[0], true]);
    if (opts.tags) for (const m of lit.matchAll(TAG_RE)) found.push([m.index!, m[0], false]);
    found.sort((a, b) => a[0] - b[0]);
    for (const [, content, special] of found) if (!seen.has(content)) seen.set(content, special);
  }
  return [...seen].map(([content, special]) => ({ content, special }));
}

/**
 * Depth-first in source order. Literals only compared against (`role == 'system'`) or passed to
 * raise_exception are never printed, so they are skipped.
 */
function walk(node: unknown, out: string[]): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach((n) => walk(n, out));
  if (node instanceof Map) {
    for (const [k, v] of node) {
      walk(k, out);
      walk(v, out);
    }
    return;
  }
  const n = node as Record<string, any>;
  if (n.type === 'StringLiteral' && typeof n.value === 'string') return void out.push(n.value);
  if (n.type === 'BinaryExpression' && COMPARISONS.has(n.operator?.value)) return;
  if (n.type === 'CallExpression' && n.callee?.type === 'Identifier' && n.callee.value === 'raise_exception') return;
  if (n.type === 'Comment') return;
  for (const key of Object.keys(n)) if (key !== 'type') walk(n[key], out);
}

export interface TemplateSource {
  /** Inline template text. */
  template?: string;
  /** Path of a .jinja file. */
  templateFile?: string;
  /** A known family name (see FAMILIES). */
  family?: string;
}

/**
 * Candidates for one template source, origin 'template'. A family contributes its declared
 * markers plus whatever its template prints (the same set for the built-in ones).
 */
export function templateCandidates(src: TemplateSource, opts: MarkerOptions = {}): TokenCandidate[] {
  const out: Array<{ content: string; special: boolean }> = [];
  if (src.family !== undefined) {
    const fam = FAMILIES[src.family];
    if (!fam) throw new TemplateInvalid(`family '${src.family}'`, `unknown family; known: ${Object.keys(FAMILIES).join(', ')}`);
    out.push(...fam.markers, ...templateMarkers(fam.template, `family '${src.family}'`, opts));
  }
  if (src.templateFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(src.templateFile, 'utf8');
    } catch (e) {
      throw new TemplateInvalid(src.templateFile, `cannot read: ${(e as Error).message}`, { cause: e });
    }
    out.push(...templateMarkers(text, src.templateFile, opts));
  }
  if (src.template !== undefined) out.push(...templateMarkers(src.template, 'inline template', opts));
  const seen = new Set<string>();
  return out
    .filter((m) => !seen.has(m.content) && seen.add(m.content))
    .map((m) => ({ content: m.content, special: m.special, origin: 'template' as const }));
}
