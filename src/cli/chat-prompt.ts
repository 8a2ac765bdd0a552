// The prompt of `pipe generate --chat`: messages from --system/--user or a JSON file, rendered
// with a chat template and add_generation_prompt, as transformers' apply_chat_template does.
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { TemplateInvalid, UsageError } from '../errors.ts';
import { tokenString } from '../data/chat.ts';
import type { LoadedTokenizer } from '../tokenizer/load.ts';
import type { OptionSpec, OptionValues } from './command.ts';

export const CHAT_OPTIONS: Record<string, OptionSpec> = {
  chat: { type: 'boolean', description: 'build the prompt from messages with the chat template (implied by --user and --messages)' },
  system: { type: 'string', value: 'TEXT', description: 'system message (with --chat)' },
  user: { type: 'string', multiple: true, value: 'TEXT', description: 'user message (with --chat)' },
  messages: { type: 'string', value: 'FILE', description: 'JSON file: [{"role": ..., "content": ...}, ...] (with --chat)' },
  'chat-template': {
    type: 'string',
    value: 'FILE',
    description: "Jinja chat template (default: the adapter's tokenizer's, else the model's)",
  },
};

export interface Message {
  role: string;
  content: string;
}

export const wantsChat = (v: OptionValues): boolean => !!(v.chat || v.user || v.messages || v.system);

/** The messages the options give, in order: --messages FILE, or --system then each --user. */
export function chatMessages(v: OptionValues): Message[] {
  if (typeof v.messages === 'string') {
    if (v.system !== undefined || v.user !== undefined) throw new UsageError('--messages cannot be combined with --system or --user');
    return readMessages(v.messages);
  }
  const users = (v.user as string[] | undefined) ?? [];
  if (users.length === 0) throw new UsageError('--chat needs --user TEXT or --messages FILE');
  return [...(typeof v.system === 'string' ? [{ role: 'system', content: v.system }] : []), ...users.map((content) => ({ role: 'user', content }))];
}

const ROLES = ['system', 'user', 'assistant', 'tool'];

function readMessages(file: string): Message[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--messages ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(json) || json.length === 0) throw new UsageError(`--messages ${file}: expected a non-empty JSON array of {"role", "content"}`);
  return json.map((m, i) => {
    if (typeof m?.role !== 'string' || typeof m?.content !== 'string') {
      throw new UsageError(`--messages ${file}: message ${i} needs string "role" and "content"`);
    }
    // Chat templates branch on these roles; another name (a typo such as "usr") would be rendered
    // by some templates as nothing at all, silently.
    if (!ROLES.includes(m.role)) {
      throw new UsageError(`--messages ${file}: message ${i} has role "${m.role}"; expected one of ${ROLES.join(', ')}`);
    }
    return { role: m.role, content: m.content };
  });
}

/**
 * The prompt text: the template (--chat-template, else the tokenizer's, which for an adapter is
 * the run's extended tokenizer) rendered with the tokenizer's special tokens and a generation prompt.
 */
export function renderChatPrompt(messages: Message[], tokenizer: LoadedTokenizer, templateFile?: string): string {
  let source: string;
  let template: string;
  if (templateFile !== undefined) {
    try {
      template = readFileSync(templateFile, 'utf8');
    } catch (e) {
      throw new UsageError(`--chat-template ${templateFile}: ${(e as Error).message}`);
    }
    source = templateFile;
  } else if (tokenizer.chatTemplate !== null) {
    template = tokenizer.chatTemplate;
    source = `${tokenizer.source}/tokenizer_config.json chat_template`;
  } else {
    throw new UsageError(
      `--chat: ${tokenizer.source} has no chat template (no chat_template in tokenizer_config.json or chat_template.jinja); ` +
        'pass --chat-template FILE, or train with tokenizer-extension\'s chatTemplate param so the adapter carries it',
    );
  }
  const specials: Record<string, string> = {};
  for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
    const s = tokenString(tokenizer.tokenizerConfig[k]);
    if (s !== undefined) specials[k] = s;
  }
  try {
    return new Template(template).render({ ...specials, messages, add_generation_prompt: true });
  } catch (e) {
    throw new TemplateInvalid(source, (e as Error).message, { cause: e });
  }
}
