// The native engine against the float64 PyTorch reference, with the tolerances the TF.js engines meet
// (model-logits-golden.test.ts): every fixture variant's logits to 1e-4 (a plain batch, a packed batch, a row at
// large positions), traced from the same model source (hiddenOps, then headLogitsOps) into one ONNX Runtime graph;
// and the packed batch's HF loss from the native eval graph (headScoresNative, chunked head) to 1e-5 relative.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setBackend } from '../src/model/backend.ts';
import { graphColumns, headScoresNative, hostInputs } from '../src/model/eval-native.ts';
import { headLogitsOps } from '../src/model/head.ts';
import { hiddenOps } from '../src/model/llama.ts';
import { shiftLabels } from '../src/model/loss.ts';
import { releaseSessions, runGraph } from '../src/model/native-run.ts';
import { GraphOps } from '../src/model/onnx-ops.ts';
import { disposeModel, loadModel } from '../src/model/weights.ts';
import { goldenDiff, modelDir, readGolden, VARIANTS } from './helpers/model-goldens.ts';

for (const v of VARIANTS) {
  test(`${v} logits match the reference on the native engine`, async () => {
    assert.equal(await setBackend('native'), 'native');
    const g0 = readGolden(v);
    const model = await loadModel(modelDir(v));
    try {
      for (const c of g0.cases) {
        const inputIds = Int32Array.from(c.input_ids);
        const positionIds = Int32Array.from(c.position_ids);
        const V = model.config.vocabSize;
        const host = hostInputs(model, { inputIds, positionIds, B: c.B, T: c.T });
        try {
          const g = new GraphOps();
          const h = hiddenOps(g, model, g.hosted(host.x0), host.ctx); // [B*T, D]
          g.output('logits', headLogitsOps(g, h, graphColumns(g, model, model.tokens.headColumns()), V)); // [B*T, V]
          const { logits } = await runGraph(g);
          assert.deepEqual(logits.dims, [c.B * c.T, V]);
          const diff = goldenDiff(logits.data, V, c);
          assert.ok(diff <= 1e-4, `${c.name}: max |Δ| = ${diff}`);
        } finally {
          host.free();
        }
        if (c.loss) {
          const targets = shiftLabels(Int32Array.from(c.labels!), c.B, c.T);
          const { nll } = await headScoresNative(model, { inputIds, positionIds, B: c.B, T: c.T, targets }, model.tokens.headColumns(), {}, Math.ceil(V / 3));
          assert.equal(nll.length, c.loss.count);
          const got = nll.reduce((a, b) => a + b, 0) / nll.length;
          assert.ok(Math.abs(got - c.loss.mean) <= 1e-5 * c.loss.mean, `packed loss ${got} vs ${c.loss.mean}`);
        }
      }
    } finally {
      disposeModel(model);
      await releaseSessions();
    }
  });
}
