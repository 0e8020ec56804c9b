"""Oracle for mmm's image preprocessing (tests/image/image.cpp).

Random images of odd sizes are saved by PIL as PNG (RGB, gray, RGBA, palette), BMP and
JPEG (4:2:0, 4:2:2, 4:4:4, gray, progressive, CMYK with Adobe's marker) into the oracle
directory; PIL decodes them again (and converts JPEGs to L and RGBA too); 16-bit PNGs
(RGB written here, gray by PIL) expect the high byte of each sample, which is what PIL
gives for 16-bit RGB (its 16-bit gray mode I;16 converts by clipping instead, so for that
file numpy's high byte is the reference). torchvision 0.14's tensor
transforms run on the decoded pixels as uint8 CHW tensors. Each file below holds the inputs
(HWC uint8, as numpy sees a PIL image), the outputs, and a JSON list of its cases in the
metadata key "cases".
"""
import io
import json
import os

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode

from mmm_oracle import Oracle

MODES = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
         "bicubic": InterpolationMode.BICUBIC}


def random_image(rng, h, w, c):
    # Half smooth gradients, half noise: smooth areas exercise rounding near .5, noise
    # exercises bicubic over- and undershoot (clamping).
    yy, xx = np.mgrid[0:h, 0:w]
    base = (yy * rng.uniform(0, 255 / max(h, 1)) + xx * rng.uniform(0, 255 / max(w, 1)))[..., None]
    noise = rng.integers(0, 256, size=(h, w, c))
    mask = rng.random((h, w, 1)) < 0.5
    img = np.where(mask, noise, base + rng.integers(-8, 9, size=(h, w, c)))
    img = np.clip(img, 0, 255).astype(np.uint8)
    return img if c > 1 else img[..., 0]


def chw(hwc):
    t = torch.from_numpy(np.array(hwc))
    return (t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)).contiguous()


def hwc(t):
    return t.permute(1, 2, 0).contiguous()


