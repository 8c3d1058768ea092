"""A PostgreSQL URL's password is hidden as libpq reads the URL (issue 25 item 2): every reserved
character in the password, percent-encoded or raw, and ``init``/``demo`` on a real server."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from delvia_ledger.storage.postgres import _secrets, redacted
from tests.conftest import PostgresSchemas

RESERVED = "/?#@:%&=+[]!$'()*,; "
#: Every password starts so: distinctive, so "not in the output" means something.
MARK = "Zq7"
passwords = st.text(
    alphabet=st.sampled_from(RESERVED + "abcXYZ019-._~"), min_size=4, max_size=24
).map(lambda body: MARK + body)

try:
    from psycopg import conninfo as libpq
except ImportError:  # pragma: no cover - without the postgres extra
    libpq = None  # type: ignore[assignment]


def shown_forms(password: str) -> list[str]:
    """The password as a leak could show it: raw, percent-encoded, decoded."""
    return [password, urllib.parse.quote(password, safe=""), urllib.parse.unquote(password)]


@settings(max_examples=300, deadline=None)
@given(password=passwords, query=st.booleans())
@example(password=MARK + "ab/cd+ef==", query=False)  # base64, as the issue measured
@example(password=MARK + "a?b#c@d:e%f", query=False)
def test_a_percent_encoded_password_is_never_shown(password: str, query: bool) -> None:
    encoded = urllib.parse.quote(password, safe="")
    if query:
        url = f"postgresql://app@db.internal:5432/access?sslmode=require&password={encoded}"
    else:
        url = f"postgresql://app:{encoded}@db.internal:5432/access?sslmode=require"
    if libpq is not None:
        assert libpq.conninfo_to_dict(url)["password"] == password  # libpq reads what we hide
    shown = redacted(url)
    assert shown == "postgresql://app@db.internal:5432/access?sslmode=require"
    assert password in _secrets(url)
    for form in shown_forms(password):
        assert form not in shown


@settings(max_examples=300, deadline=None)
@given(password=passwords, path=st.sampled_from(["/access", "/access?sslmode=require", ""]))
@example(password=MARK + "ab/cd+ef==", path="/access")
@example(password=MARK + "p@ss/w?rd#", path="/access?sslmode=require")
def test_a_raw_password_with_any_reserved_character_is_never_shown(
    password: str, path: str
) -> None:
    """Typed without encoding: libpq may read it or refuse it; either way it is not shown."""
    url = f"postgresql://app:{password}@db.internal{path}"
    shown = redacted(url)
    assert MARK not in shown
    assert shown.startswith("postgresql://app@")
    if "@" not in password and "/" not in password and "?" not in password:
        assert shown == f"postgresql://app@db.internal{path}"  # nothing else is lost


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app@db/access", "postgresql://app@db/access"),
        ("postgres://db/access?password=x&sslmode=require", "postgres://db/access?sslmode=require"),
        ("postgresql://db/access?pass%77ord=x", "postgresql://db/access"),
        ("postgresql://db/access?PASSWORD=x", "postgresql://db/access"),
        (
            "postgresql:///access?host=/var/run/postgresql",
            "postgresql:///access?host=/var/run/postgresql",
        ),
        ("postgresql://:pw-Zq7@db/access", "postgresql://…@db/access"),
        ("POSTGRESQL://app:pw-Zq7@db/access", "POSTGRESQL://app@db/access"),
    ],
)
def test_urls_without_a_password_stay_readable(url: str, shown: str) -> None:
    assert redacted(url) == shown


EXE = shutil.which("delvia-ledger")


@pytest.fixture
def role_url(postgres_schemas: PostgresSchemas) -> Iterator[tuple[str, str]]:
    """A URL of a fresh schema for a new role whose password holds every reserved character."""
    import psycopg

    owner = postgres_schemas.url
    base = postgres_schemas.new()
    schema = urllib.parse.unquote(base).split("search_path=")[1].split()[0]
    role, password = f"redact_{uuid.uuid4().hex[:8]}", f"{MARK}/?#@:%&=+[]!$'()*,;~"
    with psycopg.connect(owner, autocommit=True) as conn:
        may = conn.execute(
            "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not (may and may[0]):
            pytest.skip("the test server's role may not create roles")
        quoted = password.replace("'", "''")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{quoted}'")
        conn.execute(f"GRANT ALL ON SCHEMA {schema} TO {role}")
    parts = urllib.parse.urlsplit(base)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{role}:{urllib.parse.quote(password, safe='')}@{host}"
    try:
        yield urllib.parse.urlunsplit(parts._replace(netloc=netloc)), password
    finally:
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.skipif(EXE is None, reason="the package is not installed")
@pytest.mark.parametrize("command", [["init"], ["demo"]])
def test_init_and_demo_on_a_server_never_print_the_password(
    role_url: tuple[str, str], command: list[str]
) -> None:
    url, password = role_url
    assert EXE is not None
    env = {k: v for k, v in os.environ.items() if k != "DELVIA_LEDGER_DB"}
    done = subprocess.run(
        [EXE, "--db", url, *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    assert redacted(url) in said
    for form in shown_forms(password):
        assert form not in said
    assert MARK not in said
