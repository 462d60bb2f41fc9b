"""``python -m experiments.bench_conv``: the reference conv2d against torch's, forward + backward.

The shape timed: a batch of 32 images 32x32 with 16 channels, 32 filters 3x3, stride 1,
'same' padding, float32 (and float64), one thread each (NumPy's BLAS through threadpoolctl,
``torch.set_num_threads(1)``: the suite runs one worker per core).  Each side computes the
output, then the input gradient and the kernel and bias gradients for a random upstream
gradient; the time is the median of ``--repeat`` runs after ``--warmup``.  The goal: the
NumPy reference within 5x of torch eager on CPU.  Prints both timings and the ratio; no test
times anything.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np


def _median_seconds(fn: Callable[[], object], warmup: int, repeat: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(dtype: str, warmup: int, repeat: int) -> tuple[float, float]:
    """(NumPy seconds, torch seconds) for one forward + backward."""
    import torch
    from threadpoolctl import threadpool_limits

    from reference_nn.layers import Conv2D

    rng = np.random.default_rng(0)
    layer = Conv2D((32, 32, 16), dtype, filters=32, kernel_size=3, padding="same")
    layer.params["W"][...] = rng.normal(scale=0.1, size=layer.params["W"].shape)
    x = rng.normal(size=(32, 32, 32, 16)).astype(dtype)
    g = rng.normal(size=(32, 32, 32, 32)).astype(dtype)

    def numpy_step() -> None:
        layer.forward(x)
        layer.backward(g)

    torch.set_num_threads(1)
    tdtype = getattr(torch, dtype)
    conv = torch.nn.Conv2d(16, 32, 3, padding=1, dtype=tdtype)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    gt = torch.from_numpy(g).permute(0, 3, 1, 2).contiguous()

    def torch_step() -> None:
        conv.zero_grad()
        xt.grad = None
        conv(xt).backward(gt)

    with threadpool_limits(1):
        numpy_seconds = _median_seconds(numpy_step, warmup, repeat)
    torch_seconds = _median_seconds(torch_step, warmup, repeat)
    return numpy_seconds, torch_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.bench_conv", description=__doc__)
    parser.add_argument("--repeat", type=int, default=10, help="timed runs (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    args = parser.parse_args(argv)
    dtypes = ("float32", "float64") if args.dtype == "both" else (args.dtype,)
    print("conv2d forward + backward: batch 32, 32x32x16 -> 32 filters 3x3, same, 1 thread")
    for dtype in dtypes:
        numpy_seconds, torch_seconds = bench(dtype, args.warmup, args.repeat)
        ratio = numpy_seconds / torch_seconds
        verdict = "within 5x" if ratio <= 5 else "SLOWER than 5x"
        print(
            f"{dtype}: numpy {numpy_seconds * 1e3:8.1f} ms   torch eager "
            f"{torch_seconds * 1e3:8.1f} ms   ratio {ratio:5.2f} ({verdict})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