with Oracle("image") as o:
    rng = np.random.default_rng(o.seed)
    out = o.args.out
    sizes = {"odd": (37, 53), "vga": (480, 640), "tiny": (3, 5), "tall": (61, 29), "one": (1, 1)}
    images = {k: random_image(rng, h, w, 3) for k, (h, w) in sizes.items()}
    images["gray"] = random_image(rng, 23, 31, 1)
    images["rgba"] = random_image(rng, 19, 27, 4)

    # ---- Files, and PIL's decode of them ----
    files, decoded = [], {}
    def add_file(name, pil_image, fmt, **kw):
        path = os.path.join(out, name)
        pil_image.save(path, fmt, **kw)
        with Image.open(path) as im:
            im.load()
            native = np.asarray(im.convert("RGBA") if im.mode == "P" and "transparency" in im.info
                                else im.convert("RGB") if im.mode in ("P", "CMYK") else im)
            rgb = np.asarray(im.convert("RGB"))
            n = len(files)
            files.append({"file": name, "format": fmt, "native": f"native_{n}", "rgb": f"rgb_{n}"})
            if fmt == "JPEG":
                files[-1].update(gray=f"gray_{n}", rgba=f"rgba_{n}", subsampling=kw.get("subsampling", -1))
                decoded[f"gray_{n}"] = torch.from_numpy(np.asarray(im.convert("L")).copy())
                decoded[f"rgba_{n}"] = torch.from_numpy(np.asarray(im.convert("RGBA")).copy())
        decoded[files[-1]["native"]] = torch.from_numpy(native.copy())
        decoded[files[-1]["rgb"]] = torch.from_numpy(rgb.copy())

    def add_png16(name, samples):
        """A 16-bit PNG written by hand (PIL has no 16-bit RGB mode to write); the reference
        is each sample's high byte."""
        import struct, zlib
        h, w = samples.shape[:2]
        channels = 1 if samples.ndim == 2 else samples.shape[2]
        raw = b"".join(b"\0" + samples[y].astype(">u2").tobytes() for y in range(h))
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, {1: 0, 3: 2, 4: 6}[channels], 0, 0, 0))
        png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
        with open(os.path.join(out, name), "wb") as f:
            f.write(png)
        high = (samples >> 8).astype(np.uint8)
        n = len(files)
        files.append({"file": name, "format": "PNG16", "native": f"native_{n}", "rgb": f"rgb_{n}"})
        decoded[f"native_{n}"] = torch.from_numpy(high.copy())
        decoded[f"rgb_{n}"] = torch.from_numpy(np.repeat(high[..., None], 3, axis=2) if channels == 1 else high[..., :3].copy())
        if channels == 3:
            with Image.open(os.path.join(out, name)) as im:  # PIL agrees for 16-bit RGB
                assert np.array_equal(np.asarray(im.convert("RGB")), high), "PIL does not take the high byte"

    add_file("odd.png", Image.fromarray(images["odd"]), "PNG")
    add_file("vga.png", Image.fromarray(images["vga"]), "PNG")
    add_file("tiny.png", Image.fromarray(images["tiny"]), "PNG")
    add_file("gray.png", Image.fromarray(images["gray"]), "PNG")
    add_file("rgba.png", Image.fromarray(images["rgba"]), "PNG")
    add_file("palette.png", Image.fromarray(images["odd"]).convert("P", palette=Image.ADAPTIVE, colors=61), "PNG")
    add_file("odd.bmp", Image.fromarray(images["odd"]), "BMP")
    add_file("tall.bmp", Image.fromarray(images["tall"]), "BMP")
    add_file("gray.bmp", Image.fromarray(images["gray"]), "BMP")
    add_file("odd.jpg", Image.fromarray(images["odd"]), "JPEG", quality=90)
    add_file("vga.jpg", Image.fromarray(images["vga"]), "JPEG", quality=85)
    add_file("vga444.jpg", Image.fromarray(images["vga"]), "JPEG", quality=95, subsampling=0)
    add_file("gray.jpg", Image.fromarray(images["gray"]), "JPEG", quality=90)
    add_file("progressive.jpg", Image.fromarray(images["tall"]), "JPEG", quality=80, progressive=True)
    add_file("vga422.jpg", Image.fromarray(images["vga"]), "JPEG", quality=90, subsampling=1)
    add_file("odd422.jpg", Image.fromarray(images["odd"]), "JPEG", quality=75, subsampling=1)
    add_file("cmyk.jpg", Image.fromarray(images["odd"]).convert("CMYK"), "JPEG", quality=90)
    add_png16("rgb16.png", rng.integers(0, 65536, size=(13, 17, 3)).astype(np.uint16))
    add_png16("gray16.png", rng.integers(0, 65536, size=(9, 11)).astype(np.uint16))
    o.save("decode", outputs=decoded, metadata={"cases": json.dumps(files)})

    # The transform cases run on PIL's decode of the lossless files (the same pixels the
    # C++ side gets by decoding them, which the decode cases check separately).
    src = {k: torch.from_numpy(v) for k, v in images.items()}
    inputs = {k: v for k, v in src.items()}

    # ---- Resize ----
    cases, outs = [], {}
    targets = {"odd": [(20, 31), (61, 97), (37, 100), (12, 53), (37, 53), (74, 106), (5, 3)],
               "vga": [(256, 341), (224, 224), (97, 131), (481, 700)],
               "tiny": [(7, 2), (1, 1), (11, 13)], "tall": [(16, 9)],
               "one": [(4, 3)], "gray": [(9, 40)], "rgba": [(11, 13)]}
    for name, sizes_ in targets.items():
        for (h, w) in sizes_:
            for mode in MODES:
                for aa in ([False] if mode == "nearest" else [False, True]):
                    y = F.resize(chw(images[name]), [h, w], interpolation=MODES[mode], antialias=aa)
                    cid = f"r{len(cases)}"
                    cases.append({"id": cid, "image": name, "h": h, "w": w, "mode": mode, "antialias": aa})
                    outs[cid] = hwc(y) if y.shape[0] > 1 else y[0]
    # Shorter side, as the ImageNet preset asks it.
    for name, shorter in [("vga", 256), ("odd", 24), ("tall", 40)]:
        y = F.resize(chw(images[name]), [shorter], interpolation=InterpolationMode.BILINEAR, antialias=True)
        cid = f"r{len(cases)}"
        cases.append({"id": cid, "image": name, "shorter": shorter, "h": y.shape[1], "w": y.shape[2],
                      "mode": "bilinear", "antialias": True})
        outs[cid] = hwc(y)
    o.save("resize", inputs=inputs, outputs=outs, metadata={"cases": json.dumps(cases)})

    # ---- Center crop and pad ----
    cases, outs = [], {}
    for name, (h, w) in [("odd", (20, 20)), ("odd", (41, 60)), ("odd", (36, 52)), ("odd", (35, 50)),
                         ("odd", (37, 70)), ("tiny", (8, 9)), ("vga", (224, 224)), ("tall", (58, 3))]:
        y = F.center_crop(chw(images[name]), [h, w])
        cid = f"c{len(cases)}"
        cases.append({"id": cid, "op": "center_crop", "image": name, "h": h, "w": w})
        outs[cid] = hwc(y)
    for name, ltrb in [("odd", (2, 3, 4, 1)), ("tiny", (4, 2, 0, 2)), ("gray", (5, 0, 1, 7))]:
        for mode in ["constant", "edge", "reflect", "symmetric"]:
            fill = int(rng.integers(0, 256))
            y = F.pad(chw(images[name]), list(ltrb), fill=fill, padding_mode=mode)
            cid = f"c{len(cases)}"
            cases.append({"id": cid, "op": "pad", "image": name, "ltrb": list(ltrb), "mode": mode, "fill": fill})
            outs[cid] = hwc(y) if y.shape[0] > 1 else y[0]
    o.save("crop_pad", inputs=inputs, outputs=outs, metadata={"cases": json.dumps(cases)})

    # ---- Normalize and the ImageNet preset ----
    cases, outs = [], {}
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    for name in ["odd", "tiny", "vga"]:
        m = [float(v) for v in rng.uniform(0.2, 0.8, 3)]
        s = [float(v) for v in rng.uniform(0.1, 0.5, 3)]
        y = F.normalize(F.convert_image_dtype(chw(images[name]), torch.float32), m, s)
        cid = f"n{len(cases)}"
        cases.append({"id": cid, "op": "normalize", "image": name, "mean": m, "std": s})
        outs[cid] = y.unsqueeze(0)
    presets = [("vga", 256, 224, "bilinear", True), ("odd", 256, 224, "bilinear", True),
               ("tall", 256, 224, "bilinear", True), ("gray", 256, 224, "bilinear", True),
               ("rgba", 256, 224, "bilinear", True), ("vga", 256, 224, "bicubic", False),
               ("odd", 20, 32, "bilinear", True), ("tall", 24, 23, "bicubic", True),
               ("tiny", 4, 5, "nearest", False)]
    for name, size, crop, mode, aa in presets:
        pil = Image.fromarray(images[name]).convert("RGB")
        t = chw(np.asarray(pil))
        y = F.resize(t, [size], interpolation=MODES[mode], antialias=aa)
        y = F.center_crop(y, [crop, crop])
        y = F.normalize(F.convert_image_dtype(y, torch.float32), mean, std)
        cid = f"n{len(cases)}"
        cases.append({"id": cid, "op": "preset", "image": name, "resize": size, "crop": crop, "mode": mode,
                      "antialias": aa})
        outs[cid] = y.unsqueeze(0)
    o.save("normalize", inputs=inputs, outputs=outs, metadata={"cases": json.dumps(cases)})
