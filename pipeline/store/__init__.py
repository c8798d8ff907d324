"""The database: models, sessions, migrations, run accounting."""

from __future__ import annotations
