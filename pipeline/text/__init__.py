"""Text helpers shared by the stages: the matching normaliser and URL canonicalisation."""

from __future__ import annotations
