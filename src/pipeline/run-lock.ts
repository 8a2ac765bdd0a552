// One leg at a time: a run folder is locked while a leg runs. The lock is <runDir>/run.lock, a
// JSON file naming its holder (pid, host, start time, command line), created with O_EXCL so that
// of two legs started together exactly one gets it; the other is refused (RunFolderLocked, exit 2)
// with the holder's name. The holder removes it when the leg ends, however it ends (a normal end,
// a failure, Ctrl-C; a process exit removes it too). A lock left by a process that died without
// removing it (SIGKILL, a crash) is stale when it names this host and a pid that is not alive: the
// next leg takes it over and says so. A lock from another host cannot be checked and is refused.
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive } from '../util/pid.ts';
import { RunFolderLocked } from '../errors.ts';

export const LOCK_FILE = 'run.lock';

export interface LockHolder {
  pid: number;
  hostname: string;
  /** ISO time the leg started. */
  started: string;
  /** The command line of the leg. */
  command: string;
}

/** `pid 1234 on host h since 2026-12-04T14:00:00.000Z (pipe run x.yaml --resume)` */
export function formatHolder(h: LockHolder): string {
  return `pid ${h.pid} on host ${h.hostname} since ${h.started}${h.command ? ` (${h.command})` : ''}`;
}

export class RunLock {
  private held = true;
  private readonly onExit = () => this.release();

  /** `tookOver`: the holder of a stale lock this one replaced. */
  constructor(readonly file: string, readonly holder: LockHolder, readonly tookOver?: LockHolder) {
    // A process that exits without reaching release() (process.exit in a CLI path) still frees the folder.
    process.on('exit', this.onExit);
  }

  /** Removes the lock file if it is still this holder's. Safe to call twice. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    process.off('exit', this.onExit);
    const now = readHolder(this.file);
    if (now && now.pid === this.holder.pid && now.started === this.holder.started) {
      try {
        unlinkSync(this.file);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Locks `runDir` for this process, or throws RunFolderLocked naming the live holder. A stale
 * lock (this host, pid not alive) is taken over: the returned lock's `tookOver` names it.
 */
export function acquireRunLock(runDir: string, command = commandLine()): RunLock {
  const file = path.join(runDir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, hostname: os.hostname(), started: new Date().toISOString(), command };
  if (tryCreate(file, me)) return new RunLock(file, me);
  const holder = readHolder(file);
  if (!holder) {
    // Gone in between (its leg just ended), or a file we cannot read as a holder.
    if (tryCreate(file, me)) return new RunLock(file, me);
    throw new RunFolderLocked(runDir, file, 'an unreadable lock file');
  }
  if (!isStale(holder)) throw new RunFolderLocked(runDir, file, formatHolder(holder));
  // Take the stale lock aside under a name of our own, then check it is the one judged stale:
  // a second leg doing the same at the same moment may already have replaced it with its own.
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return retryOnce(runDir, file, me);
  }
  const moved = readHolder(aside);
  if (!moved || moved.pid !== holder.pid || moved.started !== holder.started) {
    // We moved a live leg's fresh lock: put it back (link fails if yet another leg holds the name).
    try {
      linkSync(aside, file);
    } catch {
      // the name is taken again: that holder is refused below
    }
    unlinkQuiet(aside);
    return retryOnce(runDir, file, me);
  }
  unlinkQuiet(aside);
  if (tryCreate(file, me)) return new RunLock(file, me, holder);
  return retryOnce(runDir, file, me);
}

function retryOnce(runDir: string, file: string, me: LockHolder): RunLock {
  if (tryCreate(file, me)) return new RunLock(file, me);
  const h = readHolder(file);
  throw new RunFolderLocked(runDir, file, h ? formatHolder(h) : 'an unreadable lock file');
}

/** Creates the lock file with O_EXCL; false when it exists. */
function tryCreate(file: string, me: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, JSON.stringify(me) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

export function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && typeof h.hostname === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** This host, and no process with that pid (EPERM: it exists, under another user). */
function isStale(h: LockHolder): boolean {
  if (h.hostname !== os.hostname()) return false;
  return !pidAlive(h.pid);
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/** The process's command line, its script by file name (`pipe.mjs run x.yaml --resume`). */
function commandLine(): string {
  const [script, ...args] = process.argv.slice(1);
  return [script ? path.basename(script) : '', ...args].join(' ').trim();
}
