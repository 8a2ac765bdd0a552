// What the train bench promises about its PyTorch yardstick (issue 22), as pure functions the tests check:
// - the torch child's environment pins every BLAS thread pool to the compared thread count (torch.set_num_threads
//   alone leaves OpenBLAS starting one thread per core);
// - a ratio is only computed against a BLAS that runs sgemm at ≥ 50 GFLOP/s (Debian's python3-torch alone links
//   the reference BLAS at 4-5 GFLOP/s, which flattered every earlier ratio).
// OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on a machine as a safety setting (older OpenBLAS builds compute
// wrong results on some processors). They are kept unless the bench is asked to unset them (both together), and the
// kernel that ran is reported either way (torch_step.py: threadpoolctl, else openblas_get_corename).

export const MIN_TORCH_SGEMM_GFLOPS = 50;

export const OPENBLAS_SAFETY_VARS = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

export const INSTALL_OPENBLAS =
  'install OpenBLAS (apt-get install libopenblas0-pthread; Debian\'s python3-torch alone links the reference BLAS) ' +
  'or run a torch built on MKL (pip\'s torch)';

/**
 * The variables set (a string) or removed (undefined) in the torch child's environment, over the parent's. The BLAS
 * pools get `threads`; torch's own intra-op pool (OpenMP) gets `intraOp` (default the same).
 */
export function torchChildEnv(
  threads: number, parent: Record<string, string | undefined>, o: { unsetCoreType?: boolean; intraOp?: number } = {},
): Record<string, string | undefined> {
  const n = String(threads);
  const env: Record<string, string | undefined> = { OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: String(o.intraOp ?? threads), MKL_NUM_THREADS: n };
  if (o.unsetCoreType) for (const k of OPENBLAS_SAFETY_VARS) if (parent[k] !== undefined) env[k] = undefined;
  return env;
}

/** The OpenBLAS safety variables the torch child runs with (those set in the parent and not unset). */
export function blasSafetyVars(parent: Record<string, string | undefined>, o: { unsetCoreType?: boolean } = {}): Record<string, string> {
  if (o.unsetCoreType) return {};
  return Object.fromEntries(OPENBLAS_SAFETY_VARS.flatMap((k) => (parent[k] === undefined ? [] : [[k, parent[k]!]])));
}

export type TorchRatio = { ratio: number; refused: null } | { ratio: null; refused: string };

/**
 * tokenpipe tok/s over PyTorch tok/s, or why there is none: a side without a timed update, or PyTorch on a BLAS whose
 * sgemm (1024³ fp32, measured in the torch child) ran under 50 GFLOP/s, or whose rate is unknown.
 */
export function torchRatio(ours: number | null, torch: number | null, sgemmGflops: number | null, safety: Record<string, string> = {}): TorchRatio {
  if (sgemmGflops === null) return { ratio: null, refused: 'no ratio: PyTorch\'s sgemm rate was not measured' };
  if (sgemmGflops < MIN_TORCH_SGEMM_GFLOPS) {
    const set = Object.entries(safety).map(([k, v]) => `${k}=${v}`).join(' ');
    return {
      ratio: null,
      refused:
        `no ratio: PyTorch's sgemm ran at ${sgemmGflops.toFixed(1)} GFLOP/s, under ${MIN_TORCH_SGEMM_GFLOPS} (a reference BLAS, or a slow kernel): ` +
        INSTALL_OPENBLAS + (set ? `; the torch child ran with ${set}, which may pick a slower kernel (--torch-unset-coretype drops them for it)` : ''),
    };
  }
  if (!ours || !torch) return { ratio: null, refused: 'no timed update on one side' };
  return { ratio: ours / torch, refused: null };
}

/**
 * torch's intra-op thread counts tried at n compared threads, the BLAS at n in each: both use every core the
 * comparison allows. On 2 cores SmolLM2-135M ran at 221 tok/s with 1 intra-op thread (OpenBLAS's 2 threads doing
 * the matmuls) against 145 with 2 (2 + 2 threads contending), while V=128256 was faster with 2: the bench keeps
 * PyTorch's best, the strongest baseline.
 */
export function torchIntraOpChoices(threads: number): number[] {
  return threads > 1 ? [threads, 1] : [1];
}
