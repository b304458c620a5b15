"""Draws the app's icons as PNG files with nothing but the standard library, so no image tool is needed.

The design is a white house with a green door on the party-neutral dark green of the theme. The
"maskable" icons fill the whole square and keep the house inside the central 80% safe zone, so a
launcher may crop them to any shape; the plain icons have rounded corners and transparency.
Run: python pwa/icons/make_icons.py  (rewrites the PNGs beside this script)
"""
from __future__ import annotations

import os
import struct
import zlib

GREEN = (20, 83, 45, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)
HERE = os.path.dirname(os.path.abspath(__file__))


def _inside_house(x: float, y: float) -> str | None:
    """What a point of the unit square shows: 'door', 'house' or None (background). House in 0.25..0.75."""
    roof_top, eaves, base = 0.24, 0.47, 0.76
    left, right = 0.30, 0.70
    if eaves <= y <= base and left <= x <= right:
        if 0.445 <= x <= 0.555 and y >= 0.60:
            return "door"
        return "house"
    if roof_top <= y < eaves:
        half = (y - roof_top) / (eaves - roof_top) * 0.27  # the roof overhangs the walls a little
        if abs(x - 0.5) <= half:
            return "house"
    return None


def _pixel(x: int, y: int, size: int, maskable: bool) -> tuple:
    samples = []
    for sx in (0.25, 0.75):  # 2x2 supersampling smooths the roof's edges
        for sy in (0.25, 0.75):
            u, v = (x + sx) / size, (y + sy) / size
            if not maskable and not _in_rounded_square(u, v, 0.18):
                samples.append(CLEAR)
                continue
            part = _inside_house(u, v)
            samples.append(WHITE if part == "house" else GREEN)
    return tuple(sum(s[i] for s in samples) // len(samples) for i in range(4))


def _in_rounded_square(u: float, v: float, radius: float) -> bool:
    cx = min(max(u, radius), 1 - radius)
    cy = min(max(v, radius), 1 - radius)
    return (u - cx) ** 2 + (v - cy) ** 2 <= radius ** 2


def png(size: int, maskable: bool) -> bytes:
    """An RGBA PNG of the icon at ``size`` pixels square."""
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter: none
        for x in range(size):
            rows.extend(_pixel(x, y, size, maskable))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


def main() -> None:
    for size in (192, 512):
        for maskable in (False, True):
            name = f"icon-{'maskable-' if maskable else ''}{size}.png"
            with open(os.path.join(HERE, name), "wb") as handle:
                handle.write(png(size, maskable))
            print("wrote", name)


if __name__ == "__main__":
    main()
