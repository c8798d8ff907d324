"""CLI commands for topics (see README)."""

from __future__ import annotations

from pipeline.cli import app  # noqa: F401
