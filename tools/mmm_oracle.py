"""Shared helpers for mmm's PyTorch oracle scripts (run with Debian's /usr/bin/python3).

An oracle script builds the torch computation that an mmm test mirrors, draws fresh
random weights and inputs, runs it, and saves weights, inputs and outputs as safetensors
for the C++ test to compare against.

    from mmm_oracle import Oracle
    with Oracle("linear") as o:          # parses --out/--seed, seeds torch, prints the seed
        model = torch.nn.Linear(37, 129)
        x = torch.randn(3, 37)
        o.save("case", model.state_dict(), inputs={"x": x}, outputs={"y": model(x)})
"""
import argparse
import json
import os
import struct
import sys
import time

import torch

_DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int32: "I32",
    torch.int64: "I64",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def save_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} in the safetensors layout (8-byte little-endian header length,
    JSON header, then the raw little-endian data), without needing the safetensors package."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if not isinstance(t, torch.Tensor):
            t = torch.as_tensor(t)
        t = t.detach().contiguous().cpu()
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name}: dtype {t.dtype} has no safetensors name here")
        if t.dtype == torch.bfloat16:
            data = t.view(torch.int16).numpy().tobytes()
        else:
            data = t.numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)  # keep the data 8-byte aligned, as the format advises
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Reads a safetensors file of float32/float16/bfloat16/float64/int tensors: ({name: tensor}, metadata)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    by_name = {v: k for k, v in _DTYPES.items()}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = by_name[info["dtype"]]
        raw = bytearray(data[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.zeros(0, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype) if raw else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
    return tensors, meta


def load_weights(model, path):
    """Loads a safetensors state_dict written by save_safetensors into a torch module; only
    BatchNorm's num_batches_tracked (which mmm's files leave out) may be missing."""
    state, meta = load_safetensors(path)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise KeyError(f"{path}: missing {missing}, unexpected {result.unexpected_keys}")
    return meta


def with_float32(exact, float32):
    """Outputs for require_close_to_float64 (tests/support/oracle.hpp): each float64 result
    as float32 under its name, and PyTorch's float32 result beside it as "<name>.torch32"."""
    out = {k: v.float() for k, v in exact.items()}
    out.update({f"{k}.torch32": v for k, v in float32.items()})
    return out


class Oracle:
    """Parses the standard arguments, seeds torch and prints the seed, and saves cases."""

    def __init__(self, name, argv=None):
        parser = argparse.ArgumentParser(description=f"PyTorch oracle for {name}")
        parser.add_argument("--out", required=True, help="directory to write the cases to")
        parser.add_argument("--seed", type=int, default=None,
                            help="fixed seed (default: $MMM_SEED, else fresh each run)")
        self.args, self.extra = parser.parse_known_args(argv)
        seed = self.args.seed
        if seed is None and os.environ.get("MMM_SEED"):
            seed = int(os.environ["MMM_SEED"])
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little") ^ time.time_ns() % (1 << 31)
        self.seed = seed % (1 << 31)
        self.name = name
        torch.manual_seed(self.seed)
        torch.set_num_threads(1)
        os.makedirs(self.args.out, exist_ok=True)
        print(f"{name}: seed {self.seed} (rerun with MMM_SEED={self.seed}); writing {self.args.out}")
        sys.stdout.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def path(self, case):
        return os.path.join(self.args.out, f"{case}.safetensors")

    def save(self, case, weights=None, inputs=None, outputs=None, metadata=None):
        """One case = one file: weights under 'model.<state_dict name>' (load them with the
        prefix "model"), inputs under 'input.<name>', outputs under 'output.<name>'. The seed
        goes into the metadata."""
        tensors = {f"model.{k}": v for k, v in (weights or {}).items()}
        for k, v in (inputs or {}).items():
            tensors[f"input.{k}"] = v
        for k, v in (outputs or {}).items():
            tensors[f"output.{k}"] = v
        meta = {"seed": self.seed, "oracle": self.name, "torch": torch.__version__}
        meta.update(metadata or {})
        save_safetensors(self.path(case), tensors, meta)
