"""Where the built-in detection pack lives (``rules/`` in a checkout, inside the wheel when
installed)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["builtin_rules_path"]


def builtin_rules_path() -> Path:
    packaged = Path(__file__).resolve().parents[1] / "_rules"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "rules"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("the built-in rules are missing from this installation")
