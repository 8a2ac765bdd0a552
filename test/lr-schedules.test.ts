// Schedules give the multipliers of HF get_{constant,linear,cosine}_schedule_with_warmup,
// checked against values worked out by hand from those formulas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrFactor, ScheduleConfig } from '../src/train/schedule.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('linear: warmup ramps from 0, then decays to 0 at the last update and stays there', () => {
  const cfg = ScheduleConfig.parse({ kind: 'linear', warmupSteps: 2 });
  const total = 10;
  close(lrFactor(cfg, 0, total), 0); // first update has lr 0, as in a HF Trainer run
  close(lrFactor(cfg, 1, total), 0.5); // 1/2
  close(lrFactor(cfg, 2, total), 1); // (10-2)/(10-2)
  close(lrFactor(cfg, 6, total), 0.5); // (10-6)/8
  close(lrFactor(cfg, 10, total), 0);
  close(lrFactor(cfg, 12, total), 0); // clamped, never negative
});

test('cosine: half a wave from 1 to 0 after warmup', () => {
  const cfg = ScheduleConfig.parse({ kind: 'cosine', warmupSteps: 2 });
  close(lrFactor(cfg, 2, 10), 1);
  close(lrFactor(cfg, 4, 10), 0.5 * (1 + Math.SQRT1_2)); // progress 2/8 -> cos(pi/4)
  close(lrFactor(cfg, 6, 10), 0.5); // progress 1/2 -> cos(pi/2) = 0
  close(lrFactor(cfg, 10, 10), 0);
});

test('constant: flat after warmup; without warmup every update uses the full lr', () => {
  const cfg = ScheduleConfig.parse({ kind: 'constant', warmupSteps: 3 });
  close(lrFactor(cfg, 0, 5), 0);
  close(lrFactor(cfg, 1, 5), 1 / 3);
  close(lrFactor(cfg, 3, 5), 1);
  close(lrFactor(cfg, 100, 5), 1);
  close(lrFactor(ScheduleConfig.parse({ kind: 'linear' }), 0, 8), 1);
});

test('schedule config rejects unknown keys and kinds', () => {
  assert.throws(() => ScheduleConfig.parse({ kind: 'step' }));
  assert.throws(() => ScheduleConfig.parse({ kind: 'linear', warmup: 3 }));
});
