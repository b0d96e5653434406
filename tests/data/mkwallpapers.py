#!/usr/bin/env python3
"""Regenerate tests/data/site/wallpapers/: a small wallpaper site for the demo.

Standard library only; the output is committed and this script rebuilds it
byte for byte:

    python3 tests/data/mkwallpapers.py tests/data/site/wallpapers

The shape is the classic crawl pagegrab is for: a list page (index.html)
whose <div id="main"> links twelve detail pages through thumbnails, and
detail pages (N.html) that show one full-size image in <div id="img">.
Only the full images are wanted; the thumbnails, the site logo and the
"related" links on each detail page are what a careless crawl would
pick up too.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkimages import png  # noqa: E402

COUNT = 12
NAMES = ["aurora", "basalt", "cirrus", "delta", "ember", "fjord",
         "glacier", "harbor", "iris", "juniper", "kelp", "lagoon"]


def full(i):
    # 320x180 with a per-image pattern, so every file differs and weighs
    # 10-20 KiB after zlib (enough to show MiB/s, small enough for git).
    def px(x, y):
        ring = ((x - 160) ** 2 + (y - 90) ** 2) // (900 + 200 * i) % 2
        return ((x // 16 * 13 + 21 * i) % 256,
                (y // 12 * 17 + 70 * ring) % 256,
                (180 - 13 * i + 50 * ((x // 40 + y // 30) % 2)) % 256)
    return png(320, 180, px)


def thumb(i):
    return png(32, 18, lambda x, y: ((x * 8 + 20 * i) % 256, y * 14,
                                     (200 - 15 * i) % 256))


def page(title, body):
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
            "<title>%s</title></head>\n<body>\n"
            "<div id=\"top\"><a href=\"../index.html\"><img src=\"../img/logo.gif\""
            " alt=\"home\"></a></div>\n%s</body>\n</html>\n" % (title, body))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "wallpapers"
    os.makedirs(os.path.join(out, "thumbs"), exist_ok=True)
    os.makedirs(os.path.join(out, "full"), exist_ok=True)
    items = []
    for i, name in enumerate(NAMES[:COUNT]):
        n = i + 1
        with open(os.path.join(out, "full", "%s.png" % name), "wb") as f:
            f.write(full(i))
        with open(os.path.join(out, "thumbs", "%s.png" % name), "wb") as f:
            f.write(thumb(i))
        items.append('    <li><a href="%d.html"><img src="thumbs/%s.png" '
                     'alt="%s"></a></li>\n' % (n, name, name))
        related = "".join('<li><a href="%d.html">%s</a></li>' %
                          (j % COUNT + 1, NAMES[j % COUNT])
                          for j in (n, n + 1))
        body = ('<h1>%s</h1>\n<div id="img"><img src="full/%s.png" alt="%s">'
                '</div>\n<ul class="related">%s</ul>\n' %
                (name, name, name, related))
        with open(os.path.join(out, "%d.html" % n), "w") as f:
            f.write(page(name, body))
    body = ('<h1>Wallpapers</h1>\n<div id="main">\n  <ul>\n%s  </ul>\n'
            '</div>\n' % "".join(items))
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write(page("Wallpapers", body))


if __name__ == "__main__":
    main()
