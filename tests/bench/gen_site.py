#!/usr/bin/env python3
"""Generate the benchmark site (standard library only).

    python3 tests/bench/gen_site.py OUTDIR [--small N] [--large N]
                                           [--lists N] [--per-list N]

Writes, deterministically (fixed seed):

  OUTDIR/small/pNNNNN.html     N pages of exactly 4096 bytes (default 10,000)
  OUTDIR/large/fNNN.bin        N files of exactly 1 MiB (default 200)
  OUTDIR/gallery/list/NN.html  list pages (default 50), each linking
                               --per-list detail pages (default 20) through
                               <div id="main"><div></div><div></div><div></div>
                               <div><ul><li><a href=...>
  OUTDIR/gallery/detail/NNNN.html  one per gallery image, holding
                               <div id="img"><img src=...>
  OUTDIR/gallery/img/NNNN.jpg  the images, 16-24 KiB (about 20 KiB) each,
                               a JPEG SOI/APP0 header, random bytes, EOI

Nothing else is linked from the gallery pages, so a recursive crawler
(wget2 -r -l 2) and pagegrab's XPath crawl fetch the same 1 + N + N*M URLs
per list page. The directory must be empty or absent.
"""
import argparse
import os
import random
import sys

PAGE_SIZE = 4096
LARGE_SIZE = 1 << 20

WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
         "eiusmod tempor incididunt ut labore et dolore magna aliqua enim "
         "minim veniam quis nostrud exercitation ullamco laboris nisi "
         "aliquip commodo consequat duis aute irure in reprehenderit "
         "voluptate velit esse cillum fugiat nulla pariatur").split()


_stamp = [1700000000]


def write(path, data):
    """Write a file with an mtime of its own: nginx's ETag is mtime-size,
    and wget2 skips a page whose ETag it has seen ("known ETag"), so equal
    sizes written in the same second would hide pages from it."""
    with open(path, "wb") as f:
        f.write(data)
    _stamp[0] += 1
    os.utime(path, (_stamp[0], _stamp[0]))


def small_page(rng, i):
    head = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>Page %d</title></head>\n<body><h1>Page %d</h1>\n<p>"
            % (i, i)).encode()
    tail = b"</p>\n</body></html>\n"
    room = PAGE_SIZE - len(head) - len(tail)
    words = []
    n = 0
    while n < room:
        w = rng.choice(WORDS)
        words.append(w)
        n += len(w) + 1
    body = " ".join(words).encode()[:room]
    body += b" " * (room - len(body))
    page = head + body + tail
    assert len(page) == PAGE_SIZE
    return page


def jpeg_bytes(rng, size):
    head = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01"
            b"\x00\x00")
    tail = b"\xff\xd9"
    return head + rng.randbytes(size - len(head) - len(tail)) + tail


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--small", type=int, default=10000)
    ap.add_argument("--large", type=int, default=200)
    ap.add_argument("--lists", type=int, default=50)
    ap.add_argument("--per-list", type=int, default=20)
    ap.add_argument("--seed", type=int, default=20241122)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    out = a.outdir
    for d in ("small", "large", "gallery/list", "gallery/detail",
              "gallery/img"):
        os.makedirs(os.path.join(out, d), exist_ok=True)

    for i in range(a.small):
        write(os.path.join(out, "small", "p%05d.html" % i),
              small_page(rng, i))

    for i in range(a.large):
        write(os.path.join(out, "large", "f%03d.bin" % i),
              rng.randbytes(LARGE_SIZE))

    n_img = a.lists * a.per_list
    for i in range(n_img):
        size = 20480 + rng.randint(-4096, 4096)
        write(os.path.join(out, "gallery", "img", "%04d.jpg" % i),
              jpeg_bytes(rng, size))
        detail = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                  "<title>Wallpaper %d</title></head>\n<body>\n"
                  "<div id=\"top\"><h1>Wallpaper %d</h1></div>\n"
                  "<div id=\"img\"><img src=\"/gallery/img/%04d.jpg\" "
                  "alt=\"wallpaper %d\"></div>\n"
                  "<p>1920x1080, %d bytes</p>\n</body></html>\n"
                  % (i, i, i, i, size))
        write(os.path.join(out, "gallery", "detail", "%04d.html" % i),
              detail.encode())

    for L in range(a.lists):
        items = "".join(
            "<li><a href=\"../detail/%04d.html\" title=\"wallpaper %d\">"
            "wallpaper %d</a></li>\n" % (k, k, k)
            for k in range(L * a.per_list, (L + 1) * a.per_list))
        page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                "<title>Gallery, page %d</title></head>\n<body>\n"
                "<div id=\"main\"><div><h1>Gallery</h1></div>"
                "<div><p>page %d of %d</p></div><div></div>"
                "<div><ul>\n%s</ul></div></div>\n</body></html>\n"
                % (L + 1, L + 1, a.lists, items))
        write(os.path.join(out, "gallery", "list", "%02d.html" % L),
              page.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
