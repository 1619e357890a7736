"""Shared numpy-only helpers for dnacl's Python tools.

Run the tools with Debian's interpreter: /usr/bin/python3 (it has torch, numpy, h5py).
This module needs only numpy, so it can be imported anywhere.

Contents
  save_safetensors(path, tensors, metadata)   write a safetensors file (atomic rename)
  load_safetensors(path) -> (tensors, meta)   read one back (numpy arrays, str->str dict)
  mix32, dropout_keep, dropout_seed           the counter-based dropout hash of the C library
"""

import json
import os
import struct

import numpy as np

# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------
# Layout: 8-byte little-endian u64 N, then N bytes of UTF-8 JSON header, then the raw
# little-endian tensor bytes. The header maps each tensor name to
# {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} (offsets relative to the
# start of the data section) and may hold "__metadata__": {str: str}. We pad the header
# with spaces to a multiple of 8 bytes so the data section is 8-byte aligned.

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _dtype_name(dt):
    dt = np.dtype(dt).newbyteorder("<") if np.dtype(dt).itemsize > 1 else np.dtype(dt)
    if dt not in _NAMES:
        raise TypeError("unsupported dtype for safetensors: %s" % dt)
    return _NAMES[dt]


def save_safetensors(path, tensors, metadata=None, dtype=np.float32):
    """Write `tensors` (name -> array) to `path`.

    Every array is converted to `dtype` (float32 by default; pass dtype=None to keep each
    array's own dtype) and stored C-contiguous, in insertion order. `metadata` values are
    converted with str(). The file is written to a temporary name and renamed.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        if name == "__metadata__":
            raise ValueError("tensor name __metadata__ is reserved")
        a = np.asarray(arr)
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        a = np.ascontiguousarray(a)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        raw = a.tobytes(order="C")
        header[name] = {"dtype": _dtype_name(a.dtype), "shape": [int(s) for s in a.shape],
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)
    os.replace(tmp, path)


def load_safetensors(path):
    """Read a safetensors file. Returns (tensors: dict name -> np.ndarray, metadata: dict).

    Arrays are native-endian copies (writable). Raises ValueError on a malformed file.
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError("%s: header length %d exceeds file size" % (path, n))
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        dt = _DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, info["dtype"]))
        shape = tuple(int(s) for s in info["shape"])
        b, e = (int(v) for v in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (0 <= b <= e <= len(body)) or e - b != count * dt.itemsize:
            raise ValueError("%s: tensor %s has bad data_offsets %r" % (path, name, info["data_offsets"]))
        arr = np.frombuffer(body[b:e], dtype=dt).reshape(shape)
        tensors[name] = arr.astype(dt.newbyteorder("="), copy=True)
    return tensors, meta


# ---------------------------------------------------------------------------
# Dropout hash (must match the C library bit for bit)
# ---------------------------------------------------------------------------
#   mix32(x): x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16
#   keep(seed, i) = ((mix32(seed ^ mix32(i)) >> 8) * 2^-24) >= p    (i: flat C-order index)
#   dropout_seed(run_seed, step, layer) = mix32(run_seed ^ mix32((step*0x9E3779B9 + layer) mod 2^32))
# All arithmetic is uint32 with wrap-around. (h >> 8) * 2^-24 is exact in float32 and
# float64; for p in {0.1, 0.2, 0.5} comparing against float(p) or double(p) gives the same
# mask, because no multiple of 2^-24 lies between the two roundings of p.

_M32 = np.uint64(0xFFFFFFFF)


def mix32(x):
    """mix32 on a Python int (returns int) or an integer array (returns uint32 array)."""
    scalar = np.isscalar(x)
    v = np.asarray(x).astype(np.uint64) & _M32
    v ^= v >> np.uint64(16)
    v = (v * np.uint64(0x7FEB352D)) & _M32
    v ^= v >> np.uint64(15)
    v = (v * np.uint64(0x846CA68B)) & _M32
    v ^= v >> np.uint64(16)
    return int(v) if scalar else v.astype(np.uint32)


def dropout_seed(run_seed, step, layer):
    inner = (int(step) * 0x9E3779B9 + int(layer)) & 0xFFFFFFFF
    return mix32((int(run_seed) & 0xFFFFFFFF) ^ mix32(inner))


def dropout_keep(seed, shape, p):
    """Boolean keep mask of `shape` (flat C-order index i = 0..n-1)."""
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.uint64)
    h = mix32(np.uint64(int(seed) & 0xFFFFFFFF) ^ mix32(i).astype(np.uint64)).astype(np.uint64)
    u = (h >> np.uint64(8)).astype(np.float64) * (2.0 ** -24)
    return (u >= float(p)).reshape(shape)
