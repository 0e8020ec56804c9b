"""The torchvision side of bench_image: the same work on the same JPEG, one thread, printed
as Google Benchmark JSON (real_time and cpu_time in ms per image) for compare.py.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 torchvision_peer.py --jpeg f.jpg
    /usr/bin/python3 torchvision_peer.py --write-jpeg f.jpg      # the benchmark picture

Decoding is timed both ways torchvision users decode: torchvision.io.decode_jpeg
(libjpeg-turbo, straight to a CHW uint8 tensor) and PIL (libjpeg-turbo too) followed by
the tensor conversion; compare.py takes the faster as the peer.
"""
import argparse
import io
import json
import time
import warnings

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.io import decode_jpeg
from torchvision.transforms import InterpolationMode

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def write_jpeg(path):
    # A photo-like 640x480 picture: smooth colour fields, edges and a little sensor noise.
    rng = np.random.default_rng(2024)
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float64)
    img = np.stack([128 + 90 * np.sin(0.013 * xx * (c + 1) + 0.021 * yy) + 30 * np.cos(0.05 * (xx + yy))
                    for c in range(3)], axis=-1)
    img[100:300, 200:420] = [200, 60, 40]
    img += rng.normal(0, 4, img.shape)
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=90)


def measure(fn, min_time):
    fn()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        n += 1
        real = time.perf_counter() - t0
        if real >= min_time and n >= 3:
            return real / n * 1e3, (time.process_time() - c0) / n * 1e3, n


def transform(t):
    t = F.resize(t, [256], interpolation=InterpolationMode.BILINEAR, antialias=True)
    t = F.center_crop(t, [224, 224])
    return F.normalize(F.convert_image_dtype(t, torch.float32), MEAN, STD).unsqueeze(0)


# torch.from_numpy on PIL's read-only array: fine here, nothing writes to it.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")


def pil_decode(data):
    with Image.open(io.BytesIO(data)) as im:
        return torch.from_numpy(np.asarray(im.convert("RGB"))).permute(2, 0, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jpeg")
    ap.add_argument("--write-jpeg")
    ap.add_argument("--min-time", type=float, default=0.5)
    args = ap.parse_args()
    if args.write_jpeg:
        write_jpeg(args.write_jpeg)
        return
    torch.set_num_threads(1)
    with open(args.jpeg, "rb") as f:
        data = f.read()
    tdata = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    decoded = decode_jpeg(tdata)
    work = {
        "Preset/torchvision-io/jpeg640x480_to_224": lambda: transform(decode_jpeg(tdata)),
        "Preset/torchvision-pil/jpeg640x480_to_224": lambda: transform(pil_decode(data)),
        "Decode/torchvision-io/jpeg640x480": lambda: decode_jpeg(tdata),
        "Decode/torchvision-pil/jpeg640x480": lambda: pil_decode(data),
        "Transform/torchvision/640x480_to_224": lambda: transform(decoded),
    }
    for name, mode, aa in [("1/aa:1", InterpolationMode.BILINEAR, True), ("2/aa:1", InterpolationMode.BICUBIC, True),
                           ("1/aa:0", InterpolationMode.BILINEAR, False), ("0/aa:0", InterpolationMode.NEAREST, False)]:
        work[f"Resize/torchvision/640x480_to_341x256/mode:{name}"] = (
            lambda mode=mode, aa=aa: F.resize(decoded, [256, 341], interpolation=mode, antialias=aa))
    out = {"context": {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": 1},
           "benchmarks": []}
    for name, fn in work.items():
        real, cpu, n = measure(fn, args.min_time)
        out["benchmarks"].append({"name": name, "run_type": "iteration", "iterations": n, "real_time": real,
                                  "cpu_time": cpu, "time_unit": "ms"})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
