// An ONNX model as files: the ModelProto, and beside it data files holding the big initializers as ONNX
// external data (TensorProto data_location EXTERNAL, located by file name, offset and length). A serialized
// ModelProto is one protobuf message, which protobuf caps at 2 GB; a model whose weights pass that loads this way,
// by path (ONNX Runtime resolves each location against the model's folder).
//
// Initializers whose bytes already lie in a file (`file`: a model's weights file, src/model/weights-disk.ts) are
// not copied: the model is written into that file's folder under a name of its own and refers to them in place, so
// every session of a model shares one weights file. Only what lies nowhere yet goes to a data file of this model's.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel, tensorBytes, type OnnxGraph, type OnnxTensor } from './onnx-proto.ts';

/** Offsets in a data file are multiples of this (a page), so a runtime may map each tensor in place. */
const ALIGN = 4096;
const EXTERNAL_DATA_FILE = 'weights.bin';

/** `offset` rounded up to the next page: where a tensor starts in a data file. */
export function alignUp(offset: number): number {
  return Math.ceil(offset / ALIGN) * ALIGN;
}

/** Writes all of `bytes` to `fd` at byte `position` (a write may take fewer bytes than asked). */
export function writeAllAt(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
}

export interface ModelFiles {
  /** The folder holding the model and its data files. */
  dir: string;
  modelPath: string;
  /** Removes what this call wrote (a runtime that mapped the data keeps its mapping where the system allows). */
  remove: () => void;
}

let written = 0;

/**
 * Writes `g` as a model file, every weight (initializer marked `weight`) of at least `minBytes` as external data:
 * those with a `file` referred to there (the model then goes into that folder), the others written to a data file
 * beside the model, one at a time. Without shared files: `model.onnx` and `weights.bin` in a new folder under
 * `parent` (default: the system's temp folder).
 */
export function writeModelFiles(g: OnnxGraph, o: { minBytes: number; parent?: string }): ModelFiles {
  const shared = g.initializers.filter((t) => t.weight && t.file).map((t) => t.file!.dir);
  // internal: one model's tensors come from one weights file.
  if (new Set(shared).size > 1) throw new Error(`one graph refers to weights in ${new Set(shared).size} folders`);
  const inShared = shared.length > 0;
  const dir = inShared ? shared[0] : mkdtempSync(join(o.parent ?? tmpdir(), 'tokenpipe-onnx-'));
  const tag = inShared ? `-${process.pid}-${written++}` : '';
  const dataName = inShared ? `data${tag}.bin` : EXTERNAL_DATA_FILE;
  const ownFiles = [join(dir, dataName), join(dir, `model${tag}.onnx`)];
  const removeOwn = () => (inShared ? ownFiles.forEach((f) => rmSync(f, { force: true })) : rmSync(dir, { recursive: true, force: true }));
  try {
    const fd = openSync(ownFiles[0], 'w');
    let offset = 0;
    const initializers: OnnxTensor[] = [];
    try {
      for (const t of g.initializers) {
        if (t.weight && t.file && t.file.length >= o.minBytes) {
          initializers.push({ ...t, data: new Uint8Array(0), file: undefined, external: { location: t.file.location, offset: t.file.offset, length: t.file.length } });
          continue;
        }
        const bytes = tensorBytes(t);
        if (!t.weight || bytes.byteLength < o.minBytes) {
          initializers.push({ ...t, data: bytes });
          continue;
        }
        const at = alignUp(offset);
        writeAllAt(fd, bytes, at);
        offset = at + bytes.byteLength;
        initializers.push({ ...t, data: new Uint8Array(0), external: { location: dataName, offset: at, length: bytes.byteLength } });
      }
    } finally {
      closeSync(fd);
    }
    writeFileSync(ownFiles[1], encodeModel({ ...g, initializers }));
    return { dir, modelPath: ownFiles[1], remove: removeOwn };
  } catch (e) {
    removeOwn();
    throw e;
  }
}
