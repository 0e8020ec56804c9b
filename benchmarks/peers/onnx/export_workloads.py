#!/usr/bin/python3
"""Exports the peer benchmark workloads (workloads.json) for ONNX Runtime and libtorch.

Run with Debian's /usr/bin/python3 (torch 1.13; torch.onnx.export needs no `onnx` package
for models under 2 GB). For every sweep point of every workload it writes, into --out:
  <case>.onnx              torch.onnx.export, opset 14, fixed shapes
  <case>.pt                TorchScript trace, only when libtorch runs it without a native op
  <case>.in.<name>.bin     the seeded random inputs, raw little-endian
  <case>.out.<name>.bin    torch's outputs for them, so the harnesses can check the peer
  <case>.param.<name>.bin  the module's parameters, for a native libtorch op
  manifest.json            the cases, their files, shapes and the resolved libtorch op
                           (or --manifest PATH: the cache is shared, a run's manifest need not be)
A case whose files exist is not exported again (its file stem carries a hash of its entry),
so a second run costs only the time to start torch.

    /usr/bin/python3 export_workloads.py --out build-peers/models [--filter REGEX]
"""
import argparse
import glob
import hashlib
import importlib.util
import json
import os
import re
import sys
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

EXPORTER_VERSION = 1
OPSET = 14
HERE = os.path.dirname(os.path.abspath(__file__))


class MatMul(nn.Module):
    """a @ b with both operands as inputs: a plain GEMM, packing included, as BLAS sees it."""

    def forward(self, a, b):
        return a @ b


class AddOne(nn.Module):
    """The smallest graph that does work: times a runtime's per-call cost."""

    def forward(self, x):
        return x + 1.0


class MLP(nn.Module):
    """Linear layers with ReLU between them, the names nn.Sequential would give."""

    def __init__(self, *features):
        super().__init__()
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(features, features[1:])):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(fan_in, fan_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


def _namespace():
    names = {"torch": torch, "nn": nn, "F": F, "MatMul": MatMul, "AddOne": AddOne, "MLP": MLP}
    try:
        import torchvision  # whole-model workloads (ResNet, ...) name it
        names["torchvision"] = torchvision
    except ImportError:
        pass
    # An area's own modules for its workloads: the nn.Module classes of benchmarks/<area>/peer_modules.py.
    for path in sorted(glob.glob(os.path.join(HERE, "..", "..", "*", "peer_modules.py"))):
        spec = importlib.util.spec_from_file_location(f"peer_modules_{len(names)}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        names.update({k: v for k, v in vars(module).items()
                      if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == module.__name__})
    return names


def resolve(value, point, where):
    """A sweep variable's name becomes its value; lists and dicts are resolved inside."""
    if isinstance(value, str):
        if value not in point:
            raise SystemExit(f"{where}: '{value}' is not a variable of sweep point {point}")
        return point[value]
    if isinstance(value, list):
        return [resolve(v, point, where) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "op" else resolve(v, point, where)) for k, v in value.items()}
    return value


def native_flops(op):
    """Multiply-adds count two: the FLOP figure GEMM benchmarks report."""
    if op is None:
        return None
    if op["op"] == "mm":
        return 2 * op["M"] * op["N"] * op["K"]
    if op["op"] == "linear":
        return 2 * op["M"] * op["in"] * op["out"]
    if op["op"] == "mlp":
        f = op["features"]
        return sum(2 * op["M"] * a * b for a, b in zip(f, f[1:]))
    if op["op"] == "gpt2_decode_step":  # memory-bound: no FLOP figure
        return None
    raise SystemExit(f"libtorch op '{op['op']}': expected mm, linear, mlp or gpt2_decode_step")


def case_name(workload, point):
    return "/".join([workload["name"]] + [f"{k}:{v}" for k, v in point.items()])


def file_stem(name, spec):
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    return f"{slug}-{digest}"


def make_input(spec, generator):
    if isinstance(spec, dict):
        shape, dtype = spec["shape"], spec.get("dtype", "float32")
        if dtype == "int64":
            return torch.randint(0, spec["high"], shape, generator=generator, dtype=torch.int64)
        if dtype != "float32":
            raise SystemExit(f"input dtype {dtype}: only float32 and int64 are supported")
    else:
        shape = spec
    return torch.randn(shape, generator=generator)


def flatten(value):
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flatten(v)]
    raise SystemExit(f"module output of type {type(value).__name__}: expected tensors, tuples, lists")


def atomically(path, write):
    """write(temporary path), then rename: a concurrent run sees the whole file or none."""
    temporary = f"{path}.{os.getpid()}.tmp"
    write(temporary)
    os.replace(temporary, path)


def write_raw(path, tensor):
    def write(target):
        with open(target, "wb") as f:
            f.write(tensor.detach().contiguous().numpy().tobytes())
    atomically(path, write)


