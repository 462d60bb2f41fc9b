"""The ``refnn`` command.  Subcommands that need frameworks import them lazily, so
``refnn demo`` works with NumPy alone."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import numpy as np

Handler = Callable[[argparse.Namespace], int]


def _demo(args: argparse.Namespace) -> int:
    """Train a small network and print its gradient check before and after."""
    from . import LayerSpec, NetworkSpec, fit, gradcheck

    spec = NetworkSpec(
        input_dim=2,
        layers=(LayerSpec(3, "sigmoid"), LayerSpec(2, "sigmoid")),
        loss="half_sse",
        optimizer="sgd",
        optimizer_params={"lr": 0.5},
        weight_init="uniform01",
        bias_init="uniform01",
    )
    rng = np.random.default_rng(args.seed)
    X, y = rng.random((16, 2)), rng.random((16, 2))
    net = spec.build_network()
    net.set_parameters(spec.init_parameters(rng))
    print(f"network: {net}\n")
    print("gradient check before training (analytic backward vs central differences):")
    print(gradcheck(net, X, y), "\n")
    history = fit(net, spec.build_optimizer(), X, y, epochs=args.epochs, batch_size=4)
    for epoch in sorted({0, len(history.loss) // 2, len(history.loss) - 1}):
        print(f"epoch {epoch:4d}  loss {history.loss[epoch]:.6f}")
    report = gradcheck(net, X, y)
    print("\ngradient check after training:")
    print(report)
    print(f"\nworst relative error {report.worst.normwise_rel_error:.2e} ({report.worst.name})")
    return 0 if report.passed(1e-7) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="refnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small network and print its gradient check")
    demo.add_argument("--epochs", type=int, default=200)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo)
    _add_optional_commands(sub)
    return parser


def _add_optional_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Commands from the experiments and parity packages register themselves here."""
    try:
        from experiments.commands import register
    except ModuleNotFoundError as exc:
        if exc.name not in ("experiments", "experiments.commands"):
            raise
        return
    register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
