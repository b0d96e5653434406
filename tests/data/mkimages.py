#!/usr/bin/env python3
"""Regenerate the small binary images of tests/data/site/img/.

Standard library only. The images are committed; this script documents how
they were made and rebuilds them byte for byte:

    python3 tests/data/mkimages.py tests/data/site/img

PNG: 8-bit RGB, zlib-compressed rows. GIF89a: a 4-colour palette and LZW
data that restarts (clear code) every two pixels, so every code is 3 bits.
JPEG: baseline grayscale, 8x8 blocks of one grey each (only DC
coefficients), quantisation 1, the standard DC luminance Huffman table and
an AC table holding only end-of-block.
"""
import os
import struct
import sys
import zlib


def png(width, height, pixel):
    def chunk(kind, data):
        body = kind + data
        return (struct.pack(">I", len(data)) + body +
                struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF))

    raw = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width))
        for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def gif(width, height, palette, index):
    assert len(palette) == 4
    out = bytearray(b"GIF89a")
    out += struct.pack("<HHBBB", width, height, 0x81, 0, 0)  # GCT, 4 colours
    for rgb in palette:
        out += bytes(rgb)
    out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    min_code = 2
    clear, eoi = 4, 5
    codes = []
    pixels = [index(x, y) for y in range(height) for x in range(width)]
    for i in range(0, len(pixels), 2):
        codes.append(clear)
        codes.extend(pixels[i:i + 2])
    codes.append(eoi)
    bits = 0
    nbits = 0
    data = bytearray()
    for c in codes:
        bits |= c << nbits
        nbits += 3
        while nbits >= 8:
            data.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        data.append(bits & 0xFF)
    out.append(min_code)
    for i in range(0, len(data), 255):
        block = data[i:i + 255]
        out.append(len(block))
        out += block
    out += b"\x00\x3b"
    return bytes(out)


DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
DC_VALS = list(range(12))


def huff_codes(bits, vals):
    codes = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


def jpeg(width, height, grey):
    """grey(bx, by) gives the grey level of the 8x8 block (bx, by)."""
    assert width % 8 == 0 and height % 8 == 0

    def seg(marker, payload):
        return struct.pack(">HH", marker, len(payload) + 2) + payload

    out = bytearray(b"\xff\xd8")
    out += seg(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    out += seg(0xFFDB, b"\x00" + b"\x01" * 64)
    out += seg(0xFFC0, struct.pack(">BHHB", 8, height, width, 1) +
               b"\x01\x11\x00")
    out += seg(0xFFC4, b"\x00" + bytes(DC_BITS) + bytes(DC_VALS))
    out += seg(0xFFC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    out += seg(0xFFDA, b"\x01\x01\x00\x00\x3f\x00")
    dc_codes = huff_codes(DC_BITS, DC_VALS)
    acc = []

    def put(value, length):
        for i in range(length - 1, -1, -1):
            acc.append((value >> i) & 1)

    prev = 0
    for by in range(height // 8):
        for bx in range(width // 8):
            dc = 8 * (grey(bx, by) - 128)
            diff = dc - prev
            prev = dc
            cat = abs(diff).bit_length()
            code, length = dc_codes[cat]
            put(code, length)
            if cat:
                put(diff if diff > 0 else diff - 1 + (1 << cat), cat)
            put(0, 1)  # AC: end of block
    while len(acc) % 8:
        acc.append(1)
    for i in range(0, len(acc), 8):
        byte = int("".join(map(str, acc[i:i + 8])), 2)
        out.append(byte)
        if byte == 0xFF:
            out.append(0x00)
    out += b"\xff\xd9"
    return bytes(out)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(outdir, exist_ok=True)
    images = {
        "red.png": png(16, 16, lambda x, y: (255, 16 * y, 16 * x)),
        "green.png": png(16, 16, lambda x, y: (16 * x, 200, 16 * y)),
        "blue.png": png(24, 12, lambda x, y: (10 * x, 20 * y, 255)),
        "checker.png": png(8, 8, lambda x, y: (255, 255, 255)
                           if (x + y) % 2 else (0, 0, 0)),
        "logo.gif": gif(8, 8, [(0, 0, 0), (255, 255, 255), (255, 0, 0),
                               (0, 0, 255)],
                        lambda x, y: (x // 2 + y // 2) % 4),
        "dot.gif": gif(1, 1, [(255, 255, 255), (0, 0, 0), (0, 0, 0),
                              (0, 0, 0)], lambda x, y: 1),
        "photo1.jpg": jpeg(16, 16, lambda bx, by: 40 + 60 * bx + 100 * by),
        "photo2.jpg": jpeg(24, 8, lambda bx, by: 250 - 90 * bx),
        "photo3.jpg": jpeg(8, 8, lambda bx, by: 128),
    }
    for name, data in sorted(images.items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
