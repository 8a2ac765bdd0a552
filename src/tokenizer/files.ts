// Tokenizer files on disk: reading a model folder's tokenizer.json / tokenizer_config.json /
// chat_template.jinja with errors that name the file, and the hash of their canonical JSON
// (src/io/json.ts writes it).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelNotFound, TokenizerFileInvalid } from '../errors.ts';
import { sortedJson } from '../io/json.ts';

type Json = Record<string, unknown>;

export interface TokenizerFiles {
  /** Parsed tokenizer.json (tokenizers serialization "1.0"). */
  tokenizerJson: Json;
  /** Parsed tokenizer_config.json, or {} when the folder has none. */
  tokenizerConfig: Json;
  /** Where they came from, for error messages. */
  source: string;
}

/**
 * Reads a model folder. A separate chat_template.jinja (the default of recent transformers)
 * is folded into the config as `chat_template` when the config has none, so one object
 * carries everything the tokenizer artifact needs.
 */
export function readTokenizerFiles(dir: string): TokenizerFiles {
  // A mistyped folder is said as such (the words `pipe eval` uses), not as a missing tokenizer.json.
  if (!existsSync(dir)) throw new ModelNotFound(dir, 'no such folder');
  const jsonPath = path.join(dir, 'tokenizer.json');
  if (!existsSync(jsonPath)) throw new TokenizerFileInvalid(jsonPath, 'file not found (only fast tokenizers with a tokenizer.json are supported)');
  const tokenizerJson = parseJsonFile(jsonPath);
  validateTokenizerJson(tokenizerJson, jsonPath);
  const configPath = path.join(dir, 'tokenizer_config.json');
  const tokenizerConfig = existsSync(configPath) ? parseJsonFile(configPath) : {};
  const templatePath = path.join(dir, 'chat_template.jinja');
  if (tokenizerConfig.chat_template === undefined && existsSync(templatePath)) {
    tokenizerConfig.chat_template = readFileSync(templatePath, 'utf8');
  }
  return { tokenizerJson, tokenizerConfig, source: dir };
}

/** JSON.parse with the failure turned into a named error with line and column. */
export function parseJsonFile(file: string): Json {
  const text = readFileSync(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TokenizerFileInvalid(file, `not valid JSON (${locate(text, (e as Error).message)})`, { cause: e });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenizerFileInvalid(file, 'the top level must be a JSON object');
  }
  return value as Json;
}

function locate(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  const pos = m ? Number(m[1]) : jsonErrorOffset(text);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  const what = pos >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[pos])}`;
  return `${what} at line ${line}, column ${col}`;
}

/**
 * Offset of the first syntax error in `text` (V8's JSON.parse message does not always carry one).
 * A plain recursive-descent scan; only called after JSON.parse has failed.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (c === '"') return string();
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!lit) fail();
    i += lit![0].length;
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    return at as number;
  }
}

/** Checks the parts of tokenizer.json that loading and extension rely on; names the first problem. */
export function validateTokenizerJson(json: Json, file: string): void {
  const model = json.model as Json | undefined;
  if (!model || typeof model !== 'object' || Array.isArray(model)) throw new TokenizerFileInvalid(file, '"model" is missing or not an object');
  if (!model.vocab || typeof model.vocab !== 'object') throw new TokenizerFileInvalid(file, '"model.vocab" is missing or not an object/array');
  const type = model.type ?? (Array.isArray(model.merges) ? 'BPE' : undefined);
  if (type === 'BPE') {
    if (Array.isArray(model.vocab)) throw new TokenizerFileInvalid(file, '"model.vocab" of a BPE model must be an object of token -> id');
    if (!Array.isArray(model.merges)) throw new TokenizerFileInvalid(file, '"model.merges" of a BPE model is missing or not an array');
    const vocab = model.vocab as Record<string, unknown>;
    // for-in, not Object.entries: no 150k pair arrays on every load.
    for (const tok in vocab) {
      const id = vocab[tok];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new TokenizerFileInvalid(file, `"model.vocab" entry ${JSON.stringify(tok)} has id ${JSON.stringify(id)}, not a non-negative integer`);
      }
    }
  }
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
    if (!(key in json)) throw new TokenizerFileInvalid(file, `"${key}" is missing (null is allowed)`);
  }
  if (!Array.isArray(json.added_tokens)) throw new TokenizerFileInvalid(file, '"added_tokens" is missing or not an array');
  json.added_tokens.forEach((t: unknown, i: number) => {
    const a = t as Json;
    if (!a || typeof a !== 'object' || typeof a.content !== 'string' || !Number.isInteger(a.id)) {
      throw new TokenizerFileInvalid(file, `"added_tokens[${i}]" needs an integer "id" and a string "content"`);
    }
  });
}

/** Plain code-unit order (never localeCompare: it depends on the machine's ICU data). */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** sha256 hex of the canonical JSON of both files (the packer's cache key). */
export function tokenizerHash(tokenizerJson: Json, tokenizerConfig: Json): string {
  return createHash('sha256').update(sortedJson(tokenizerJson)).update('\n').update(sortedJson(tokenizerConfig)).digest('hex');
}
