"""What every ``gantransfer`` command shares: argparse types, and a parser whose errors are one line.

Every bad argument ends in one line ``gantransfer: error: ...`` and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 2


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the full usage stays in ``--help``)."""

    def error(self, message):
        print(f"gantransfer: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def steps_spec(text: str) -> int | tuple[int, ...]:
    """``100`` (shared out over the scales) or ``60,180`` (the steps at each scale, coarse to fine; their
    values are checked by :class:`~gantransfer.methods.optimize.TransferConfig`, before anything is loaded)."""
    if "," not in text:
        return positive_int(text)
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers such as 60,180, got {text!r}") from None


def weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def layer_spec(text: str) -> dict[str, float]:
    """``relu1_2,relu2_2:0.5`` → ``{"relu1_2": 1.0, "relu2_2": 0.5}``."""
    out = {}
    for item in text.split(","):
        name, _, given = item.strip().partition(":")
        out[name] = weight(given) if given else 1.0
    return out


def run_command(name: str, run, args) -> int:
    """``run(args)`` for the command ``gantransfer NAME`` with a parser of its own: its exit code, or 2 with one line
    ``gantransfer NAME: error: ...`` for a bad input or file, 130 with one line on Ctrl-C."""
    try:
        return run(args)
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, OSError) as err:
        print(f"gantransfer {name}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"gantransfer {name}: interrupted", file=sys.stderr)
        return 130
