// What tokenpipe does specially on the wasm backend (@tensorflow/tfjs-backend-wasm 4.22).
//
// 1. A replacement Slice kernel. Why: the stock kernel starts with backend.readSync(x), which copies the WHOLE input out of the wasm heap into a fresh
// JS ArrayBuffer on every call, however small the slice. Taking a 4096-row chunk of a [151936, 896] head copied
// 544 MB each time (seconds per step, and that much extra RSS). This one copies only the slice, straight from the
// heap: each run along the last axis is one TypedArray.set. Strings keep the original kernel. SplitV and Unpack
// (tf.split, tf.unstack) called the same copying function and go through this one too.
//
// Importing this module registers it (once per process), after the wasm backend's own kernels.
//
// 2. Tensors filled straight in the heap (heapTensor): a weight read from disk is decoded chunk by chunk into its
// tensor's heap memory, instead of into a JS Float32Array that tf.tensor then copies (two copies of every weight
// until the GC frees the first: 2 GB more RSS while loading a 0.5B model).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const original = tf.getKernel('Slice', 'wasm');

function sliceFromHeap({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype === 'string' || !original) return (original!.kernelFunc as (a: unknown) => tf.TensorInfo)({ inputs, backend, attrs });
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs!.begin as number | number[], attrs!.size as number | number[]);
  const b = backend as WasmBackendLike;
  const out = b.makeOutput(size, x.dtype);
  if (size.some((d) => d === 0)) return out;
  // Views after makeOutput: allocating may grow (and so detach) the heap.
  const src = b.typedArrayFromHeap(x);
  const dst = b.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    dst[0] = src[0];
    return out;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * x.shape[d + 1];
  // Merge the trailing axes the slice covers whole, so a row block of a matrix is a single copy.
  let inner = rank - 1;
  let run = size[rank - 1];
  while (inner > 0 && size[inner] === x.shape[inner] && begin[inner] === 0) {
    inner--;
    run *= size[inner];
  }
  const base = begin.reduce((acc, v, d) => acc + v * strides[d], 0);
  const outer = size.slice(0, inner);
  const count = outer.reduce((n, d) => n * d, 1);
  const idx = new Array<number>(inner).fill(0);
  for (let k = 0, at = 0; k < count; k++, at += run) {
    let off = base;
    for (let d = 0; d < inner; d++) off += idx[d] * strides[d];
    dst.set(src.subarray(off, off + run), at);
    for (let d = inner - 1; d >= 0; d--) {
      if (++idx[d] < outer[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** SplitV and Unpack (tf.split, tf.unstack) call the stock slice function directly: route them through ours. */
function splitFromHeap({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const x = inputs.x as tf.TensorInfo;
  const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs!.numOrSizeSplits as number | number[], axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = x.shape.slice();
    size[axis] = n;
    const out = sliceFromHeap({ inputs, backend, attrs: { begin: begin.slice(), size } });
    begin[axis] += n;
    return out;
  });
}

function unstackFromHeap({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const x = inputs.value as tf.TensorInfo;
  const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0];
  const outShape = x.shape.filter((_, d) => d !== axis);
  const parts = splitFromHeap({ inputs: { x }, backend, attrs: { axis, numOrSizeSplits: x.shape[axis] } });
  return parts.map((p) => ({ ...p, shape: outShape }));
}

const PATCHES: Array<[string, (a: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => tf.TensorInfo | tf.TensorInfo[]]> = [
  ['Slice', sliceFromHeap],
  ['SplitV', splitFromHeap],
  ['Unpack', unstackFromHeap],
];
if (original && (original as { patchedBy?: string }).patchedBy !== 'tokenpipe') {
  for (const [kernelName, kernelFunc] of PATCHES) {
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc, patchedBy: 'tokenpipe' } as tf.KernelConfig);
  }
}

/** True when the active backend keeps tensors in the wasm heap. */
export function onWasm(): boolean {
  return tf.getBackend() === 'wasm';
}

/**
 * A float32 tensor of `shape` whose values `fill` writes, in pieces, through `write(values, offset)`. On wasm the
 * pieces go straight into the tensor's heap memory; elsewhere into one Float32Array handed to tf.tensor.
 */
export async function heapTensor(shape: number[], fill: (write: (values: Float32Array, offset: number) => void) => Promise<void>): Promise<tf.Tensor> {
  if (!onWasm()) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    await fill((v, at) => data.set(v, at));
    return tf.tensor(data, shape, 'float32');
  }
  const t = tf.zeros(shape, 'float32');
  const backend = tf.backend() as unknown as WasmBackendLike;
  try {
    // A fresh view per piece: other work may grow (and so detach) the heap while fill awaits its reads.
    await fill((v, at) => (backend.typedArrayFromHeap(t) as Float32Array).set(v, at));
  } catch (e) {
    t.dispose();
    throw e;
  }
  return t;
}
