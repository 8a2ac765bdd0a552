// The train watchdog's tests on the numbers a run reports (loss at the weights before an update,
// gradient norm before clipping), issue 21: a spike over spikeFactor x the first update's loss
// stops the run from update 1 on (the lr=1000 quickstart's 4333 at update 3, inside the old
// 10-update grace); a collapse (collapseSteps updates in a row with gradient norm 0 or a flat loss)
// stops a run that is worse than at its start, by its train loss or by its evaluations, and names
// the first dead update; a run that settles below its start is left alone; `off` keeps only NaN/Inf;
// a resumed watchdog judges against the first leg's start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainingDiverged } from '../src/errors.ts';
import { WatchdogChecks, WatchdogConfig } from '../src/train/config.ts';
import { Watchdog } from '../src/train/watchdog.ts';

const defaults = () => new Watchdog(WatchdogChecks.parse({}));

/** Feeds [loss, gradNorm] pairs as updates 1, 2, ...; returns the error that stopped it, if any. */
function feed(w: Watchdog, updates: Array<[number, number]>, from = 1): TrainingDiverged | undefined {
  for (let i = 0; i < updates.length; i++) {
    try {
      w.check(from + i, updates[i][0], updates[i][1]);
    } catch (e) {
      if (e instanceof TrainingDiverged) return e;
      throw e;
    }
  }
  return undefined;
}

const repeat = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);

test('a spike over 4x the first update\'s loss stops the run at once, inside the first updates', () => {
  // The quickstart with lr=1000: updates 1-3 as its train.log reported them.
  const e = feed(defaults(), [[6.6284, 0.671], [6.4857, 0.495], [4333.3517, 6.87e4]]);
  assert.ok(e, 'stopped');
  assert.equal(e.step, 3);
  assert.equal(e.setting, 'watchdog.spikeFactor');
  assert.match(e.message, /step 3: loss 4333\.3517 is over 4x the first update's loss 6\.6284/);
});

test('a collapse with gradient norm 0 while the train loss is worse than at the start stops after collapseSteps updates', () => {
  // Past the spike, the same run sat at ln(V) = 8.3507 with gradient norm 0.
  const e = feed(defaults(), [[6.6284, 0.671], [6.4857, 0.495], ...repeat(12, [8.3507, 0] as [number, number])]);
  assert.ok(e, 'stopped');
  assert.equal(e.step, 7, 'the 5th dead update (3..7)');
  assert.equal(e.firstBad, 3);
  assert.equal(e.setting, 'watchdog.collapseSteps');
  assert.match(e.message, /collapsed: 5 updates in a row with no learning \(gradient norm 0\) since update 3, and the train loss 8\.3507 is over the first update's 6\.6284/);
});

test('a run too short to reach collapseSteps that ends with dead updates worse than its start fails at the end', () => {
  const w = defaults();
  assert.equal(feed(w, [[6.6284, 0.671], [6.4857, 0.495], [8.3507, 0], [8.3507, 0]]), undefined);
  assert.throws(() => w.checkEnd(4), (e: unknown) => e instanceof TrainingDiverged && e.firstBad === 3 &&
    /step 4: ended collapsed: its last 2 updates in a row with no learning \(gradient norm 0\) since update 3/.test(e.message));
  const settled = defaults();
  feed(settled, [[6.6, 0.7], [2.0, 0.1], [2.0, 1e-3], [2.0, 1e-3]]);
  settled.checkEnd(4); // flat at the end, but far below its start: converged, not collapsed
});

test('a collapse names the update where the loss first rose over the start and stayed there, when that came before the dead ones', () => {
  const w = new Watchdog(WatchdogChecks.parse({ spikeFactor: 1e6, collapseSteps: 4 }));
  const e = feed(w, [[6.6043, 0.652], [6.4343, 0.523], [2249.0459, 5.81e4], ...repeat(4, [8.3412, 0] as [number, number])]);
  assert.ok(e);
  assert.equal(e.step, 7);
  assert.equal(e.firstBad, 3, 'the weights before update 3 gave 2249');
});

test('a flat loss with a gradient still flowing counts as dead too; collapseSteps sets how many', () => {
  const w = new Watchdog(WatchdogChecks.parse({ collapseSteps: 4 }));
  const e = feed(w, [[6.6, 0.5], [9.0, 0.3], [9.0000001, 0.3], [9.0, 0.3], [9.0000002, 0.3], [9.0, 0.3]]);
  assert.ok(e, 'stopped');
  assert.equal(e.step, 6);
  assert.equal(e.firstBad, 2, 'the loss rose over the start at update 2 and stayed there');
  assert.match(e.message, /loss flat at 9\.0000/);
});

test('dead updates with the train loss no worse than the start stop the run when the evaluations got worse', () => {
  const flat = repeat(6, [6.6, 0] as [number, number]);
  const quiet = new Watchdog(WatchdogChecks.parse({ collapseSteps: 4 }));
  assert.equal(feed(quiet, [[6.6, 0.5], ...flat]), undefined, 'no eval: the train loss equals the start, not worse');
  const w = new Watchdog(WatchdogChecks.parse({ collapseSteps: 4 }));
  w.observeEval(0, 6.55);
  w.observeEval(1, 8.35);
  const e = feed(w, [[6.6, 0.5], ...flat]);
  assert.ok(e);
  assert.match(e.message, /the eval loss 8\.3500 is over step 0's 6\.5500/);
});

test('a run that settles below its start (flat, small gradients) is left alone', () => {
  const w = defaults();
  const settled = Array.from({ length: 40 }, (_, i): [number, number] => [2.0 + (i % 2) * 1e-6, 1e-3]);
  assert.equal(feed(w, [[6.6, 0.7], [5.1, 0.6], [3.9, 0.5], ...settled]), undefined);
});

test("'off' keeps only the NaN/Inf stop", () => {
  const cfg = WatchdogConfig.parse('off');
  assert.equal(cfg, 'off');
  assert.equal(feed(new Watchdog(cfg), [[6.6, 0.6], [4333, 7e4], ...repeat(20, [8.35, 0] as [number, number])]), undefined);
  assert.match(feed(new Watchdog(cfg), [[6.6, 0.6], [NaN, 1]])!.message, /step 2: loss is NaN/);
});

test('a watchdog restored from a checkpoint judges against the first leg\'s start', () => {
  const w = defaults();
  feed(w, [[6.6, 0.6], [6.0, 0.5], [5.5, 0.5]]);
  const resumed = defaults();
  resumed.restore(JSON.parse(JSON.stringify(w.state())));
  const e = feed(resumed, [[27, 3]], 4);
  assert.ok(e, "27 is over 4x the first leg's 6.6");
  assert.equal(e.setting, 'watchdog.spikeFactor');
});
