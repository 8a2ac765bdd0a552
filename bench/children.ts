// Runs one measurement in a child process under a wall-clock guard and reports what it got: the JSON
// lines it printed on stdout (events), whether it finished, crashed (and the line that says why) or
// ran out of time. Nothing thrown: a crash is a result the bench prints, not a failure of the bench.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ChildResult {
  status: 'ok' | 'crashed' | 'timed out';
  /** Parsed JSON lines of stdout, in order. */
  events: Array<Record<string, unknown>>;
  /** For 'crashed': the stderr line naming the error; for 'timed out': the limit. */
  reason?: string;
  stderr: string;
  seconds: number;
}

/** `env`: variables set over this process's environment; an undefined value removes that variable in the child. */
export function runChild(cmd: string, args: string[], maxSeconds: number, onStderrLine?: (line: string) => void, env?: Record<string, string | undefined>): Promise<ChildResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const childEnv = env ? Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined)) : undefined;
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...(childEnv ? { env: childEnv } : {}) });
    let out = '';
    let err = '';
    let timedOut = false;
    // SIGKILL: a train step is one synchronous stretch that no gentler signal would interrupt in time.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, maxSeconds * 1000);
    child.stdout.on('data', (d) => (out += d));
    let pending = '';
    child.stderr.on('data', (d) => {
      err += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) onStderrLine?.(l);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const events = out.split('\n').flatMap((l) => {
        try {
          return l.trim() ? [JSON.parse(l)] : [];
        } catch {
          return [];
        }
      });
      const seconds = (performance.now() - t0) / 1000;
      if (timedOut) resolve({ status: 'timed out', events, reason: `stopped after the ${maxSeconds} s limit`, stderr: err, seconds });
      else if (code === 0) resolve({ status: 'ok', events, stderr: err, seconds });
      else resolve({ status: 'crashed', events, reason: crashLine(err) ?? (signal ? `killed by ${signal}` : `exit status ${code}`), stderr: err, seconds });
    });
  });
}

/**
 * The stderr line that names the error: the last one that looks like an error or abort, else the last
 * line that is not stack-trace or Node banner noise ("    at ...", "Node.js v20", "^^^^").
 */
export function crashLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^at\s/.test(l) && !/^Node\.js v\d/.test(l) && !/^\^+$/.test(l) && l !== '}' && l !== '{');
  const errorish = lines.filter((l) => /(Error|Aborted|abort|out of memory|Killed|Traceback|Exception)/.test(l) && !/^Traceback/.test(l));
  return (errorish.at(-1) ?? lines.at(-1))?.slice(0, 200);
}

/** A step measurement (tokenpipe or PyTorch) as the bench reports it. */
export interface StepRun {
  status: ChildResult['status'];
  secondsPerStep: number | null;
  tokensPerSec: number | null;
  peakRssBytes: number | null;
  /** tokenpipe only: high-water of TF.js tensor bytes (bench/tensor-peak.ts). */
  peakTensorBytes?: number | null;
  /**
   * True when the rate is the median of updates timed after the warm-up, even if the child was stopped
   * before all of them ran; false when it comes from the warm-up alone or an estimate.
   */
  measured: boolean;
  /** How the rate was obtained when not from complete measured steps, or why there is none. */
  note?: string;
  raw: unknown;
}

/** A node script of this repo run with tsx. */
export function nodeArgs(script: string, args: string[]): [string, string[]] {
  return [process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args]];
}
