// A train branch's history on disk, one JSON line per fact as the run goes (train loss and scored
// tokens of each update, tokens/s, evaluations, wall time per leg), so the report of a resumed
// run covers the whole run: "before" from step 0, the full loss curve, total time and tokens.
// The live snapshots only show the current leg. A leg that resumes from checkpoint N redoes the
// updates after N, so what earlier legs recorded past N is dropped (rewind) and recorded again.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { appendSync } from '../io/append.ts';
import path from 'node:path';
import type { EvalPoint } from './record.ts';

export interface StepPoint {
  loss: number;
  /** Scored tokens of the update. */
  tokens: number;
}

type Entry =
  | { k: 'step'; leg: number; sec: number; step: number; loss: number; tokens: number }
  | { k: 'rate'; leg: number; step: number; tokensPerSec: number }
  | { k: 'eval'; leg: number; sec: number; point: EvalPoint }
  | { k: 'time'; leg: number; sec: number };

/** Facts by step; a later leg's value of a step replaces an earlier one's. */
export class History {
  readonly steps = new Map<number, StepPoint>();
  readonly rates = new Map<number, number>();
  readonly evals = new Map<number, EvalPoint>();

  /** Drops everything past `step`. */
  rewind(step: number): void {
    for (const m of [this.steps, this.rates, this.evals]) for (const k of [...m.keys()]) if (k > step) m.delete(k);
  }
}

export class Journal {
  /** What earlier legs recorded (empty for a fresh run). */
  readonly prior = new History();
  /** Wall time of the earlier legs, in seconds. */
  readonly priorSeconds: number = 0;
  /** This leg's number (0 for a fresh run). */
  readonly leg: number = 0;

  /** `resume`: read what earlier legs wrote; otherwise start the file afresh. */
  constructor(private readonly file: string, resume: boolean) {
    mkdirSync(path.dirname(file), { recursive: true });
    if (!resume || !existsSync(file)) {
      writeFileSync(file, '');
      return;
    }
    const legSeconds = new Map<number, number>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      let e: Entry;
      try {
        e = JSON.parse(line);
      } catch {
        continue; // empty, or cut short by a crash
      }
      if ('sec' in e) legSeconds.set(e.leg, Math.max(legSeconds.get(e.leg) ?? 0, e.sec));
      this.leg = Math.max(this.leg, e.leg + 1);
      if (e.k === 'step') this.prior.steps.set(e.step, { loss: e.loss, tokens: e.tokens });
      else if (e.k === 'rate') this.prior.rates.set(e.step, e.tokensPerSec);
      else if (e.k === 'eval') this.prior.evals.set(e.point.step, e.point);
    }
    this.priorSeconds = [...legSeconds.values()].reduce((a, b) => a + b, 0);
  }

  step(sec: number, step: number, p: StepPoint): void {
    this.write({ k: 'step', leg: this.leg, sec, step, loss: p.loss, tokens: p.tokens });
  }

  rate(step: number, tokensPerSec: number): void {
    this.write({ k: 'rate', leg: this.leg, step, tokensPerSec });
  }

  eval(sec: number, point: EvalPoint): void {
    this.write({ k: 'eval', leg: this.leg, sec, point });
  }

  time(sec: number): void {
    this.write({ k: 'time', leg: this.leg, sec });
  }

  private write(e: Entry): void {
    // Synchronous and small: each line is on disk before the snapshot moves on.
    appendSync(this.file, JSON.stringify(e) + '\n');
  }
}
