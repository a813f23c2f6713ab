"""A PNG reader for the tests: Pillow is not a dependency, and vispy.io.read_png needs it."""

import struct
import zlib
from pathlib import Path

import numpy as np


def read_png(path) -> np.ndarray:
    """An 8-bit RGB(A), non-interlaced PNG (as vispy.io.write_png writes them) as an (H, W, C) uint8 array."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = header
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are read here")
    c = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, 1 + width * c)
    out = np.zeros((height, width * c), np.uint8)
    for i, (kind, row) in enumerate(zip(raw[:, 0], raw[:, 1:])):
        prior = out[i - 1] if i else np.zeros_like(row)
        if kind == 0:
            out[i] = row
        elif kind == 1:  # Sub: a running sum per channel, modulo 256
            out[i] = np.cumsum(row.reshape(width, c), axis=0, dtype=np.uint8).ravel()
        elif kind == 2:  # Up
            out[i] = row + prior
        else:
            raise ValueError(f"{path}: PNG filter {kind} is not read here")
    return out.reshape(height, width, c)
