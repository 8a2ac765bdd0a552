// Folders tokenpipe replaces as a whole (the final adapter, a merged model folder, a checkpoint)
// and the temp names its atomic writes leave behind when a process dies.
//
// Safe by construction: a folder is only ever moved aside or removed when it carries the marker
// file tokenpipe writes into every folder it assembles (or, for folders written before the marker
// existed, a tokenpipe.json / trainer_state.json whose format is tokenpipe's). Anything else at the
// target (a user's folder, the run folder itself, a file) is left alone and the write fails with
// OutputNotOurs, so even a wrong path cannot delete what tokenpipe did not write.
import { existsSync, lstatSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pidAlive as alive } from '../util/pid.ts';
import { asIoFailed, OutputNotOurs } from '../errors.ts';

/** The marker file: its presence says "tokenpipe wrote this folder and may replace it". */
export const OWNED_MARKER = '.tokenpipe-output';
const MARKER_TEXT = 'This folder was written by tokenpipe, which replaces it when it writes it again.\nDelete this file to keep tokenpipe from ever replacing or removing the folder.\n';
/** Files of folders written before the marker: ours when their `format` is tokenpipe's. */
const LEGACY_MARKERS = ['tokenpipe.json', 'trainer_state.json'];

/** Writes the marker into a folder tokenpipe is assembling. */
export async function markOwned(dir: string): Promise<void> {
  await writeFile(path.join(dir, OWNED_MARKER), MARKER_TEXT);
}

/** Whether `dir` is a real folder (not a link) that tokenpipe wrote. */
export function isOwned(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return false;
  if (existsSync(path.join(dir, OWNED_MARKER))) return true;
  return LEGACY_MARKERS.some((f) => {
    try {
      return /^tokenpipe-/.test(String(JSON.parse(readFileSync(path.join(dir, f), 'utf8')).format));
    } catch {
      return false;
    }
  });
}

/**
 * Moves a finished folder `tmp` into place at `dir`, marking it as tokenpipe's. A folder already
 * at `dir` is replaced only when tokenpipe wrote it (moved aside to `<dir>.old-*`, then removed,
 * so a reader never sees a partial folder) or when it is empty; anything else is refused.
 */
export async function replaceDir(tmp: string, dir: string): Promise<void> {
  await markOwned(tmp).catch((e) => Promise.reject(asIoFailed(e, tmp)));
  const st = lstatSync(dir, { throwIfNoEntry: false });
  let old: string | undefined;
  if (st) {
    if (!st.isDirectory()) throw new OutputNotOurs(dir, 'is a file (or link), not a folder tokenpipe wrote: not replacing it');
    if (isOwned(dir)) {
      old = `${dir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
      await rename(dir, old).catch((e) => Promise.reject(asIoFailed(e, dir, 'move aside')));
    } else if (readdirSync(dir).length === 0) {
      await rmdir(dir); // rmdir removes only an empty folder
    } else {
      throw new OutputNotOurs(dir, `holds files tokenpipe did not write (no ${OWNED_MARKER} in it): not replacing it; move it away or choose another folder`);
    }
  }
  await rename(tmp, dir).catch((e) => Promise.reject(asIoFailed(e, dir)));
  if (old) await rm(old, { recursive: true, force: true });
}

/** Removes a folder only if tokenpipe wrote it; returns whether it did. */
export async function removeOwnedDir(dir: string): Promise<boolean> {
  if (!isOwned(dir)) return false;
  await rm(dir, { recursive: true, force: true });
  return true;
}

/**
 * The temp names of this project: `<name>.tmp-<pid>-<8 hex>` (atomic writes, folders being
 * assembled) and `<name>.old-<pid>-<8 hex>` (a folder moved aside by replaceDir).
 */
export const LEFTOVER_NAME = /\.(?:tmp|old)-(\d+)-[0-9a-f]{8}$/;

/**
 * Removes what a killed process left under `root`: entries named like LEFTOVER_NAME whose
 * process is gone, anywhere below `root` (links are not followed). Returns their paths
 * relative to `root`.
 */
export async function removeLeftoverTemps(root: string): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      const m = LEFTOVER_NAME.exec(e.name);
      if (m && !alive(Number(m[1]))) {
        await rm(full, { recursive: true, force: true });
        removed.push(path.relative(root, full));
      } else if (e.isDirectory()) await walk(full);
    }
  };
  await walk(root);
  return removed.sort();
}
