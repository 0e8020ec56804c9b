"""Part of tests/apps/draw.cpp: PIL reads each PNG mmm wrote (verifying every chunk's CRC;
zlib verifies the Adler-32) and must find the raw pixels saved beside it.
Argument: a listing of "path height width channels" lines."""
import sys

import numpy as np
from PIL import Image, ImageFile

ImageFile.LOAD_TRUNCATED_IMAGES = False
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
bad = 0
for line in open(sys.argv[1]):
    path, h, w, c = line.split()
    h, w, c = int(h), int(w), int(c)
    with Image.open(path) as im:
        im.load()
        got = np.asarray(im)
        mode = im.mode
    want = np.fromfile(path + ".raw", dtype=np.uint8).reshape((h, w, c) if c > 1 else (h, w))
    if mode != MODES[c] or got.shape != want.shape or not np.array_equal(got, want):
        print(f"{path}: PIL reads mode {mode} shape {got.shape}, mmm wrote {MODES[c]} {want.shape}; "
              f"{int(np.sum(got != want)) if got.shape == want.shape else 'all'} values differ")
        bad += 1
print(f"PIL: {bad} of the PNGs differ" if bad else "PIL reads every PNG as written")
sys.exit(1 if bad else 0)
