"""Medians over run.sh's rounds and the mmm/torchvision ratios, as a Markdown table."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from bench_rounds import load_rounds, median  # noqa: E402

out, command = sys.argv[1], sys.argv[2]
rows, _ = load_rounds(out)


def med(name, i):
    return median(rows, name, i)


def fastest(*names):
    names = [n for n in names if n in rows]
    return min(names, key=lambda n: med(n, 1)) if names else None


R = "640x480_to_341x256/mode:"
WORK = {  # workload -> (mmm row, peer row)
    "decode + resize 256 (bilinear, antialias) + crop 224 + normalize, 640×480 JPEG": (
        "Preset/mmm/jpeg640x480_to_224",
        fastest("Preset/torchvision-io/jpeg640x480_to_224", "Preset/torchvision-pil/jpeg640x480_to_224")),
    "decode 640×480 JPEG": ("Decode/mmm/jpeg640x480",
                           fastest("Decode/torchvision-io/jpeg640x480", "Decode/torchvision-pil/jpeg640x480")),
    "same pipeline, mmm on the stb_image fallback (no libjpeg-turbo)": (
        "Preset/mmm-stb/jpeg640x480_to_224",
        fastest("Preset/torchvision-io/jpeg640x480_to_224", "Preset/torchvision-pil/jpeg640x480_to_224")),
    "decode, mmm on the stb_image fallback (no libjpeg-turbo)": (
        "Decode/mmm-stb/jpeg640x480",
        fastest("Decode/torchvision-io/jpeg640x480", "Decode/torchvision-pil/jpeg640x480")),
    "resize + crop + normalize (decoded pixels)": ("Transform/mmm/640x480_to_224",
                                                  "Transform/torchvision/640x480_to_224"),
    "resize 640×480 → 341×256 bilinear, antialias": (f"Resize/mmm/{R}1/aa:1", f"Resize/torchvision/{R}1/aa:1"),
    "resize 640×480 → 341×256 bicubic, antialias": (f"Resize/mmm/{R}2/aa:1", f"Resize/torchvision/{R}2/aa:1"),
    "resize 640×480 → 341×256 bilinear": (f"Resize/mmm/{R}1/aa:0", f"Resize/torchvision/{R}1/aa:0"),
    "resize 640×480 → 341×256 nearest": (f"Resize/mmm/{R}0/aa:0", f"Resize/torchvision/{R}0/aa:0"),
}

rounds = max(len(v) for v in rows.values())
print(f"Command: `{command}`; medians of {rounds} rounds, 1 thread.\n")
print("Ratio = mmm time / torchvision time (≤ 1.0: mmm at least as fast). CPU time is the less noisy "
      "figure on a shared machine. Peer row used for decode: the faster of torchvision.io.decode_jpeg and PIL.\n")
print("| Workload | peer | mmm CPU ms | peer CPU ms | ratio (CPU) | mmm real ms | peer real ms | ratio (real) "
      "| mmm images/s (CPU) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for work, (ours, peer) in WORK.items():
    if ours not in rows or not peer or peer not in rows:
        continue
    r_m, c_m, r_p, c_p = med(ours, 0), med(ours, 1), med(peer, 0), med(peer, 1)
    print(f"| {work} | {peer.split('/')[1]} | {c_m:.3f} | {c_p:.3f} | {c_m / c_p:.2f} | {r_m:.3f} | {r_p:.3f} "
          f"| {r_m / r_p:.2f} | {1e3 / c_m:,.0f} |")
print()
print("All rows (median CPU ms):\n")
for name in sorted(rows):
    print(f"- `{name}`: {med(name, 1):.3f}")
