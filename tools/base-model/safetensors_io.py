"""Minimal pure-Python safetensors writer and reader for F32 tensors (docs llama-family-spec.md §5).

Written by hand so the dev tool needs nothing beyond apt's torch: layout is
[u64 LE header length N][N bytes compact JSON, space-padded to a multiple of 8][data], tensors laid
back to back in name order (all F32, so the reference writer's alignment sort reduces to names),
`__metadata__` first in the header.
"""
import json
import os
import struct

import numpy as np


def save_file(tensors, path, metadata=None):
    """tensors: name -> torch tensor or numpy array (converted to little-endian float32)."""
    header = {'__metadata__': metadata or {'format': 'pt'}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        arr = np.ascontiguousarray((t.detach().cpu().numpy() if hasattr(t, 'detach') else np.asarray(t)).astype('<f4'))
        data = arr.tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(',', ':')).encode('utf-8')
    raw += b' ' * (-len(raw) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_file(path):
    """name -> float32 numpy array, with the reader checks that matter here (contiguous, sizes)."""
    with open(path, 'rb') as f:
        buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n])
    header.pop('__metadata__', None)
    out = {}
    end = 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        b, t = e['data_offsets']
        assert e['dtype'] == 'F32' and b == end and t - b == 4 * int(np.prod(e['shape'], dtype=np.int64)), name
        out[name] = np.frombuffer(buf, dtype='<f4', count=(t - b) // 4, offset=8 + n + b).reshape(e['shape'])
        end = t
    assert 8 + n + end == len(buf), 'trailing bytes'
    return out
