"""The pipeline's stages: crawl, process, orchestrate, report."""

from __future__ import annotations