def export_case(workload, point, out_dir):
    name = case_name(workload, point)
    where = f"workloads.json: {name}"
    peers = workload.get("peers", ["ort", "libtorch"])
    native = workload.get("libtorch")
    native = resolve(native, point, where) if native else None
    spec = {"v": EXPORTER_VERSION, "torch": torch.__version__, "opset": OPSET,
            "module": workload["module"], "inputs": workload["inputs"], "point": point}
    stem = file_stem(name, spec)
    seed = int(hashlib.sha1(stem.encode()).hexdigest()[:8], 16)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)

    expression = workload["module"].format(**point)
    module = eval(expression, _namespace())  # the registry is ours, a trusted file
    module.eval()
    inputs, input_entries = [], []
    for input_name, input_spec in workload["inputs"].items():
        input_spec = resolve(input_spec, point, where) if not isinstance(input_spec, dict) else \
            {**input_spec, "shape": resolve(input_spec["shape"], point, where)}
        tensor = make_input(input_spec, generator)
        inputs.append(tensor)
        input_entries.append({"name": input_name, "shape": list(tensor.shape),
                              "dtype": str(tensor.dtype).replace("torch.", ""),
                              "file": f"{stem}.in.{input_name}.bin"})
    with torch.no_grad():
        outputs = module(*inputs)
    outputs = flatten(outputs)  # as torch.onnx.export orders them: LSTM's (y, (h, c)) -> y, h, c
    output_names = ["y"] if len(outputs) == 1 else [f"y{i}" for i in range(len(outputs))]
    output_entries = [{"name": n, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                       "file": f"{stem}.out.{n}.bin"} for n, t in zip(output_names, outputs)]

    # A native libtorch op gets the module's parameters in state_dict order, so that
    # harness computes, and can check, the very same outputs.
    params = module.state_dict() if native else {}
    param_entries = [{"name": n, "shape": list(t.shape), "dtype": "float32",
                      "file": f"{stem}.param.{n}.bin"} for n, t in params.items()]
    torchscript = None
    if "libtorch" in peers and native is None:
        torchscript = f"{stem}.pt"
    wanted = [f"{stem}.onnx"] + [e["file"] for e in input_entries + output_entries + param_entries]
    wanted += [torchscript] if torchscript else []
    fresh = all(os.path.exists(os.path.join(out_dir, f)) for f in wanted)
    if not fresh:
        started = time.time()
        for entry, tensor in zip(input_entries, inputs):
            write_raw(os.path.join(out_dir, entry["file"]), tensor)
        for entry, tensor in zip(output_entries, outputs):
            write_raw(os.path.join(out_dir, entry["file"]), tensor)
        for entry, tensor in zip(param_entries, params.values()):
            write_raw(os.path.join(out_dir, entry["file"]), tensor)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            # Fixed shapes (no dynamic axes): each case is its own file, so the runtime may
            # specialise on them as it would for a deployed model.
            atomically(os.path.join(out_dir, f"{stem}.onnx"), lambda target: torch.onnx.export(
                module, tuple(inputs), target, opset_version=OPSET, do_constant_folding=True,
                input_names=[e["name"] for e in input_entries], output_names=output_names))
            if torchscript:
                traced = torch.jit.trace(module, tuple(inputs))
                atomically(os.path.join(out_dir, torchscript), traced.save)
        print(f"export: {name} -> {stem}.onnx ({time.time() - started:.1f} s)")
    report = workload.get("report_as")
    report = {"family": report["family"], "workload": report["workload"].format(**point)} if report else \
        {"family": workload["name"], "workload": "/".join(f"{k}:{v}" for k, v in point.items())}
    return {"name": name, "workload": workload["name"], "point": point, "peers": peers, "report": report,
            "module": expression, "onnx": f"{stem}.onnx", "torchscript": torchscript,
            "inputs": input_entries, "outputs": output_entries, "libtorch": native,
            "params": param_entries, "flops": native_flops(native),
            "fresh": fresh}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="cache directory (in the build tree)")
    parser.add_argument("--workloads", default=os.path.join(HERE, "workloads.json"))
    parser.add_argument("--filter", default="", help="regex on case names to export")
    parser.add_argument("--manifest", help="where to write the manifest (default OUT/manifest.json); "
                        "its file names are relative to its \"dir\", the cache directory")
    args = parser.parse_args()

    with open(args.workloads) as f:
        registry = json.load(f)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    pattern = re.compile(args.filter)
    cases = []
    for workload in registry["workloads"]:
        for point in workload["sweep"]:
            if pattern.search(case_name(workload, point)):
                cases.append(export_case(workload, point, args.out))
    reused = sum(c.pop("fresh") for c in cases)
    manifest = {"exporter_version": EXPORTER_VERSION, "torch": torch.__version__, "opset": OPSET,
                "workloads": os.path.abspath(args.workloads), "dir": os.path.abspath(args.out),
                "cases": cases}
    manifest_path = args.manifest or os.path.join(args.out, "manifest.json")

    def write(target):
        with open(target, "w") as f:
            json.dump(manifest, f, indent=1)
    atomically(manifest_path, write)
    print(f"export: {len(cases)} cases in {args.out} ({reused} already there)")
    if not cases:
        sys.exit(f"export: no case matches --filter '{args.filter}'")


if __name__ == "__main__":
    main()
