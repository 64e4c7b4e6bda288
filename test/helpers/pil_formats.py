"""Writes image files of the formats PIL reads beyond sharp's own, and PIL's decode of each, for the parity test.

Usage: pil_formats.py OUT_DIR. For every fixture NAME it writes OUT_DIR/NAME (the file: by PIL where PIL can write
that variant, by hand where it cannot) and prints one JSON line {"name", "width", "height", "mode", "reference"}:
`reference` is a file of PIL's decoded pixels, as `Image.open(NAME).convert("RGBA")` bytes, except 16-bit greyscale
(PIL's mode "I"), whose reference is PIL's 16-bit values brought to 8 bits the way PIL brings a 16-bit PPM there
(round(v / 65535 * 255)).
"""

import io
import json
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(15)
W, H = 37, 23  # odd sizes: row padding and bit packing are exercised


def rgb(w=W, h=H):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def rgba(w=W, h=H):
    a = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    a[0, :, 3] = 255
    a[1, :, 3] = 0
    return a


def grey(w=W, h=H):
    return rng.integers(0, 256, (h, w), dtype=np.uint8)


def emit(name, data):
    path = out / name
    path.write_bytes(data)
    im = Image.open(path)
    im.load()
    if im.mode == "I":
        values = np.asarray(im).astype(np.float64).ravel()
        ref = bytes(min(255, round(v / 65535 * 255)) for v in values)
        ref = np.repeat(np.frombuffer(ref, np.uint8), 4).reshape(-1, 4)
        ref[:, 3] = 255
        ref = ref.tobytes()
    else:
        ref = im.convert("RGBA").tobytes()
    (out / (name + ".rgba")).write_bytes(ref)
    print(json.dumps({"name": name, "width": im.size[0], "height": im.size[1], "mode": im.mode, "reference": name + ".rgba"}))


def saved(image, fmt, **options):
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


# --- Netpbm: binary variants by PIL, plain (ASCII) and odd-maxval ones by hand --------------------------------------
emit("p6.ppm", saved(Image.fromarray(rgb()), "PPM"))
emit("p5.pgm", saved(Image.fromarray(grey()), "PPM"))
emit("p4.pbm", saved(Image.fromarray(grey() > 127), "PPM"))
emit("p5-16bit.pgm", saved(Image.fromarray(rng.integers(0, 65536, (H, W), dtype=np.int32), "I"), "PPM"))
g16 = rng.integers(0, 1001, (H, W))
emit("p5-maxval1000.pgm", b"P5\n# a comment\n%d %d\n1000\n" % (W, H) + g16.astype(">u2").tobytes())
c16 = rng.integers(0, 65536, (H, W, 3))
emit("p6-16bit.ppm", b"P6 %d %d 65535\n" % (W, H) + c16.astype(">u2").tobytes())
c7 = rng.integers(0, 8, (H, W, 3))
emit("p6-maxval7.ppm", b"P6\n%d %d\n7\n" % (W, H) + c7.astype(np.uint8).tobytes())
emit("p3.ppm", b"P3\n%d %d\n# mid-header comment\n255\n" % (W, H) + " ".join(map(str, rgb().ravel())).encode() + b"\n")
emit("p2-maxval100.pgm", b"P2\n%d %d\n100\n" % (W, H) + "\n".join(map(str, rng.integers(0, 101, H * W))).encode())
emit("p2-maxval4000.pgm", b"P2 %d %d 4000\n" % (W, H) + " ".join(map(str, rng.integers(0, 4001, H * W))).encode())
emit("p1.pbm", b"P1\n%d %d\n" % (W, H) + "".join(map(str, rng.integers(0, 2, H * W))).encode())

# --- TGA: PIL writes 8-bit grey/palette, 24 and 32-bit, plain or RLE, either origin; 16-bit written by hand ---------
rle_friendly = np.repeat(rgb(8, H), 5, axis=1)[:, :W]  # runs for the RLE packets, raw stretches too
for rle in (False, True):
    suffix = "-rle" if rle else ""
    options = {"compression": "tga_rle"} if rle else {}
    for orientation in (-1, 1):
        o = "bottom" if orientation < 0 else "top"
        emit(f"rgb24-{o}{suffix}.tga", saved(Image.fromarray(rle_friendly), "TGA", orientation=orientation, **options))
        emit(f"rgba32-{o}{suffix}.tga", saved(Image.fromarray(rgba()), "TGA", orientation=orientation, **options))
    emit(f"grey8{suffix}.tga", saved(Image.fromarray(grey()), "TGA", **options))
    emit(f"palette8{suffix}.tga", saved(Image.fromarray(rle_friendly).convert("P", palette=Image.ADAPTIVE, colors=200), "TGA", **options))


def tga16(image_type, descriptor, body):
    header = struct.pack("<BBBHHBHHHHBB", 0, 0, image_type, 0, 0, 0, 0, 0, W, H, 16, descriptor)
    return header + body


