"""Development tools (replica, demo, synthetic corpus); the core never imports this package."""

from __future__ import annotations
