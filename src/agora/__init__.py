"""Agora: a commerce API built the way a careful API architect would build it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agora")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