px16 = rng.integers(0, 65536, H * W, dtype=np.uint16)
emit("rgb16.tga", tga16(2, 0x21, px16.astype("<u2").tobytes()))
# RLE by hand: each row one run packet (its first pixel three times) then one raw packet of the rest.
rle16 = bytearray()
for row in px16.reshape(H, W):
    rle16 += bytes([0x80 | 2]) + struct.pack("<H", row[0])
    rest = row[3:]
    rle16 += bytes([len(rest) - 1]) + rest.astype("<u2").tobytes()
emit("rgb16-rle.tga", tga16(10, 0x00, bytes(rle16)))

# --- ICO: PNG entries by PIL, BMP (DIB) entries by PIL's bitmap_format="bmp" and by hand (paletted + AND mask) --------
icon = Image.fromarray(rgba(48, 48))
emit("png-entries.ico", saved(icon, "ICO", sizes=[(16, 16), (48, 48), (32, 32)]))
emit("bmp32-entries.ico", saved(icon, "ICO", sizes=[(16, 16), (48, 48)], bitmap_format="bmp"))


def ico_with_dib(width, height, bpp, palette, pixel_rows, mask_rows):
    """One-entry ICO whose image is a DIB: header (height doubled), palette, XOR rows, AND rows, bottom-up."""
    stride = ((width * bpp + 31) // 32) * 4
    mask_stride = ((width + 31) // 32) * 4
    xor = b"".join(r.ljust(stride, b"\0") for r in reversed(pixel_rows))
    and_ = b"".join(r.ljust(mask_stride, b"\0") for r in reversed(mask_rows))
    dib = struct.pack("<IiiHHIIiiII", 40, width, height * 2, 1, bpp, 0, len(xor) + len(and_), 0, 0, len(palette), 0)
    dib += b"".join(bytes([b, g, r, 0]) for r, g, b in palette) + xor + and_
    entry = struct.pack("<BBBBHHII", width % 256, height % 256, len(palette) % 256, 0, 1, bpp, len(dib), 22)
    return struct.pack("<HHH", 0, 1, 1) + entry + dib


def mask_rows(width, height):
    bits = rng.integers(0, 2, (height, width))
    return [np.packbits(row).tobytes() for row in bits]


pal = [tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(256)]
idx = rng.integers(0, 256, (H, W), dtype=np.uint8)
emit("bmp8-mask.ico", ico_with_dib(W, H, 8, pal, [row.tobytes() for row in idx], mask_rows(W, H)))
px = rgb()
emit("bmp24-mask.ico", ico_with_dib(W, H, 24, [], [row[:, ::-1].tobytes() for row in px], mask_rows(W, H)))

# --- BMP: PIL writes 1, 8 (grey and palette), 24 and 32 bits; 4-bit, RLE8 and RLE4 written by hand -------------------
emit("bmp1.bmp", saved(Image.fromarray(grey() > 127), "BMP"))
emit("bmp8-grey.bmp", saved(Image.fromarray(grey()), "BMP"))
emit("bmp8-palette.bmp", saved(Image.fromarray(rle_friendly).convert("P", palette=Image.ADAPTIVE, colors=200), "BMP"))
emit("bmp24.bmp", saved(Image.fromarray(rgb()), "BMP"))
emit("bmp32.bmp", saved(Image.fromarray(rgba()), "BMP"))


def bmp_file(bpp, compression, palette, raster, height=H):
    header_size = 14 + 40 + 4 * len(palette)
    dib = struct.pack("<IiiHHIIiiII", 40, W, height, 1, bpp, compression, len(raster), 0, 0, len(palette), 0)
    file_header = struct.pack("<2sIHHI", b"BM", header_size + len(raster), 0, 0, header_size)
    return file_header + dib + b"".join(bytes([b, g, r, 0]) for r, g, b in palette) + raster


pal16 = pal[:16]
idx4 = rng.integers(0, 16, (H, W), dtype=np.uint8)
rows4 = []
for row in idx4:
    padded = np.append(row, 0) if W % 2 else row
    packed = (padded[0::2] << 4 | padded[1::2]).astype(np.uint8).tobytes()
    rows4.append(packed.ljust(((W * 4 + 31) // 32) * 4, b"\0"))
emit("bmp4.bmp", bmp_file(4, 0, pal16, b"".join(rows4)))

# RLE8: per row a run of 5, an absolute stretch of 7 (odd: one pad byte), a run of the rest, end of line; a delta in
# row 3; end of bitmap.
rle8 = bytearray()
for y in range(H):
    row = rng.integers(0, 256, W, dtype=np.uint8)
    rle8 += bytes([5, row[0]]) + bytes([0, 7]) + row[5:12].tobytes() + b"\0"
    if y == 3:
        rle8 += bytes([0, 2, 0, 0, 3, 0])
    rle8 += bytes([W - 12 - (3 if y == 3 else 0), row[12]]) + bytes([0, 0])
rle8 += bytes([0, 1])
emit("bmp-rle8.bmp", bmp_file(8, 1, pal, bytes(rle8)))

rle4 = bytearray()
for _ in range(H):
    rle4 += bytes([9, int(rng.integers(0, 256))]) + bytes([0, 8]) + rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
    rle4 += bytes([W - 17, int(rng.integers(0, 256))]) + bytes([0, 0])
rle4 += bytes([0, 1])
emit("bmp-rle4.bmp", bmp_file(4, 2, pal16, bytes(rle4)))
