// An ONNX model as files: the ModelProto, and beside it one data file holding the big initializers as ONNX
// external data (TensorProto data_location EXTERNAL, located by file name, offset and length). A serialized
// ModelProto is one protobuf message, which protobuf caps at 2 GB; a model whose weights pass that loads this way,
// by path (ONNX Runtime resolves each location against the model's folder).
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, tensorBytes, type OnnxGraph, type OnnxTensor } from './onnx-proto.ts';

/** Offsets in the data file are multiples of this (a page), so a runtime may map each tensor in place. */
const ALIGN = 4096;
export const EXTERNAL_DATA_FILE = 'weights.bin';

export interface ModelFiles {
  /** The folder holding model.onnx and its data file. */
  dir: string;
  modelPath: string;
  /** Initializers written to the data file. */
  externalCount: number;
  /** Removes the folder (a runtime that mapped the data keeps its mapping where the system allows). */
  remove: () => void;
}

/**
 * Writes `g` as `model.onnx` in a new folder under `parent` (default: the system's temp folder), every weight
 * (initializer marked `weight`) of at least `minBytes` in `weights.bin` beside it. Tensors are read and written one at a time.
 */
export function writeModelFiles(g: OnnxGraph, o: { minBytes: number; parent?: string }): ModelFiles {
  const dir = mkdtempSync(join(o.parent ?? tmpdir(), 'tokenpipe-onnx-'));
  try {
    const fd = openSync(join(dir, EXTERNAL_DATA_FILE), 'w');
    let offset = 0;
    let externalCount = 0;
    const initializers: OnnxTensor[] = [];
    try {
      for (const t of g.initializers) {
        const bytes = tensorBytes(t);
        if (!t.weight || bytes.byteLength < o.minBytes) {
          initializers.push({ ...t, data: bytes });
          continue;
        }
        const at = Math.ceil(offset / ALIGN) * ALIGN;
        let written = 0;
        while (written < bytes.byteLength) written += writeSync(fd, bytes, written, bytes.byteLength - written, at + written);
        offset = at + bytes.byteLength;
        externalCount++;
        initializers.push({ ...t, data: new Uint8Array(0), external: { location: EXTERNAL_DATA_FILE, offset: at, length: bytes.byteLength } });
      }
    } finally {
      closeSync(fd);
    }
    const modelPath = join(dir, 'model.onnx');
    writeFileSync(modelPath, encodeModel({ ...g, initializers }));
    return { dir, modelPath, externalCount, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
