// A minimal ONNX ModelProto writer: the few messages and fields a graph of plain tensors needs (onnx/onnx.proto3,
// IR version 8), encoded by hand as protobuf wire format. No reader: ONNX Runtime reads what this writes.
//   ModelProto      ir_version 1, producer_name 2, graph 7, opset_import 8
//   OperatorSetId   domain 1, version 2
//   GraphProto      node 1, name 2, initializer 5, input 11, output 12
//   NodeProto       input 1, output 2, name 3, op_type 4, attribute 5, domain 7
//   AttributeProto  name 1, f 2, i 3, t 5, floats 7, ints 8, type 20
//   TensorProto     dims 1, data_type 2, name 8, raw_data 9, external_data 13 (StringStringEntryProto key 1,
//                   value 2: location, offset, length), data_location 14 (1 = EXTERNAL)
//   ValueInfoProto  name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_value 1 | dim_param 2

/** TensorProto.DataType values used here. */
export const ONNX_TYPE = { float32: 1, int32: 6, int64: 7, bool: 9 } as const;
export type OnnxDtype = keyof typeof ONNX_TYPE;

export type OnnxAttr = { name: string } & ({ f: number } | { i: number } | { ints: number[] } | { floats: number[] } | { t: OnnxTensor });

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: OnnxAttr[];
  domain?: string;
}

export interface OnnxTensor {
  name: string;
  dtype: OnnxDtype;
  dims: number[];
  /** Little-endian bytes of the values; a function when they are read only as they are written (model weights). */
  data: Uint8Array | (() => Uint8Array);
  /** A model weight: may go to external data (constants ONNX reads for shape inference must stay inline). */
  weight?: boolean;
  /** Where the bytes lie instead (ONNX external data): a file beside the model, relative to its folder. */
  external?: { location: string; offset: number; length: number };
  /** Where the bytes already lie, a file `location` in folder `dir`: a model written beside it refers to them there. */
  file?: { dir: string; location: string; offset: number; length: number };
}

/** The bytes of `t`, read now if they are read lazily. */
export function tensorBytes(t: OnnxTensor): Uint8Array {
  return typeof t.data === 'function' ? t.data() : t.data;
}

export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDtype;
  /** A number, or a name for a dimension that varies between runs. */
  dims: Array<number | string>;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Default-domain opset version. */
  opset: number;
  /** Extra operator sets, e.g. { domain: 'com.microsoft', version: 1 }. */
  extraOpsets?: Array<{ domain: string; version: number }>;
}

/** Growable byte buffer with the protobuf primitives. */
class Writer {
  private buf = new Uint8Array(1024);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v)); // negative int64s take ten bytes, as protobuf writes them
    this.room(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    this.room(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function tensor(w: Writer, t: OnnxTensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, ONNX_TYPE[t.dtype]);
  w.string(8, t.name);
  if (!t.external) return w.bytes(9, tensorBytes(t));
  const { location, offset, length } = t.external;
  for (const [key, value] of [['location', location], ['offset', String(offset)], ['length', String(length)]]) {
    w.message(13, (e) => (e.string(1, key), e.string(2, value)));
  }
  w.int(14, 1);
}

function attribute(w: Writer, a: OnnxAttr): void {
  w.string(1, a.name);
  if ('f' in a) (w.float(2, a.f), w.int(20, 1));
  else if ('i' in a) (w.int(3, a.i), w.int(20, 2));
  else if ('t' in a) (w.message(5, (m) => tensor(m, a.t)), w.int(20, 4));
  else if ('floats' in a) (a.floats.forEach((f) => w.float(7, f)), w.int(20, 6));
  else (a.ints.forEach((i) => w.int(8, i)), w.int(20, 7));
}

function node(w: Writer, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  for (const a of n.attrs ?? []) w.message(5, (m) => attribute(m, a));
  if (n.domain) w.string(7, n.domain);
}

function valueInfo(w: Writer, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, ONNX_TYPE[v.dtype]);
      tt.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** The serialized ModelProto of `g` (inline tensors count toward protobuf's 2 GB: onnx-external.ts moves big ones out). */
export function encodeModel(g: OnnxGraph): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // IR version 8 (ONNX 1.13+), read by every ONNX Runtime since 1.14
  w.string(2, 'tokenpipe');
  w.message(7, (gw) => {
    for (const n of g.nodes) gw.message(1, (m) => node(m, n));
    gw.string(2, g.name);
    for (const t of g.initializers) gw.message(5, (m) => tensor(m, t));
    for (const v of g.inputs) gw.message(11, (m) => valueInfo(m, v));
    for (const v of g.outputs) gw.message(12, (m) => valueInfo(m, v));
  });
  for (const o of [{ domain: '', version: g.opset }, ...(g.extraOpsets ?? [])]) {
    w.message(8, (m) => {
      if (o.domain) m.string(1, o.domain);
      m.int(2, o.version);
    });
  }
  return w.finish();
}
