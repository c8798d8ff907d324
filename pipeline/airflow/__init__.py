"""The Airflow adapter: the only package under pipeline/ that imports Airflow."""

from __future__ import annotations
