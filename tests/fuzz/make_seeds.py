#!/usr/bin/env python3
"""make_seeds.py: writes the fuzz targets' seed corpora, tests/fuzz/corpus/<target>/.

    /usr/bin/python3 tests/fuzz/make_seeds.py

Small valid and nearly valid inputs of each reader's format, so the fuzzer
starts inside the format instead of spending its time finding a signature:
PNG files written here chunk by chunk (every colour type, bit depths 1 to
16, palettes with transparency, Adam7 interlacing, a gAMA chunk); JPEG files
from cjpeg (Debian libjpeg-turbo-progs: grey, 4:2:0, 4:2:2,
4:4:4, RGB colour space, progressive, arithmetic, restart markers);
IDX, CIFAR, folder and config inputs in the layouts their targets' headers
describe (fuzz_idx.c, fuzz_cifar.c, fuzz_folder.c, fuzz_config.c); byte
strings for the targets that build HDF5 files (fuzz_ckpt.c, fuzz_runfile.c). Deterministic: rerunning it
rewrites the same bytes. Needs only the standard library and cjpeg.
"""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pixel(x, y, k):
    return (x * 37 + y * 91 + k * 53) & 255


# ---- PNG ----

def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(w, h, ctype, depth, rows, extra=b"", interlace=0):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def rows8(w, h, channels):
    return [bytes(pixel(x, y, k) for x in range(w) for k in range(channels)) for y in range(h)]


def adam7_rows(w, h):
    """grey 8-bit rows of each Adam7 pass, in order"""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
              (0, 1, 1, 2)]
    rows = []
    for x0, y0, dx, dy in passes:
        xs = range(x0, w, dx)
        if not xs:
            continue
        rows += [bytes(pixel(x, y, 0) for x in xs) for y in range(y0, h, dy)]
    return rows


