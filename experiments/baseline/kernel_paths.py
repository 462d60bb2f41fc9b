"""Other CPUs, emulated on this one through the libraries' own kernel switches.

BLAS, oneDNN, ATen and XLA pick their kernels by the CPU's features at run time, and each lets
the widest instruction set it uses be capped from the environment.  A capped run takes the
code paths an older or different CPU would take, so its roundings differ the way another CI
runner's would.  Each profile below is one such machine; ``measure`` runs ``refnn baseline
check --json`` under every profile in a process of its own and gathers, per dtype and item
kind, how far each framework's error against the reference grew: the figures behind
``parity_tests.harness.tolerances.BASELINE_ENVELOPE``.

    python -m experiments.baseline.kernel_paths baselines/pinned [--profiles a,b] [--json F]

The switches (each library's documented one):

* ``ATEN_CPU_CAPABILITY``: PyTorch's vectorised ATen kernels (default, avx2, avx512);
* ``MKL_ENABLE_INSTRUCTIONS``: the instruction set Intel MKL (torch's BLAS) may use;
* ``ONEDNN_MAX_CPU_ISA``: oneDNN (torch's and TensorFlow's convolution / matmul primitives);
* ``TF_ENABLE_ONEDNN_OPTS``: TensorFlow's oneDNN kernels on or off (Eigen's when off);
* ``XLA_FLAGS=--xla_cpu_max_isa``: the instruction set XLA's CPU compiler emits (Keras's XLA
  loop, JAX);
* ``OPENBLAS_CORETYPE``: the kernel family NumPy's OpenBLAS uses;
* ``NPY_DISABLE_CPU_FEATURES``: NumPy's own SIMD loops.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from parity_tests.harness.workers import kill_with_parent

PROFILES: dict[str, dict[str, str]] = {
    # an AVX2 server (a Haswell-to-Zen 3 CI runner)
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",
        "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL",
    },
    # an old or minimal virtual CPU: SSE4.2 only
    "sse4": {
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "XLA_FLAGS": "--xla_cpu_max_isa=SSE4_2",
        "OPENBLAS_CORETYPE": "Nehalem",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL X86_V3",
    },
    # TensorFlow built or configured without oneDNN (Eigen's kernels)
    "tf-eigen": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}


def run_profile(
    baseline: Path,
    profile: str,
    extra: Sequence[str] = (),
    command: Sequence[str] = (sys.executable, "-m", "experiments.cli"),
) -> dict[str, Any]:
    """``refnn baseline check`` of ``baseline`` (``command`` runs ``refnn``; ``extra``: more
    options) in a fresh process under ``profile``: its parsed ``--json`` output plus
    ``returncode`` and ``stdout``."""
    env = {**os.environ, **PROFILES[profile]}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "check.json"
        cmd = [*command, "baseline", "check", str(baseline), "--json", str(out), *extra]
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=kill_with_parent,
        )  # fmt: skip
        try:
            stdout, stderr = proc.communicate()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if not out.is_file():
            raise RuntimeError(f"profile {profile}: the check wrote nothing\n{stderr[-2000:]}")
        data: dict[str, Any] = json.loads(out.read_text())
    data["returncode"] = proc.returncode
    data["stdout"] = stdout
    return data


def summarise(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per profile and framework: tensors whose bits moved and the largest ULPs; per dtype,
    item kind and role (framework / reference): the largest growth of the error against the
    reference, over every profile."""
    moved: dict[str, dict[str, list[int]]] = {}
    worst: dict[str, dict[str, Any]] = {}
    for profile, data in runs.items():
        per_fw = moved.setdefault(profile, {})
        for f in data["figures"]:
            counts = per_fw.setdefault(f["framework"], [0, 0, 0])
            counts[0] += 1
            counts[1] += f["ulps"] > 0
            counts[2] = max(counts[2], f["ulps"])
            role = "reference" if f["framework"] == "numpy" else f["kind"]
            key = f"{f['dtype']}/{role}"
            if f["growth"] > worst.get(key, {}).get("growth", -1.0):
                worst[key] = {**f, "profile": profile}
    return {"moved": moved, "worst": worst}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.baseline.kernel_paths",
        description="Check a baseline under every emulated CPU (kernel switches) and print "
        "how far each framework's error against the reference grew.",
    )
    parser.add_argument("dir", help="a baseline folder")
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--json", default=None, help="write the summary to this file")
    args = parser.parse_args(argv)
    names = [p for p in args.profiles.split(",") if p]
    unknown = [p for p in names if p not in PROFILES]
    if unknown or not names:
        print(f"unknown profile(s) {unknown}; known: {', '.join(PROFILES)}", file=sys.stderr)
        return 2
    runs = {}
    for name in names:
        runs[name] = run_profile(Path(args.dir), name)
        print(f"{name}: exit {runs[name]['returncode']}", flush=True)
    summary = summarise(runs)
    for profile, per_fw in summary["moved"].items():
        for fw, (n, changed, ulps) in per_fw.items():
            print(f"{profile:10} {fw:8} {changed:5} of {n:5} tensors moved, up to {ulps} ulp")
    for key, f in sorted(summary["worst"].items()):
        print(
            f"{key:18} largest growth {f['growth']:.2e} ({f['profile']}: {f['item']} "
            f"[{f['framework']}] {f['tensor']}, error {f['error_then']:.2e} -> "
            f"{f['error_now']:.2e})"
        )
    if args.json:  # the summary and every tensor's figures under every profile
        figures = {name: run["figures"] for name, run in runs.items()}
        Path(args.json).write_text(json.dumps({**summary, "figures": figures}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
