#!/usr/bin/python3
"""Writes test/fixtures/safetensors/torch-oracle.safetensors: tensors whose values PyTorch computed.

Dev tool, not a runtime dependency. Run with the apt python that has torch:
    /usr/bin/python3 tools/safetensors-oracle.py

The `safetensors` pip package is not installed here and Debian ships no python3-safetensors, so
the file is written by a small pure-Python writer that follows the format (llama-family-spec.md
section 5, i.e. the reference Rust writer): tensors sorted by dtype in the reference enum order
(descending) then by name, compact JSON header with __metadata__ first, padded with spaces to a
multiple of 8. A pure-Python reader then re-parses the file and checks every tensor against torch.

What the TypeScript test checks against it (test/safetensors-torch-oracle.test.ts):
  - f32 -> bf16 / f16 rounding: `src_f32.to(bfloat16 / float16)` done by torch;
  - bf16 / f16 -> f32 upcasts: `.float()` done by torch, incl. every f16 subnormal;
  - integer and bool dtypes, a scalar, an empty tensor and a 2-D tensor in row-major order;
  - byte-identical re-serialisation by our writer.
"""
import json
import os
import struct
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'safetensors', 'torch-oracle.safetensors')

# Reference Rust enum order (derived Ord), which the writer sorts by, descending.
RANK = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
NAMES = {
    torch.bool: 'BOOL', torch.uint8: 'U8', torch.int8: 'I8', torch.int16: 'I16', torch.float16: 'F16',
    torch.bfloat16: 'BF16', torch.int32: 'I32', torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64',
}
WIDTH = {'BOOL': 1, 'U8': 1, 'I8': 1, 'I16': 2, 'F16': 2, 'BF16': 2, 'I32': 4, 'F32': 4, 'F64': 8, 'I64': 8}


def f32_from_bits(bits):
    return torch.tensor(bits, dtype=torch.int64).to(torch.int32).view(torch.float32)


def build():
    t = {}
    # Rounding cases for f32 -> bf16 / f16: ties both ways, just above/below, subnormals,
    # overflow, infinities, signed zero. NaNs are left out: torch 1.13 turns every NaN into
    # 0xFFFF for bf16 while we keep the payload, so NaN is covered by the hand-written tests.
    bits = [
        0x3F800000, 0x3F807FFF, 0x3F808000, 0x3F808001, 0x3F818000, 0xBF818000, 0x80000000, 0x00000001,
        0x00008000, 0x00018000, 0x7F7F7FFF, 0x7F7F8000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000,
        0x3F801000, 0x3F803000, 0x3F802000, 0x3F800FFF,  # f16 ties around 1.0 (ulp 2^-10 = 0x2000)
        0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000,  # 65504 .. overflow to Inf
        0x33800000, 0x33000000, 0x33400000, 0x33C00000, 0x34200000, 0x387FC000, 0x387FE000, 0x38800000,  # f16 subnormals
    ]
    g = torch.Generator().manual_seed(1234)
    rnd = torch.randn(64, generator=g) * torch.exp(torch.randn(64, generator=g) * 6)
    src = torch.cat([f32_from_bits([b - (1 << 32) if b >= 1 << 31 else b for b in bits]), rnd.float()])
    t['src_f32'] = src
    t['as_bf16'] = src.to(torch.bfloat16)
    t['as_f16'] = src.to(torch.float16)
    t['bf16_up'] = t['as_bf16'].float()
    t['f16_up'] = t['as_f16'].float()
    # Every f16 bit pattern from 0x0000 to 0x0800 (all subnormals and the first normals), both signs,
    # plus a stride over the rest, upcast by torch.
    pats = list(range(0, 0x0801)) + list(range(0x0801, 0x10000, 37))
    pats += [p | 0x8000 for p in range(0, 0x0801)]
    half = torch.tensor(pats, dtype=torch.int32).to(torch.int16).view(torch.float16)
    t['f16_patterns'] = half
    t['f16_patterns_up'] = half.float()
    t['i8'] = torch.arange(-128, 128, dtype=torch.int8)
    t['u8'] = torch.arange(0, 256, dtype=torch.int32).to(torch.uint8)
    t['i16'] = torch.tensor([-32768, -1, 0, 1, 32767], dtype=torch.int16)
    t['i32'] = torch.tensor([-2147483648, -1, 0, 1, 2147483647], dtype=torch.int32)
    t['i64'] = torch.tensor([-(2 ** 63), -1, 0, 1, 2 ** 53 + 1, 2 ** 63 - 1], dtype=torch.int64)
    t['bool'] = torch.tensor([True, False, False, True, True])
    t['f64'] = torch.tensor([1 / 3, -2.5e-300], dtype=torch.float64)
    t['scalar'] = torch.tensor(7.5)
    t['empty'] = torch.zeros(0, 3)
    t['matrix'] = torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5  # row-major: 0, .5, 1, 1.5, 2, 2.5
    return t


def raw_bytes(x):
    return x.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def serialize(tensors, metadata):
    items = sorted(tensors.items(), key=lambda kv: (-RANK.index(NAMES[kv[1].dtype]), kv[0].encode()))
    header = {'__metadata__': metadata}
    offset = 0
    blobs = []
    for name, x in items:
        b = raw_bytes(x)
        header[name] = {'dtype': NAMES[x.dtype], 'shape': list(x.shape), 'data_offsets': [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    return struct.pack('<Q', len(h)) + h + b''.join(blobs)


def parse(buf):
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop('__metadata__', {})
    data = buf[8 + n:]
    end = max((v['data_offsets'][1] for v in header.values()), default=0)
    assert end == len(data), 'buffer not fully covered'
    out = {}
    for name, v in header.items():
        dt = {k: d for d, k in NAMES.items()}[v['dtype']]
        s, e = v['data_offsets']
        u8 = torch.frombuffer(bytearray(data[s:e]), dtype=torch.uint8) if e > s else torch.zeros(0, dtype=torch.uint8)
        out[name] = u8.view(dt).reshape(v['shape'])
    return meta, out


def main():
    tensors = build()
    buf = serialize(tensors, {'format': 'pt', 'source': 'tools/safetensors-oracle.py'})
    meta, back = parse(buf)
    assert meta['format'] == 'pt'
    for name, x in tensors.items():
        y = back[name]
        assert y.dtype == x.dtype and y.shape == x.shape, name
        assert raw_bytes(y) == raw_bytes(x), name
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + '.tmp-%d' % os.getpid()
    with open(tmp, 'wb') as f:
        f.write(buf)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, OUT)
    print('wrote %s (%d bytes, %d tensors)' % (os.path.relpath(OUT), len(buf), len(tensors)), file=sys.stderr)


if __name__ == '__main__':
    main()
