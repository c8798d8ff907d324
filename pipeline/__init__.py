"""newsmon: scheduled news monitoring for ministries and wire agencies."""

from __future__ import annotations

__version__ = "0.1.0"
