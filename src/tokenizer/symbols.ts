// Text vs the model's symbol form. BPE vocabularies do not hold text: byte-level ones (Llama 3,
// Qwen) hold the GPT-2 byte alphabet where a space is 'Ġ', SentencePiece-style ones (Llama 2)
// write a space as '▁'. Mining and merge-mode extension work on symbol strings, reports and
// token lists on text; this file converts between the two and finds word boundaries.
type Json = Record<string, any>;

export type SchemeKind = 'byte-level' | 'metaspace' | 'other';

export interface SymbolScheme {
  kind: SchemeKind;
  /** How a leading space appears in a vocabulary entry: 'Ġ', '▁' (or the configured replacement), or ' '. */
  marker: string;
  /** BPE byte_fallback: characters missing from the vocabulary become <0xNN> tokens. */
  byteFallback: boolean;
  /** BPE ignore_merges: a pre-token found whole in the vocabulary is emitted as is (Llama 3). */
  ignoreMerges: boolean;
}

/** Reads the scheme off tokenizer.json: ByteLevel anywhere in the pre-tokenizer, else a space replacement. */
export function detectScheme(json: Json): SymbolScheme {
  const model = json.model ?? {};
  const base = { byteFallback: model.byte_fallback === true, ignoreMerges: model.ignore_merges === true };
  if (findComponent(json.pre_tokenizer, (c) => c.type === 'ByteLevel')) return { kind: 'byte-level', marker: 'Ġ', ...base };
  const meta = findComponent(json.pre_tokenizer, (c) => c.type === 'Metaspace');
  if (meta) return { kind: 'metaspace', marker: meta.replacement ?? '▁', ...base };
  const replace = findComponent(json.normalizer, (c) => c.type === 'Replace' && c.pattern?.String === ' ');
  if (replace && typeof replace.content === 'string' && [...replace.content].length === 1) {
    return { kind: 'metaspace', marker: replace.content, ...base };
  }
  return { kind: 'other', marker: ' ', ...base };
}

function findComponent(c: Json | null | undefined, pred: (c: Json) => boolean): Json | undefined {
  if (!c || typeof c !== 'object') return undefined;
  if (pred(c)) return c;
  for (const list of [c.pretokenizers, c.normalizers, c.processors, c.decoders]) {
    if (Array.isArray(list)) {
      for (const x of list) {
        const hit = findComponent(x, pred);
        if (hit) return hit;
      }
    }
  }
  return undefined;
}

// GPT-2 bytes_to_unicode: printable bytes map to themselves, the other 68 to U+0100.. in order.
const BYTE_TO_CHAR: string[] = [];
const CHAR_TO_BYTE = new Map<string, number>();
{
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const ch = String.fromCodePoint(printable ? b : 256 + n++);
    BYTE_TO_CHAR[b] = ch;
    CHAR_TO_BYTE.set(ch, b);
  }
}
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * The UTF-8 bytes of `text`, each written as its byte-level character (`chars[byte]`: GPT-2's
 * alphabet by default): what TextEncoder and a per-byte lookup give, lone surrogates as U+FFFD
 * included, without the byte array (the tokenizer maps every new piece through this).
 */
export function byteLevelString(text: string, chars: ArrayLike<string> | Record<number, string> = BYTE_TO_CHAR): string {
  const c = chars as Record<number, string>;
  // Most pieces are printable ASCII, maybe after one space or other ASCII character: with GPT-2's
  // alphabet those characters stand for themselves, and the piece is the text (or its tail) as is,
  // without building it character by character.
  if (printableSelf(c)) {
    const upTo = printableUpTo(text, 0);
    if (upTo === text.length) return text;
    if (upTo === 0 && text.charCodeAt(0) < 0x80 && printableUpTo(text, 1) === text.length) return c[text.charCodeAt(0)] + text.slice(1);
  }
  let s = '';
  for (let i = 0; i < text.length; i++) {
    let u = text.charCodeAt(i);
    if (u < 0x80) {
      s += c[u];
      continue;
    }
    if (u < 0x800) {
      s += c[0xc0 | (u >> 6)] + c[0x80 | (u & 63)];
      continue;
    }
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        const cp = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
        s += c[0xf0 | (cp >> 18)] + c[0x80 | ((cp >> 12) & 63)] + c[0x80 | ((cp >> 6) & 63)] + c[0x80 | (cp & 63)];
        i++;
        continue;
      }
    }
    // A surrogate without its pair is encoded as U+FFFD, as TextEncoder does.
    if (u >= 0xd800 && u <= 0xdfff) u = 0xfffd;
    s += c[0xe0 | (u >> 12)] + c[0x80 | ((u >> 6) & 63)] + c[0x80 | (u & 63)];
  }
  return s;
}

