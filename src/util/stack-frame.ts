// The stack frame worth showing when a node fails: the first one in code the user wrote (their
// node file, or a built-in node), not in tokenpipe's own src/, a dependency or Node itself.
// With tsx the frames already point at the .ts source (file:line:column).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** tokenpipe's src/ folder: frames there are the framework, not the node that threw. */
const SRC = path.dirname(path.dirname(fileURLToPath(import.meta.url))) + path.sep;

/** `file:line:column` of the first frame of `stack` outside src/, node_modules and node: internals. */
export function userFrame(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n')) {
    // "    at fn (file:line:col)" or "    at file:line:col"
    const m = /^\s+at (?:.*? \()?((?:file:\/\/)?[^()\s]+?:\d+:\d+)\)?$/.exec(line);
    if (!m) continue;
    const where = m[1].startsWith('file://') ? fileURLToPath(m[1].replace(/:\d+:\d+$/, '')) + m[1].match(/:\d+:\d+$/)![0] : m[1];
    if (where.startsWith('node:') || where.includes(`${path.sep}node_modules${path.sep}`) || where.startsWith(SRC)) continue;
    return where;
  }
  return undefined;
}
