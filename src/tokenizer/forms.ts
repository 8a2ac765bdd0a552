// Surface forms of a word. A tokenizer sees one word in several forms, each its own pre-token and
// so its own vocabulary entry: after a space or not (byte-level 'Ġzintrapolate' / 'zintrapolate',
// SentencePiece '▁zintrapolate' / 'zintrapolate'), lowercase or capitalised. The form without the
// marker is what a word at the start of a line (after '\n', e.g. the start of a chat reply) or of a
// text (byte-level) becomes. Mining counts every form on its own; reports and macro accuracy group
// the forms under their word, the lowercase text without the leading space.

/** The word a form of text belongs to: ' Zintrapolate' -> 'zintrapolate'. */
export function wordOfText(text: string): string {
  return text.trim().toLowerCase();
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const BYTE_CHAR = new Map<string, number>();
{
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    BYTE_CHAR.set(String.fromCodePoint(printable ? b : 256 + n++), b);
  }
}

/**
 * The word of a vocabulary string ('Ġzintrapolate', '▁Zintrapolate', 'Zintrapolate', an added
 * token's content), for grouping per-token figures without the tokenizer at hand: a SentencePiece
 * marker or a byte-level string (only when its bytes are valid UTF-8) is read back as text first.
 * Special tokens ('<|im_end|>') are their own word.
 */
export function wordOfToken(token: string): string {
  let text = token;
  if (text.includes('▁')) text = text.replaceAll('▁', ' ');
  else {
    const bytes: number[] = [];
    for (const ch of text) {
      const b = BYTE_CHAR.get(ch);
      if (b === undefined) return wordOfText(text);
      bytes.push(b);
    }
    try {
      text = strictUtf8.decode(new Uint8Array(bytes));
    } catch {
      // Not a byte-level string (a SentencePiece piece such as 'ï'): the token is its text.
    }
  }
  return wordOfText(text);
}

/** Items grouped by word, words in order of first appearance, items in their given order. */
export function groupByWord<T>(items: T[], wordOf: (item: T) => string): Array<{ word: string; items: T[] }> {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const w = wordOf(it);
    const g = groups.get(w);
    if (g) g.push(it);
    else groups.set(w, [it]);
  }
  return [...groups].map(([word, its]) => ({ word, items: its }));
}
