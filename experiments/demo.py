"""``refnn demo``: train a small network in NumPy and print its gradient check (no framework)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="train a small network and print its gradient check")
    demo.add_argument("--epochs", type=int, default=200)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Train a small network and print its gradient check before and after."""
    from reference_nn import LayerSpec, NetworkSpec, epoch_orders, fit, gradcheck
    from reference_nn._checks import AllocationError

    for option, value, low in (("--epochs", args.epochs, 1), ("--seed", args.seed, 0)):
        if value < low:
            print(f"refnn demo: {option} must be >= {low}, got {value}", file=sys.stderr)
            return 2
    spec = NetworkSpec(
        input_shape=(2,),
        layers=(LayerSpec.dense(3, "sigmoid"), LayerSpec.dense(2, "sigmoid")),
        loss="half_sse",
        optimizer="sgd",
        optimizer_options={"lr": 0.5},
        weight_init="uniform01",
        bias_init="uniform01",
    )
    try:  # before any work: an epoch count whose sample orders cannot fit is refused
        orders = epoch_orders(16, args.epochs)
    except AllocationError as exc:
        print(f"refnn demo: {exc}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    X, y = rng.random((16, 2)), rng.random((16, 2))
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(rng))
    print(f"network: {net}\n")
    print("gradient check before training (analytic backward vs central differences):")
    print(gradcheck(net, X, y), "\n")
    history = fit(
        net, spec.build_optimizer(), X, y, epochs=args.epochs, batch_size=4, orders=orders
    )
    for epoch in sorted({0, len(history.loss) // 2, len(history.loss) - 1}):
        print(f"epoch {epoch:4d}  loss {history.loss[epoch]:.6f}")
    report = gradcheck(net, X, y)
    print("\ngradient check after training:")
    print(report)
    print(f"\nworst relative error {report.worst.normwise_rel_error:.2e} ({report.worst.name})")
    return 0 if report.passed(1e-7) else 1
