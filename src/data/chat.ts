// Chat records rendered through the model's chat template, with a loss mask on assistant turns.
//
// How the mask is found without `{% generation %}` support: the conversation is rendered
// twice, once as is (the text we train on) and once with every assistant content replaced
// by a unique sentinel. The sentinel render cuts the template output into the fixed pieces
// around each assistant turn (P0 S0 P1 S1 ... Pn); the real render is then walked piece by
// piece, so an assistant turn is located by the template's own structure, not by searching
// for its words (a short reply like "hi" could also occur in the prompt). Templates that
// trim or otherwise edit the content still work: the content is whatever lies between two
// fixed pieces. The end-of-turn marker that follows a reply (<|im_end|>, <|eot_id|>, </s>, ...)
// is scored with it, so the model learns to stop.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { TemplateInvalid } from '../errors.ts';
import type { Segment } from './items.ts';

export interface ChatTemplateOptions {
  /** Inline Jinja text, or a path to a .jinja file. */
  template?: string;
  /** Model folder: chat_template.jinja, else tokenizer_config.json `chat_template`. */
  modelDir?: string;
  /** For a config holding several named templates. */
  templateName?: string;
}

export interface LoadedTemplate {
  template: string;
  /** tokenizer_config.json of modelDir when given ({} otherwise): special token strings. */
  config: Record<string, unknown>;
  origin: string;
}

