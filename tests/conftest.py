"""Fixtures: a fresh ledger on the backend under test, with a clock the test controls.

``backend`` runs each test that uses it (``ledger`` does) on SQLite (a real file in tmp_path)
and on PostgreSQL (a fresh schema, dropped after) when ``DELVIA_TEST_POSTGRES_URL`` names a
reachable server; otherwise the PostgreSQL half is skipped with the reason, or fails with
``CI=true``. Tests marked ``sqlite_only`` (file bytes, WAL, file damage) run on SQLite alone.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

import delvia_ledger as dl

if TYPE_CHECKING:  # builders imports this module's names: imported where used
    from .builders import Hook, Mailbox


# Time per example is no property of ours: these machines are shared and noisy.
settings.register_profile("delvia", deadline=None)
settings.load_profile("delvia")

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
BACKENDS = ("sqlite", "postgres")
POSTGRES_URL = "DELVIA_TEST_POSTGRES_URL"
#: No statement of a test waits longer than this on the server (a test is bounded in time).
STATEMENT_TIMEOUT_MS = 120_000


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: about the SQLite file itself (bytes, WAL, damage): no PostgreSQL"
    )


#: The PostgreSQL half of a property test runs this share of its examples (at least
#: ``POSTGRES_MIN_EXAMPLES``). The property itself is explored with the full budget on SQLite,
#: through the same code above the storage seam; what the server half adds is the backend's
#: SQL and types, which a mistake breaks on most examples, while each example there pays for a
#: fresh schema (about 0.3 s of DDL and 0.15 s to drop it). ``DELVIA_POSTGRES_SHARE=1`` runs the
#: full budget there too.
POSTGRES_SHARE = float(os.environ.get("DELVIA_POSTGRES_SHARE", "0.34"))
POSTGRES_MIN_EXAMPLES = 8


def postgres_budget(max_examples: int) -> int:
    """The examples a property test of ``max_examples`` runs on PostgreSQL."""
    return min(max_examples, max(POSTGRES_MIN_EXAMPLES, round(max_examples * POSTGRES_SHARE)))


def pytest_report_header() -> str:
    return (
        f"PostgreSQL half of property tests: {POSTGRES_SHARE:.0%} of their examples, at least "
        f"{POSTGRES_MIN_EXAMPLES} (DELVIA_POSTGRES_SHARE=1 for all)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Runs the PostgreSQL half of a hypothesis test with :func:`postgres_budget` examples."""
    test = getattr(item, "obj", None)
    params = getattr(getattr(item, "callspec", None), "params", {})
    given = getattr(test, "_hypothesis_internal_use_settings", None)
    if params.get("backend") != "postgres" or given is None:
        return (yield)
    assert test is not None
    test._hypothesis_internal_use_settings = settings(
        given, max_examples=postgres_budget(given.max_examples)
    )
    try:
        return (yield)
    finally:
        test._hypothesis_internal_use_settings = given


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if only_sqlite else BACKENDS, indirect=True)


class Raw:
    """Plain SQL on a backend's tables with the ledger's guards off: what someone with the
    file, or with the tables' owner role, can do. ``?`` marks parameters on both backends."""

    def __init__(self, conn: Any, placeholder: str) -> None:
        self.conn, self.placeholder = conn, placeholder

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", self.placeholder), tuple(params))

    def executescript(self, script: str) -> None:
        for statement in filter(str.strip, script.split(";")):
            self.conn.execute(statement)

    def close(self) -> None:
        self.conn.close()


