// Line splitting over a byte stream, in bounded memory, with strict UTF-8.
//
// Why not readline: it decodes with replacement characters, so invalid UTF-8 would pass
// silently as U+FFFD. Here each block of whole lines is decoded with a fatal TextDecoder;
// only when a block fails is it re-decoded line by line to name the bad line. Memory held:
// one input chunk plus one partial line (capped by maxLineBytes).
import type { Readable } from 'node:stream';

export interface Line {
  /** 1-based line number in the (decompressed) file. */
  lineNo: number;
  /** Decoded text without the line terminator; absent when `bad` is set. */
  text?: string;
  bad?: 'invalid UTF-8' | 'line too long';
  /** Raw bytes of a bad line (truncated), for the rejects file. */
  raw?: Buffer;
}

const NL = 0x0a;
const RAW_KEEP = 1024;

export async function* readLines(bytes: AsyncIterable<Buffer | Uint8Array>, maxLineBytes: number): AsyncGenerator<Line> {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let skippingLong = false;
  let lineNo = 0;
  let first = true;

  for await (const c of bytes) {
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      if (skippingLong) continue;
      pending.push(chunk);
      pendingLen += chunk.length;
      if (pendingLen > maxLineBytes) {
        // Drop the partial line now so a newline-free file cannot fill memory.
        skippingLong = true;
        pending = [];
        pendingLen = 0;
      }
      continue;
    }
    let start = 0;
    if (skippingLong) {
      // The rest of the over-long line ends at the first newline of this chunk.
      const nl = chunk.indexOf(NL);
      yield { lineNo: ++lineNo, bad: 'line too long' };
      skippingLong = false;
      first = false;
      start = nl + 1;
    }
    if (start <= last) {
      const body = chunk.subarray(start, last + 1);
      const block = pendingLen > 0 ? Buffer.concat([...pending, body]) : body;
      pending = [];
      pendingLen = 0;
      for (const line of decodeBlock(block, fatal, lineNo, first, maxLineBytes)) {
        lineNo = line.lineNo;
        yield line;
      }
      first = false;
    }
    const rest = chunk.subarray(last + 1);
    if (rest.length > 0) {
      // Copy: the stream may reuse its chunk buffers.
      pending.push(Buffer.from(rest));
      pendingLen += rest.length;
    }
  }
  if (skippingLong) {
    yield { lineNo: ++lineNo, bad: 'line too long' };
  } else if (pendingLen > 0) {
    const block = Buffer.concat(pending);
    for (const line of decodeBlock(Buffer.concat([block, Buffer.from([NL])]), fatal, lineNo, first, maxLineBytes)) yield line;
  }
}

/** Decodes a block that ends with '\n' into lines; numbering continues after `lineNo`. */
function* decodeBlock(block: Buffer, fatal: TextDecoder, lineNo: number, first: boolean, maxLineBytes: number): Generator<Line> {
  let text: string | null = null;
  try {
    text = fatal.decode(block);
  } catch {
    text = null;
  }
  if (text !== null) {
    if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      const end = nl < 0 ? text.length : nl;
      let line = text.slice(pos, end);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      // Character count bounds byte count from below: a cheap pre-check.
      if (line.length > maxLineBytes && Buffer.byteLength(line) > maxLineBytes) yield { lineNo: ++lineNo, bad: 'line too long' };
      else yield { lineNo: ++lineNo, text: line };
      pos = end + 1;
    }
    return;
  }
  // Slow path: find which lines are bad.
  let pos = 0;
  while (pos < block.length) {
    const nl = block.indexOf(NL, pos);
    const end = nl < 0 ? block.length : nl;
    const bytes = block.subarray(pos, end);
    lineNo++;
    try {
      let line = fatal.decode(bytes);
      if (first && pos === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      yield { lineNo, text: line };
    } catch {
      yield { lineNo, bad: 'invalid UTF-8', raw: Buffer.from(bytes.subarray(0, RAW_KEEP)) };
    }
    pos = end + 1;
  }
}