/** Whether `chars` maps every printable ASCII byte (33-126) to itself, as GPT-2's alphabet does; once per table. */
function printableSelf(chars: Record<number, string>): boolean {
  let same = selfMapping.get(chars);
  if (same === undefined) {
    same = true;
    for (let b = 33; b <= 126; b++) if (chars[b] !== String.fromCharCode(b)) same = false;
    selfMapping.set(chars, same);
  }
  return same;
}
const selfMapping = new WeakMap<object, boolean>();

/** The index of the first character of text[from..] outside printable ASCII (33-126), or text.length. */
function printableUpTo(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const u = text.charCodeAt(i);
    if (u < 33 || u > 126) return i;
  }
  return text.length;
}

/** Text -> symbol form, e.g. ' acetaminophen' -> 'Ġacetaminophen' (byte-level) or '▁acetaminophen'. */
export function toSymbols(scheme: SymbolScheme, text: string): string {
  if (scheme.kind === 'byte-level') return byteLevelString(text);
  if (scheme.kind === 'metaspace') return text.replaceAll(' ', scheme.marker);
  return text;
}

/** Symbol form -> text. Byte-fallback pieces (<0xNN>) are decoded as bytes. */
export function fromSymbols(scheme: SymbolScheme, symbols: string): string {
  if (scheme.kind === 'byte-level') {
    const bytes: number[] = [];
    for (const ch of symbols) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) return symbols; // not a byte-level string (e.g. an added token's content)
      bytes.push(b);
    }
    return utf8Decoder.decode(new Uint8Array(bytes));
  }
  if (scheme.kind === 'metaspace') {
    const withBytes = symbols.replace(/(?:<0x[0-9A-F]{2}>)+/g, (run) =>
      utf8Decoder.decode(new Uint8Array(run.match(/[0-9A-F]{2}/g)!.map((h) => parseInt(h, 16)))),
    );
    return withBytes.replaceAll(scheme.marker, ' ');
  }
  return symbols;
}

/**
 * Word split for SentencePiece-style tokenizers that have no pre-tokenizer (Llama 2 runs BPE over
 * the whole normalized text): a marker plus a run of letters/digits, a marker plus a run of other
 * characters, or a lone marker. Safe as a boundary set because such vocabularies hold no token
 * with an inner marker and none joining letters to punctuation (checked on Llama 2's 32000).
 */
export function metaspaceWords(marker: string, s: string): string[] {
  const m = escapeRegex(marker);
  const re = new RegExp(`${m}?[\\p{L}\\p{M}\\p{N}]+|${m}?[^\\p{L}\\p{M}\\p{N}${m}]+|${m}`, 'gu');
  return s.match(re) ?? [];
}

export function escapeRegex(s: string): string {
  // Only syntax characters: under the 'u' flag escaping anything else ('\-') is a SyntaxError.
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * A text word the way mining and merge mode treat it: at most one leading space (its form after a
 * space, or without one at a line or text start), then letters, marks and digits only, starting
 * with a letter (so ' acetaminophen' and 'Acetaminophen' yes; '(acetaminophen' as one pre-token,
 * ' 19', ' don' + "'t" as one unit no).
 */
export const WORD_RE = /^ ?\p{L}[\p{L}\p{M}\p{N}]*$/u;
