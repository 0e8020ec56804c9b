"""What the examples' full-set agreement scripts (examples/*/agreement.py) share: their
command line, the trained PyTorch model with its metadata, and one run of the example's
program over a list of files (its --list mode)."""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
from mmm_oracle import load_weights  # noqa: E402


def parser(doc, program, model):
    """--binary (the example's program) and --model (its weights, default `model`); add more."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--binary", required=True, help=f"the {program} program (examples/{program}/task.cpp)")
    p.add_argument("--model", default=model)
    return p


def load_model(model, path):
    """Loads the training script's `model` from `path` for evaluation; returns the metadata."""
    import torch
    torch.set_num_threads(1)
    meta = load_weights(model, path)
    model.eval()
    return meta


def run_program(binary, model, directory, names, *more):
    """The program's rows (tab-separated fields) for the files `names` in `directory`, and the
    seconds it took: one process, --list of them, `more` arguments after."""
    listing = os.path.join(directory, "list.tsv")
    with open(listing, "w") as f:
        f.writelines(f"{name}\n" for name in names)
    start = time.time()
    out = subprocess.run([binary, "--model", model, "--list", listing, *more], check=True, capture_output=True,
                         text=True).stdout
    return [line.split("\t") for line in out.splitlines()], time.time() - start