def png_seeds():
    put("png", "grey8.png", png(5, 3, 0, 8, rows8(5, 3, 1)))
    put("png", "rgb8.png", png(4, 4, 2, 8, rows8(4, 4, 3)))
    put("png", "rgba8.png", png(3, 2, 6, 8, rows8(3, 2, 4)))
    put("png", "grey_alpha8.png", png(3, 3, 4, 8, rows8(3, 3, 2)))
    put("png", "grey1.png", png(9, 2, 0, 1, [b"\xa5\x80", b"\x3c\x00"]))
    put("png", "grey16.png", png(2, 2, 0, 16, [b"\x12\x34\xab\xcd", b"\x00\x01\xff\xff"]))
    plte = chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 20, 30, 40]))
    trns = chunk(b"tRNS", bytes([255, 128, 0]))
    put("png", "palette4_trns.png", png(4, 2, 3, 4, [b"\x01\x23", b"\x32\x10"], plte + trns))
    put("png", "adam7.png", png(9, 9, 0, 8, adam7_rows(9, 9), interlace=1))
    put("png", "gamma.png", png(3, 3, 2, 8, rows8(3, 3, 3), chunk(b"gAMA", struct.pack(">I", 100000))))
    whole = png(6, 5, 2, 8, rows8(6, 5, 3))
    put("png", "truncated.png", whole[:len(whole) * 2 // 3])
    # headers of large images over a few rows of data: refused or cut short
    # without allocating or decoding for their size
    put("png", "huge_rgb_truncated.png", png(16384, 16384, 2, 8, [bytes(3 * 16384)] * 2))
    put("png", "wide_grey.png", png(65535, 1, 0, 8, [bytes(65535)]))
    put("png", "too_wide.png", png(65537, 1, 0, 8, [bytes(65537)]))


# ---- JPEG ----

def pnm(path, w, h, channels):
    magic = b"P5" if channels == 1 else b"P6"
    data = bytes(pixel(x, y, k) for y in range(h) for x in range(w) for k in range(channels))
    with open(path, "wb") as f:
        f.write(magic + b"\n%d %d\n255\n" % (w, h) + data)


def run(args):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout


def jpeg_seeds(tmp):
    grey, rgb, odd = (os.path.join(tmp, n) for n in ("g.pgm", "c.ppm", "o.ppm"))
    pnm(grey, 8, 8, 1)
    pnm(rgb, 16, 12, 3)
    pnm(odd, 13, 7, 3)
    variants = [
        ("grey.jpg", ["-quality", "75"], grey),
        ("rgb420.jpg", ["-quality", "75"], rgb),
        ("rgb422.jpg", ["-sample", "2x1"], rgb),
        ("odd444.jpg", ["-sample", "1x1", "-quality", "95"], odd),
        ("rgbspace.jpg", ["-rgb"], odd),
        ("progressive.jpg", ["-progressive"], rgb),
        ("arithmetic.jpg", ["-arithmetic"], odd),
        ("restart.jpg", ["-restart", "1", "-optimize"], rgb),
        ("q5.jpg", ["-quality", "5", "-dct", "float"], odd),
    ]
    for name, opts, src in variants:
        put("jpeg", name, run(["cjpeg"] + opts + [src]))
    whole = run(["cjpeg", rgb])
    put("jpeg", "truncated.jpg", whole[:len(whole) // 2])
    # the frame header of a small file patched to 16384 x 16384 and 65535 x 65535
    for name, side in (("huge_16384.jpg", 16384), ("huge_65535.jpg", 65535)):
        for src in ("rgb420.jpg", "progressive.jpg"):
            with open(os.path.join(OUT, "jpeg", src), "rb") as f:
                data = bytearray(f.read())
            sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
            data[sof + 5:sof + 9] = struct.pack(">HH", side, side)
            put("jpeg", src[:-4] + "_" + name, bytes(data))


# ---- IDX: flags, u16 length of the images file, images file, labels file ----

def idx_images(n, h, w):
    return struct.pack(">IIII", 0x803, n, h, w) + bytes(pixel(i, i // 3, 0) for i in range(n * h * w))


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def idx_input(flags, images, labels):
    return bytes([flags]) + struct.pack(">H", len(images)) + images + labels


def idx_seeds():
    img, lab = idx_images(2, 3, 2), idx_labels([7, 0])
    put("idx", "raw.bin", idx_input(0, img, lab))
    put("idx", "gz_both.bin", idx_input(3, img, lab))
    put("idx", "gz_in_input.bin",
        idx_input(0, gzip.compress(img, mtime=0), gzip.compress(lab, mtime=0)))
    put("idx", "label_range.bin", idx_input(1, img, idx_labels([3, 10])))
    put("idx", "count_mismatch.bin", idx_input(0, img, idx_labels([1, 2, 3])))
    put("idx", "trailing.bin", idx_input(2, img + b"\0", lab))
    put("idx", "truncated.bin", idx_input(0, img[:-3], lab))


# ---- CIFAR: label byte(s) then 3072 planar pixels per record ----

def cifar_record(labels, seed):
    return bytes(labels) + bytes(pixel(i, seed, i // 1024) for i in range(3072))


def cifar_seeds():
    put("cifar", "c10_one.bin", cifar_record([3], 1))
    put("cifar", "c10_two.bin", cifar_record([9], 2) + cifar_record([0], 3))
    put("cifar", "c100_one.bin", cifar_record([4, 57], 4))
    put("cifar", "c10_bad_label.bin", cifar_record([10], 5))


# ---- folder: see fuzz_folder.c for the record layout ----

ALPHA = "abcdefghijklmnopqrstuvwxyz0123456789._-"
EXT = [".png", ".jpg", ".jpeg", ".PNG", ".JpG", ".txt", "", ".png.x"]


def name(s):
    return bytes([len(s) - 1]) + bytes(ALPHA.index(ch) for ch in s)


def cls(s):
    return b"\0" + name(s)


def file(s, ext, data, top=False):
    return bytes([3 if top else 1]) + name(s) + bytes([EXT.index(ext)]) + struct.pack(">H", len(data)) + data


def folder_seeds():
    seeds = os.path.join(OUT, "png"), os.path.join(OUT, "jpeg")
    with open(os.path.join(seeds[0], "rgb8.png"), "rb") as f:
        rgb_png = f.read()
    with open(os.path.join(seeds[0], "grey8.png"), "rb") as f:
        grey_png = f.read()
    with open(os.path.join(seeds[1], "rgb420.jpg"), "rb") as f:
        rgb_jpg = f.read()
    with open(os.path.join(seeds[1], "grey.jpg"), "rb") as f:
        grey_jpg = f.read()
    put("folder", "two_classes.bin",
        bytes([0]) + cls("cat") + file("a", ".png", rgb_png) + file("b", ".jpg", rgb_jpg) +
        cls("dog") + file("c", ".jpeg", grey_jpg))
    put("folder", "grey_side20.bin",
        bytes([128 | 12]) + cls("b") + file("x", ".PNG", grey_png) + cls("a") +
        file("y", ".JpG", rgb_jpg))
    put("folder", "skipped_entries.bin",
        bytes([3]) + file("top", ".png", grey_png, top=True) + cls("only") +
        file(".hidden", ".png", grey_png) + file("notes", ".txt", b"text") +
        b"\x02" + name("sub") + b"\x04" + name("link") + bytes([EXT.index(".png"), 0]) +
        file("ok", ".png", grey_png))
    put("folder", "bad_image.bin", bytes([0]) + cls("k") + file("z", ".png", rgb_png[:40]))
    put("folder", "empty_class.bin", bytes([0]) + cls("e") + cls("f") + file("q", ".jpg", grey_jpg))


CONFIG = b"""[experiment]
name = seed
seed = 1
method = fp32
threads = 1

[data]
dataset = fmnist
limit = 1000

[model]
arch = small

[train]
epochs = 2
batch = 64
lr = 0.05
schedule = cosine
"""


def sets(*args):
    return bytes([len(args)]) + b"".join(a + b"\n" for a in args)


def config_seeds():
    put("config", "plain.bin", sets() + CONFIG)
    put("config", "sets.bin", sets(b"train.lr=0.1", b"model.arch=small") + CONFIG)
    put("config", "sweep.bin", sets(b"train.epochs=1") + CONFIG +
        b"\n[sweep]\ntrain.lr = 0.1, 0.05\ntrain.batch = 32, 64\n")
    put("config", "zip.bin", sets() + CONFIG +
        b"\n[sweep]\nquant.w_bits = 4, 8\nquant.a_bits = 4, 8\nzip = quant.w_bits, quant.a_bits\n")
    put("config", "bad.bin", sets(b"train.lr") + b"include = missing.ini\n[train]\nlr = x\n")


def h5_seeds(target):
    """The HDF5 targets build their files from the bytes' choices (fuzz_h5.h):
    zeros, ones and a few fixed pseudo-random strings walk different shapes."""
    import random
    put(target, "zeros.bin", bytes(256))
    put(target, "ones.bin", bytes([1]) * 256)
    put(target, "twos.bin", bytes([2]) * 512)
    rng = random.Random(20)
    for i in range(3):
        put(target, "mixed%d.bin" % i, bytes(rng.randrange(256) for _ in range(400 + 200 * i)))


def main():
    if not shutil.which("cjpeg"):
        sys.exit("make_seeds.py: needs cjpeg (Debian package libjpeg-turbo-progs)")
    with tempfile.TemporaryDirectory() as tmp:
        png_seeds()
        jpeg_seeds(tmp)
    idx_seeds()
    cifar_seeds()
    folder_seeds()
    config_seeds()
    h5_seeds("ckpt")
    h5_seeds("runfile")


if __name__ == "__main__":
    main()
