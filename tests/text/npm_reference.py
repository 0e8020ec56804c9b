"""The npm packages the tokenizer oracles run under node as their reference (js-tiktoken,
tokenizers): installed once into a prefix in the build tree, reused offline after that."""
import fcntl
import os
import shutil
import subprocess
import sys


def prefix_argument(extra, who):
    """The --npm-prefix DIR among an oracle's extra arguments."""
    for i, a in enumerate(extra):
        if a == "--npm-prefix" and i + 1 < len(extra):
            return extra[i + 1]
    sys.exit(f"{who}: --npm-prefix DIR is required")


def ensure_package(prefix, spec, who):
    """npm install `spec` (name@version) into `prefix` unless it is there already."""
    name = spec.rsplit("@", 1)[0]
    installed = os.path.join(prefix, "node_modules", name, "package.json")
    if os.path.exists(installed):
        return
    npm = shutil.which("npm")
    if not npm:
        sys.exit(f"{who}: npm is not installed (apt-get install nodejs npm)")
    os.makedirs(prefix, exist_ok=True)
    # One install at a time per prefix: two oracles installing different packages at once
    # (ctest -j) each rewrote package.json without the other's and npm pruned the other's
    # package (seen: js-tiktoken gone, the tiktoken oracle failing with MODULE_NOT_FOUND).
    with open(os.path.join(prefix, ".install.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(installed):
            return
        print(f"installing {spec} into {prefix}", flush=True)
        subprocess.run([npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", spec],
                       check=True, timeout=600)


def node(script, *args, who):
    """Runs a reference script under node; returns its standard output."""
    exe = shutil.which("node")
    if not exe:
        sys.exit(f"{who}: node is not installed (apt-get install nodejs)")
    return subprocess.run([exe, script, *args], check=True, capture_output=True, text=True, timeout=600).stdout.strip()
