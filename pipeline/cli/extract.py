"""CLI commands for extract (see README)."""

from __future__ import annotations

from pipeline.cli import app  # noqa: F401
