"""Engine, sessions and schema upgrades (SQLite with WAL + foreign keys, or PostgreSQL)."""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config.settings import get_settings
from pipeline.errors import ConfigError, DatabaseUnavailable

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# SQLite waits this long for a competing writer before raising "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# The SQLAlchemy dialects the project ships drivers for and tests (after normalise_url).
SUPPORTED_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql+psycopg"})
SUPPORTED_SCHEMES = "sqlite:///PATH, postgresql:// or postgresql+psycopg://"


def check_url(url: str) -> str:
    """``url`` normalised; ConfigError naming the supported schemes for any other database."""
    url = normalise_url(url)
    try:
        driver = make_url(url).drivername
    except ArgumentError:
        raise ConfigError(
            f"NEWSMON_DATABASE_URL is not a database URL; expected {SUPPORTED_SCHEMES}"
        ) from None
    if driver not in SUPPORTED_DRIVERS:
        # Only the scheme is echoed: the rest of the URL may hold a password.
        raise ConfigError(
            f"NEWSMON_DATABASE_URL: unsupported database {driver + '://'!r}; "
            f"newsmon supports {SUPPORTED_SCHEMES}"
        )
    return url


def display_url(url: str) -> str:
    """A database URL fit for printing and logs: its password replaced by ``***``."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def is_sqlite(engine: Engine) -> bool:
    """True for the SQLite backend."""
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL for concurrent readers, foreign keys on, and a busy timeout for writers."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the project's connection settings."""
    url = check_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if str(path) not in {"", ":memory:"}:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(
                    f"cannot create the folder of SQLite database {path}: {exc.strerror}; "
                    "check NEWSMON_DATABASE_URL / NEWSMON_VAR_DIR"
                ) from None
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


@cache
def _engine_for(url: str) -> Engine:
    """One engine per URL per process."""
    return make_engine(url)


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` or the configured database."""
    url = url or get_settings().database_url
    engine = _engine_for(url)
    _known_urls.add(url)  # only once created: reset_engines() must not build it again
    return engine


def reset_engines() -> None:
    """Dispose every cached engine (tests switch databases)."""
    for engine in list(_live_engines()):
        engine.dispose()
    _engine_for.cache_clear()
    _sessionmaker.cache_clear()
    _upgraded.clear()
    _known_urls.clear()


def _live_engines() -> list[Engine]:
    """Engines created so far (for disposal)."""
    return [_engine_for(u) for u in list(_known_urls)]


_known_urls: set[str] = set()


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (all heads: each concern may add its own branch)."""
    from alembic import command
    from alembic.config import Config

    engine = get_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except DBAPIError as exc:
        if not unavailable(exc):
            raise
        raise DatabaseUnavailable(
            f"cannot open database {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}; check NEWSMON_DATABASE_URL and that the server is running"
        ) from exc


def unavailable(exc: DBAPIError) -> bool:
    """True for errors that mean "cannot use this database" rather than a bug in a statement.

    Connection failures and lost connections (OperationalError, InterfaceError) and SQLite's
    plain DatabaseError "file is not a database"; not the DatabaseError subclasses that a
    statement causes (IntegrityError, ProgrammingError, ...).
    """
    return isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError


def current_revision(url: str | None = None) -> str | None:
    """The schema revision stored in the database, or None when empty."""
    engine = get_engine(url)
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return str(row[0]) if row else None


def _literals(path: Path) -> dict[str, Any]:
    """The module-level ``name = <literal>`` assignments of a migration script."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_bytes(), str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                found[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):
                continue  # not a literal (a call, a name...): script_heads() then gives up
    return found


@cache
def script_heads() -> frozenset[str] | None:
    """Head revisions of the migration scripts, read without importing Alembic (~0.2 s).

    None when a script does not state ``revision`` and ``down_revision`` as plain literals or
    uses ``depends_on``: only Alembic can tell then, and :func:`ensure_schema` runs it.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        if path.name.startswith("__"):
            continue
        fields = _literals(path)
        revision, down = fields.get("revision"), fields.get("down_revision", ())
        downs = (down,) if isinstance(down, str) else down
        if (
            not isinstance(revision, str)
            or not isinstance(downs, tuple | list | type(None))
            or not all(isinstance(d, str) for d in downs or ())
            or fields.get("depends_on") is not None
        ):
            return None
        revisions.add(revision)
        parents.update(downs or ())
    return frozenset(revisions - parents) or None


def at_heads(engine: Engine) -> bool:
    """True when the database already stores the scripts' head revisions: nothing to upgrade."""
    heads = script_heads()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            stored = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
            return frozenset(stored) == heads
    except DBAPIError as exc:
        if not unavailable(exc):
            raise
        return False  # upgrade() reports it as DatabaseUnavailable


_upgraded: set[str] = set()


def ensure_schema(url: str | None = None) -> Engine:
    """Upgrade the database to head once per process; every command calls this.

    An up-to-date database is recognised without Alembic, whose import alone would cost every
    command ~0.2 s of start-up.
    """
    engine = get_engine(url)
    key = str(engine.url)
    if key not in _upgraded:
        if not at_heads(engine):
            upgrade(url)
        _upgraded.add(key)
    return engine


@cache
def _sessionmaker(url: str) -> sessionmaker[Session]:
    """A session factory bound to the engine for ``url``."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: commit on success, roll back on error."""
    url = url or get_settings().database_url
    ensure_schema(url)
    session = _sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Advisory-lock key of the writers that must take turns ("news" in ASCII; any fixed bigint).
WRITERS_LOCK_KEY = 0x6E657773


def serialize_writers(session: Session) -> None:
    """Take turns with other writers of stories and alerts until this transaction ends.

    Storing a document (dedup, matching) and planning alerts read what is stored and write what
    follows from it. On PostgreSQL (READ COMMITTED) two workers doing that at the same moment would
    not see each other's uncommitted rows: a story and its copy would start two stories, two
    planners could alert one story twice. A transaction-scoped advisory lock makes them go one
    after the other, as a single run would. On SQLite a no-op write takes the database's write
    lock now (pysqlite runs the reads before a transaction's first write outside it).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITERS_LOCK_KEY})
    else:
        session.execute(text("UPDATE runs SET id = id WHERE 0"))


def with_retries(fn: Callable[[], T], attempts: int = 5, delay: float = 0.2) -> T:
    """Run the transaction ``fn``; retry it, with backoff, when it lost a race to another writer.

    Two races are retried: SQLite's "database is locked" (a writer held the lock longer than the
    busy timeout) and a unique-key violation (two processes inserting the same page, source or
    topic at once: on SQLite the reads before a transaction's first write are not part of it, on
    PostgreSQL READ COMMITTED lets both see "absent"). Every write path is an upsert keyed by a
    unique constraint, so the retry finds the winner's row and updates it instead.
    """
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc.orig).lower() or attempt == attempts - 1:
                raise
        except IntegrityError as exc:
            if not _unique_violation(exc) or attempt == attempts - 1:
                raise
        time.sleep(delay * (2**attempt))
    raise AssertionError("unreachable")


def _unique_violation(exc: IntegrityError) -> bool:
    """True for a UNIQUE / primary-key violation (SQLite or PostgreSQL SQLSTATE 23505)."""
    if getattr(exc.orig, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(exc.orig)