class Backend:
    """Where the test's ledger lives: open it (again), or reach its tables directly;
    :meth:`fresh` gives another, empty one on the same backend (for each hypothesis example)."""

    def __init__(self, name: str, new_location: Callable[[], str]) -> None:
        self.name, self._new_location = name, new_location
        self.location = new_location()

    def fresh(self) -> Backend:
        return Backend(self.name, self._new_location)

    def __repr__(self) -> str:
        return f"<Backend {self.name}>"

    def open(self, clock: Any = None, **options: Any) -> dl.Ledger:
        return dl.Ledger.open(self.location, clock=clock, **options)

    @property
    def refused(self) -> type[Exception]:
        """What the driver raises where a trigger of the ledger refuses a statement."""
        if self.name == "sqlite":
            return sqlite3.IntegrityError
        import psycopg

        return psycopg.errors.RaiseException

    def connect(self) -> Raw:
        """A plain connection to the ledger's tables, with the guards in place."""
        if self.name == "sqlite":
            return Raw(sqlite3.connect(self.location, isolation_level=None), "?")
        import psycopg

        return Raw(psycopg.connect(self.location, autocommit=True), "%s")

    def stored_bytes(self) -> bytes:
        """Everything the backend stores for the ledger: the file and its WAL, or every row
        of every table of its schema as text."""
        if self.name == "sqlite":
            path = Path(self.location)
            return b"".join(
                p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)
            )
        conn = self.connect()
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        text = "\n".join(
            str(row[0])
            for (table,) in tables
            for row in conn.execute(f"SELECT t::text FROM {table} t").fetchall()
        )
        conn.close()
        return text.encode("utf-8")

    def raw(self) -> Raw:
        """A connection with every trigger of the ledger's tables dropped or disabled."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.location, isolation_level=None)
            triggers = conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            for (name,) in triggers.fetchall():
                conn.execute(f"DROP TRIGGER {name}")
            return Raw(conn, "?")
        import psycopg

        server = psycopg.connect(self.location, autocommit=True)
        tables = server.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        for (table,) in tables:
            server.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        return Raw(server, "%s")


@cache
def postgres_server() -> tuple[str | None, str]:
    """The test server's URL, or None and why there is none."""
    url = os.environ.get(POSTGRES_URL, "").strip()
    if not url:
        return None, f'{POSTGRES_URL} is not set (eval "$(.ci/postgres)" starts a server)'
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed: pip install 'delvia-ledger[postgres]'"
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"the PostgreSQL server in {POSTGRES_URL} is not reachable ({reason})"
    return url, ""


def postgres_url_or_skip() -> str:
    """The test server's URL; skips the test (fails it with ``CI=true``) if there is none."""
    url, reason = postgres_server()
    if url is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true needs a PostgreSQL server: {reason}", pytrace=False)
        pytest.skip(reason)
    return url


class PostgresSchemas:
    """Fresh, empty schemas on the test server, each named by a URL; all dropped by
    :meth:`drop`."""

    def __init__(self, url: str) -> None:
        self.url, self.made = url, list[str]()

    def new(self) -> str:
        import psycopg

        schema = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        self.made.append(schema)
        options = f"-csearch_path={schema} -cstatement_timeout={STATEMENT_TIMEOUT_MS}"
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}options={options.replace('=', '%3D').replace(' ', '%20')}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            for schema in self.made:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def postgres_schemas() -> Iterator[PostgresSchemas]:
    """Makes fresh schemas on the test server (skips without one); drops them after."""
    schemas = PostgresSchemas(postgres_url_or_skip())
    try:
        yield schemas
    finally:
        schemas.drop()


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh ledger location on the backend under test (``sqlite`` or ``postgres``)."""
    if request.param == "sqlite":
        made = [0]

        def new_file() -> str:  # the first is tmp_path / "ledger.db"
            made[0] += 1
            folder = tmp_path if made[0] == 1 else Path(tempfile.mkdtemp(dir=tmp_path))
            return str(folder / "ledger.db")

        return Backend("sqlite", new_file)
    schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
    return Backend("postgres", schemas.new)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) and the mailbox it delivers to."""
    from .builders import running_smtp

    with running_smtp() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[Hook]:
    """A real webhook receiver on 127.0.0.1."""
    from .builders import running_hook

    with running_hook() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(backend: Backend, clock: Clock) -> Iterator[dl.Ledger]:
    with backend.open(clock=clock) as opened:
        yield opened