export async function loadChatTemplate(opts: ChatTemplateOptions, cwd: string): Promise<LoadedTemplate> {
  let config: Record<string, unknown> = {};
  const dir = opts.modelDir ? path.resolve(cwd, opts.modelDir) : undefined;
  const configFile = dir ? path.join(dir, 'tokenizer_config.json') : undefined;
  if (configFile && existsSync(configFile)) {
    try {
      config = JSON.parse(await readFile(configFile, 'utf8'));
    } catch (e) {
      throw new TemplateInvalid(configFile, `cannot parse: ${(e as Error).message}`, { cause: e });
    }
  }
  if (opts.template !== undefined) {
    const file = path.resolve(cwd, opts.template);
    const isInline = /\{[%{]/.test(opts.template) || !existsSync(file) || !statSync(file).isFile();
    if (isInline) return { template: opts.template, config, origin: 'inline template' };
    return { template: await readFile(file, 'utf8'), config, origin: file };
  }
  if (!dir) throw new TemplateInvalid('chat', "chat format needs 'chatTemplate' or 'modelDir'");
  const jinjaFile = path.join(dir, 'chat_template.jinja');
  if (existsSync(jinjaFile)) return { template: await readFile(jinjaFile, 'utf8'), config, origin: jinjaFile };
  const t = config.chat_template;
  if (typeof t === 'string') return { template: t, config, origin: configFile! };
  if (Array.isArray(t)) {
    const name = opts.templateName ?? 'default';
    const hit = t.find((x) => (x as { name?: string }).name === name) as { template?: string } | undefined;
    if (hit?.template) return { template: hit.template, config, origin: `${configFile} (${name})` };
    throw new TemplateInvalid(configFile!, `no chat template named '${name}'`);
  }
  throw new TemplateInvalid(dir, 'no chat_template.jinja and no chat_template in tokenizer_config.json');
}

/** Strings a template prints right after a reply to end the turn; scored with the reply. */
const END_OF_TURN = ['<|im_end|>', '<|eot_id|>', '<|eom_id|>', '<|end|>', '</s>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>'];

export type RenderResult = { text: string; segments?: Segment[] } | { error: string };

/** Roles every chat template of the family handles; others are rejected unless accepted (ChatRenderer's `roles`). */
export const CHAT_ROLES = ['system', 'user', 'assistant', 'tool'];

/**
 * Roles a template branches on by name (`message['role'] == 'ipython'`, `message.role == "developer"`):
 * it has a rendering for them, so records using them are accepted. A role it never names falls into
 * whatever branch is generic, rendered without a word: that is what the check is for.
 */
export function templateRoles(template: string): string[] {
  const found = new Set<string>();
  for (const m of template.matchAll(/role['"]?\]?\s*(?:==|!=)\s*['"]([^'"]+)['"]/g)) found.add(m[1]);
  for (const m of template.matchAll(/['"]([^'"]+)['"]\s*(?:==|!=)\s*[\w.]*\[?['"]?role\b/g)) found.add(m[1]);
  return [...found];
}

export class ChatRenderer {
  private readonly tpl: Template;
  private readonly specials: Record<string, string>;
  private readonly endOfTurn: string[];
  /** Roles a message may have: CHAT_ROLES, the roles the template names, and the user's extra ones. */
  readonly roles: Set<string>;

  constructor(
    loaded: LoadedTemplate,
    private readonly lossOn: 'assistant' | 'all',
    extraEndOfTurn: string[] = [],
    extraRoles: string[] = [],
  ) {
    this.roles = new Set([...CHAT_ROLES, ...templateRoles(loaded.template), ...extraRoles]);
    try {
      this.tpl = new Template(loaded.template);
    } catch (e) {
      throw new TemplateInvalid(loaded.origin, (e as Error).message, { cause: e });
    }
    this.specials = {};
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const s = tokenString(loaded.config[k]);
      if (s !== undefined) this.specials[k] = s;
    }
    const eos = this.specials.eos_token;
    // Longest first, so '<|endoftext|>' is not cut short by a shorter marker.
    this.endOfTurn = [...new Set([...(eos ? [eos] : []), ...extraEndOfTurn, ...END_OF_TURN])].sort((a, b) => b.length - a.length);
  }

  render(messagesIn: unknown): RenderResult {
    const messages = checkMessages(messagesIn, this.roles);
    if (typeof messages === 'string') return { error: messages };
    let text: string;
    try {
      text = this.tpl.render({ ...this.specials, messages, add_generation_prompt: false });
    } catch (e) {
      return { error: `chat template failed: ${(e as Error).message}` };
    }
    if (this.lossOn === 'all') return { text };
    const assistant = messages.map((m, i) => (m.role === 'assistant' ? i : -1)).filter((i) => i >= 0);
    if (assistant.length === 0) return { error: 'no assistant message to score' };
    const sentinels = assistant.map((_, k) => `\uE000${k}\uE001`);
    const masked = messages.map((m) => ({ ...m }));
    assistant.forEach((i, k) => (masked[i].content = sentinels[k]));
    let sentinelText: string;
    try {
      sentinelText = this.tpl.render({ ...this.specials, messages: masked, add_generation_prompt: false });
    } catch (e) {
      return { error: `chat template failed: ${(e as Error).message}` };
    }
    const segments = this.align(text, sentinelText, sentinels, assistant.map((i) => messages[i].content as string));
    return typeof segments === 'string' ? { error: segments } : { text, segments };
  }

  /** Walks the real render along the fixed pieces of the sentinel render. */
  private align(text: string, sentinelText: string, sentinels: string[], contents: string[]): Segment[] | string {
    const pieces: string[] = [];
    let rest = sentinelText;
    for (const s of sentinels) {
      const at = rest.indexOf(s);
      if (at < 0 || rest.indexOf(s, at + s.length) >= 0) return 'chat template does not print each assistant message exactly once: cannot mask';
      pieces.push(rest.slice(0, at));
      rest = rest.slice(at + s.length);
    }
    pieces.push(rest);
    if (!text.startsWith(pieces[0])) return 'chat template output depends on assistant content in a way the mask cannot follow';
    const segments: Segment[] = [];
    let cursor = pieces[0].length;
    let unscoredFrom = 0;
    for (let k = 0; k < contents.length; k++) {
      const next = pieces[k + 1];
      const isLast = k === contents.length - 1;
      let end = -1;
      const c = contents[k];
      for (const cand of [c, c.trim(), c.trimStart(), c.trimEnd()]) {
        const e = cursor + cand.length;
        if (text.startsWith(cand, cursor) && text.startsWith(next, e) && (!isLast || e + next.length === text.length)) {
          end = e;
          break;
        }
      }
      if (end < 0) end = isLast ? text.length - next.length : next.length === 0 ? -1 : text.indexOf(next, cursor);
      if (end < cursor || !text.startsWith(next, end)) return 'chat template output depends on assistant content in a way the mask cannot follow';
      const scoredEnd = end + this.endOfTurnLength(text, end);
      if (cursor > unscoredFrom) segments.push({ text: text.slice(unscoredFrom, cursor), scored: false });
      if (scoredEnd > cursor) segments.push({ text: text.slice(cursor, scoredEnd), scored: true });
      unscoredFrom = scoredEnd;
      cursor = end + next.length;
    }
    if (text.length > unscoredFrom) segments.push({ text: text.slice(unscoredFrom), scored: false });
    return segments;
  }

  /** Length of optional spaces plus one end-of-turn marker at `at`, or 0. */
  private endOfTurnLength(text: string, at: number): number {
    let i = at;
    while (text[i] === ' ') i++;
    for (const m of this.endOfTurn) if (text.startsWith(m, i)) return i - at + m.length;
    return 0;
  }
}

interface Message {
  role: string;
  content: unknown;
  [k: string]: unknown;
}

function checkMessages(v: unknown, roles: Set<string>): Message[] | string {
  if (!Array.isArray(v) || v.length === 0) return 'messages must be a non-empty array';
  const out: Message[] = [];
  for (let i = 0; i < v.length; i++) {
    const m = v[i] as Record<string, unknown>;
    if (!m || typeof m !== 'object') return `message ${i} is not an object`;
    if (typeof m.role !== 'string') return `message ${i} has no string 'role'`;
    if (!roles.has(m.role)) {
      return `message ${i} has role '${m.role}', which the chat template does not handle (known: ${[...roles].join(', ')}; add it to the reader's chatRoles to accept it)`;
    }
    let content = m.content;
    // OpenAI-style parts: keep the text parts.
    if (Array.isArray(content)) content = content.map((p) => (p && typeof p === 'object' && typeof p.text === 'string' ? p.text : '')).join('');
    if (typeof content !== 'string') return `message ${i} has no string 'content'`;
    out.push({ ...m, role: m.role, content });
  }
  return out;
}

/** A special token in tokenizer_config.json is a string or an AddedToken dict. */
export function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}
