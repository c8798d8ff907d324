"""Settings, seed files and sources."""

from __future__ import annotations
