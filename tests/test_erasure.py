"""Erasure and retention (DESIGN §16): personal data redacted from every version, the proof kept
in the chain, the file's guards allowing exactly that, and verify telling a recorded redaction
from a hand-made one; on both backends."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import attrs
import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import delvia_ledger as dl
from delvia_ledger.chain import redacted_payload
from delvia_ledger.records import PERSONAL_FIELDS
from delvia_ledger.storage.postgres import SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION
from delvia_ledger.storage.schema import TABLES
from delvia_ledger.storage.sqlite import SCHEMA_VERSION

from .conftest import T0, Backend, Clock
from .strategies import ids, regions

#: What the creator erased in these tests is known by, none of which may stay anywhere.
SECRETS = [b"maya.makes", b"Maya Makes", b"maya@creator.example", b"sunset over lisbon"]


def year_of_history(ledger: dl.Ledger, clock: Clock, creators: int = 40) -> None:
    """About a year of a team's ledger: creators, posts, accounts, people, codes, and weekly
    changes (names, captions, windows); creator ``cr_7`` is Maya, who will ask to be erased."""
    ledger.record_all(
        [
            dl.AdAccount(id="6900001", name="Brand US", region="US"),
            dl.Person(id="p_ana", name="Ana Ops", email="ana@brand.example"),
            dl.Person(id="p_leo", name="Leo Ops", email="leo@brand.example"),
        ]
    )
    for week in range(52):
        batch: list[dl.Record] = []
        for i in range(creators):
            maya = i == 7
            batch.append(
                dl.Creator(
                    id=f"cr_{i}",
                    handle="maya.makes" if maya else f"creator{i}",
                    display_name=("Maya Makes" if maya else f"C{i}")
                    + ("" if week % 9 else f" {week}"),
                    contact="maya@creator.example" if maya else None,
                    region="US",
                )
            )
            caption = "sunset over lisbon" if maya else f"post {i}"
            batch.append(
                dl.Post(
                    id=f"po_{i}",
                    creator_id=f"cr_{i}",
                    kind="VIDEO",
                    caption=f"{caption} {week // 13}",
                )
            )
            starts = T0 + timedelta(weeks=week)
            batch.append(
                dl.SparkAuthorization.from_code(
                    f"#code-{i}-{week // 4}",
                    creator_id=f"cr_{i}",
                    post_id=f"po_{i}",
                    starts_at=starts,
                    expires_at=starts + timedelta(days=30),
                    ad_account_id="6900001",
                    owner_id="p_ana",
                )
            )
        ledger.record_all(batch, source="sheet")
        clock.advance(weeks=1)


def stored(backend: Backend, tmp_path: Path, ledger: dl.Ledger) -> bytes:
    """Everything the ledger keeps or gives out: its storage, a JSON export, every CSV, and
    (SQLite) a backup."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    ledger.export_json(out / "export.json")
    for cls in dl.records.RECORD_TYPES:
        ledger.export_csv(cls, out / f"{cls.__name__}.csv")
    if backend.name == "sqlite":
        (out / "backup.db").unlink(missing_ok=True)
        ledger.backup(out / "backup.db")
    files = b"".join(p.read_bytes() for p in out.iterdir())
    return backend.stored_bytes() + files


def test_erasing_a_creator_leaves_a_ledger_that_verifies_and_keeps_nothing_of_them(
    backend: Backend, clock: Clock, tmp_path: Path
) -> None:
    with backend.open(clock=clock) as ledger:
        year_of_history(ledger, clock)
        before = ledger.digest()
        assert all(secret in stored(backend, tmp_path, ledger) for secret in SECRETS)
        others = {c.id: c for c in ledger.records(dl.Creator) if c.id != "cr_7"}
        planned = ledger.erase(dl.Creator, "cr_7", reason="asked", by="p_leo", dry_run=True)
        assert ledger.digest() == before  # a dry run writes nothing
        done = ledger.erase(dl.Creator, "cr_7", reason="GDPR art. 17 request", by="p_leo")
        assert done.redacted == planned.redacted
        assert {r.type for r in done.redacted} == {"Creator", "Post"}
        assert done.erasure is not None and set(done.erasure.redacted) == {
            r.seq for r in done.redacted
        }
        assert ledger.verify(deep=True).ok
        assert ledger.verify(digest=before).ok  # a digest kept before still verifies
        assert ledger.as_of(seq=before.seq).digest() == before
        maya = ledger.get(dl.Creator, "cr_7")
        assert maya is not None and (maya.handle, maya.display_name, maya.contact) == (None,) * 3
        assert maya.region == "US"
        assert all(
            cast(dl.Creator, e.record).handle is None for e in ledger.history(dl.Creator, "cr_7")
        )
        post = ledger.as_of(seq=130).get(dl.Post, "po_7")  # its first version
        assert post is not None and post.caption is None
        assert {c.id: c for c in ledger.records(dl.Creator) if c.id != "cr_7"} == others
        assert ledger.get(dl.Erasure, done.erasure.id) == done.erasure
        findings = ledger.findings(now=clock.now)
        assert any(f.creator_id == "cr_7" for f in findings)  # still found, by id
        data = stored(backend, tmp_path, ledger)
        assert [secret for secret in SECRETS if secret in data] == []


def test_a_copy_and_an_export_of_an_erased_ledger_have_the_same_digest(
    backend: Backend, clock: Clock, tmp_path: Path
) -> None:
    with backend.open(clock=clock) as ledger:
        year_of_history(ledger, clock, creators=8)
        ledger.erase(dl.Creator, "cr_7", reason="asked", by="p_leo")
        ledger.erase(dl.Person, "p_ana", reason="left", by="p_leo")
        ledger.export_json(tmp_path / "export.json")
        digest = ledger.digest()
        with dl.Ledger.open(tmp_path / "copy.db") as copy:
            copy.replay(ledger.entries())
            assert copy.digest() == digest and copy.verify(deep=True).ok
            assert copy.get(dl.Person, "p_ana") == dl.Person(id="p_ana", name="(erased)")
    with (tmp_path / "export.json").open() as file, dl.Ledger.open(tmp_path / "c2.db") as copy:
        copy.replay(dl.io.read_export(file))
        assert copy.digest() == digest and copy.verify(deep=True).ok


def test_a_person_reads_back_as_erased_and_their_rows_are_empty(backend: Backend) -> None:
    with backend.open(clock=Clock()) as ledger:
        ledger.record(dl.Person(id="p1", name="Ana Ops", email="ana@brand.example"))
        ledger.record(dl.Person(id="p1", name="Ana Ops", email="ana@new.example"))
        done = ledger.erase(dl.Person, "p1", reason="asked", by="dpo")
        assert [r.fields for r in done.redacted] == [("name", "email"), ("name", "email")]
        assert ledger.get(dl.Person, "p1") == dl.Person(id="p1", name="(erased)")
        assert ledger.verify(deep=True).ok
    conn = backend.connect()
    rows = conn.execute("SELECT name, email FROM person_versions ORDER BY seq").fetchall()
    payload = conn.execute("SELECT payload FROM entries WHERE seq = 1").fetchone()[0]
    conn.close()
    assert [tuple(r) for r in rows] == [(None, None), (None, None)]
    assert payload == '{"_source":"api","id":"p1","name":null}'


def test_erasing_a_person_erases_the_address_their_older_notices_named(
    backend: Backend, tmp_path: Path
) -> None:
    """Notices recorded before schema version 7 named an email channel with its address
    (``email:<address>``): erasing the person redacts that channel, and nothing else of
    theirs; the guards allow it, verify accepts it, and no byte of the address stays."""
    clock = Clock()
    with backend.open(clock=clock) as ledger:
        ledger.record(
            dl.Person(id="p1", name="Ana Ops", email="ana@brand.example", chat_id="U0ANA12345")
        )
        ledger.record(dl.Person(id="p2", name="Leo Ops"))
        keys = ("EXPIRING/authorization=a1",)
        old, chat, new = (
            dl.Notice(person_id="p1", channel=channel, sent_at=T0, finding_keys=keys)
            for channel in ("email:ana@brand.example", "slack:#growth", "email")
        )
        seqs = [ledger.record(n).seq for n in (old, chat, new)]
        ledger.record(
            dl.Notice(
                person_id="p2", channel="email:leo@brand.example", sent_at=T0, finding_keys=keys
            )
        )
        before = ledger.digest()
        planned = ledger.erase(dl.Person, "p1", reason="asked", by="dpo", dry_run=True)
        done = ledger.erase(dl.Person, "p1", reason="asked", by="dpo")
        assert done.redacted == planned.redacted
        assert [(r.seq, r.type, r.fields) for r in done.redacted] == [
            (1, "Person", ("name", "email", "chat_id")),
            (seqs[0], "Notice", ("channel",)),
        ]
        assert ledger.verify(deep=True).ok and ledger.verify(digest=before).ok
        assert ledger.get(dl.Notice, old.id) == attrs.evolve(old, channel="(erased)")
        assert [ledger.get(dl.Notice, n.id) for n in (chat, new)] == [chat, new]
        assert "leo@brand.example" in [
            n.channel.partition(":")[2] for n in ledger.records(dl.Notice)
        ]
        with pytest.raises(dl.ErasedSubjectError, match=r"Notice 'notice_.*Person 'p1'.*force"):
            ledger.record_all([old], source="csv")  # an old export brings it back
        clock.advance(seconds=1)
        ledger.record(
            dl.Notice(
                person_id="p1", channel="email", sent_at=T0 + timedelta(days=1), finding_keys=keys
            )
        )  # names nobody: fine
        data = stored(backend, tmp_path, ledger)
    assert [s for s in (b"ana@brand.example", b"Ana Ops", b"U0ANA12345") if s in data] == []
    assert b"leo@brand.example" in data


def test_erase_refuses_what_it_cannot_erase_and_writes_nothing(ledger: dl.Ledger) -> None:
    ledger.record(dl.AdAccount(id="69", name="Brand", region="US"))
    with pytest.raises(ValueError, match=r"AdAccount.*cannot be erased"):
        ledger.erase(dl.AdAccount, "69", reason="x", by="dpo")  # type: ignore[arg-type]
    with pytest.raises(dl.MissingReferenceError, match="Creator 'ghost' is not in the ledger"):
        ledger.erase(dl.Creator, "ghost", reason="asked", by="dpo")
    with pytest.raises(ValueError, match=r"erase\(reason=...\): expected non-empty text"):
        ledger.erase(dl.Creator, "ghost", reason=" ", by="dpo")
    with pytest.raises(dl.InvalidRecordError, match=r"Erasure.*directly.*ledger.erase"):
        ledger.record(
            dl.Erasure(
                subject_type="Creator",
                subject_id="x",
                seqs=(),
                hashes=(),
                reason="r",
                requested_by="dpo",
                erased_at=T0,
            )
        )
    assert ledger.seq == 1


def test_an_erased_subjects_data_is_not_brought_back_unless_forced(
    backend: Backend, clock: Clock
) -> None:
    with backend.open(clock=clock) as ledger:
        ledger.record(dl.Creator(id="c1", handle="maya.makes", region="US"))
        ledger.record(dl.Post(id="p1", creator_id="c1", kind="VIDEO", caption="hi"))
        ledger.erase(dl.Creator, "c1", reason="asked", by="dpo")
        seq = ledger.seq
        with pytest.raises(dl.ErasedSubjectError, match=r"Creator 'c1'.*erased.*force=True"):
            ledger.record_all([dl.Creator(id="c1", handle="maya.makes", region="US")], source="csv")
        with pytest.raises(dl.ErasedSubjectError, match="Post 'p1'"):
            ledger.record(dl.Post(id="p1", creator_id="c1", kind="VIDEO", caption="hi again"))
        assert ledger.seq == seq
        # TikTok says the display name again every sync: it is left out, nothing is written.
        ledger.record(dl.Creator(id="c1", display_name="Maya", region="US"), source="tiktok")
        assert ledger.seq == seq and ledger.get(dl.Creator, "c1").display_name is None  # type: ignore[union-attr]
        ledger.record(dl.Creator(id="c1", region="GB"), source="csv")  # nothing personal: fine
        again = ledger.record(dl.Creator(id="c1", handle="maya.new", region="GB"), force=True)
        assert cast(dl.Creator, again.record).handle == "maya.new" and ledger.verify(deep=True).ok


# --- the file's guards --------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["recorded_at", "type", "id"])
def test_a_redacted_entrys_link_is_still_checked(tmp_path: Path, column: str) -> None:
    """A redacted entry skips only the payload-hash check: its recorded_at, type and id are
    still in its hash (a fuzzed bit in a redacted entry's recorded_at once passed verify)."""
    path = tmp_path / "ledger.db"
    with dl.Ledger.open(path, clock=Clock()) as ledger:
        ledger.record(dl.Person(id="p1", name="Ana Ops", email="ana@brand.example"))
        ledger.record(dl.AdAccount(id="69", name="Brand", region="US"))
        ledger.erase(dl.Person, "p1", reason="asked", by="dpo")
        assert ledger.verify(deep=True).ok
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        conn.execute(f'DROP TRIGGER "{name}"')  # a hand edit past the file's own guards
    value = {"recorded_at": "3026-11-24T09:00:00.000000Z", "type": "AdAccount", "id": "p2"}
    conn.execute(f"UPDATE entries SET {column} = ? WHERE seq = 1", (value[column],))
    conn.close()
    with dl.Ledger.open(path) as damaged:
        for result in (damaged.verify(), damaged.verify(deep=True)):
            assert not result.ok and result.first_bad_seq == 1


def erased_file(backend: Backend) -> tuple[dict[int, str], int, int]:
    """A ledger with Maya (c1, erased) and Leo (c2, not): the original payloads by seq, the
    seq of one of Leo's entries and of the Erasure."""
    with backend.open(clock=Clock()) as ledger:
        ledger.record(dl.Creator(id="c1", handle="maya.makes", region="US"))
        ledger.record(dl.Creator(id="c2", handle="leo", region="US"))
        ledger.record(dl.Creator(id="c1", handle="maya.makes", display_name="Maya", region="US"))
        conn = backend.connect()
        originals = dict(conn.execute("SELECT seq, payload FROM entries").fetchall())
        conn.close()
        done = ledger.erase(dl.Creator, "c1", reason="asked", by="dpo")
        assert sorted(done.erasure.redacted) == [1, 3]  # type: ignore[union-attr]
        return originals, 2, ledger.seq


def test_the_guards_refuse_every_hand_redaction_on_both_backends(backend: Backend) -> None:
    originals, leo, _ = erased_file(backend)
    conn = backend.connect()
    leos = redacted_payload("Creator", originals[leo])
    attempts = [
        # the right form, but no Erasure names the seq
        ("UPDATE entries SET payload = ? WHERE seq = ?", (leos, leo)),
        ("UPDATE creator_versions SET handle = NULL WHERE seq = ?", (leo,)),
        # a named seq, but a non-personal field changed too
        (
            "UPDATE entries SET payload = ? WHERE seq = 1",
            ('{"_source":"api","id":"c1","region":"GB"}',),
        ),
        ("UPDATE creator_versions SET region = 'GB' WHERE seq = 1", ()),
        # a named seq, but not its redacted form
        ("UPDATE entries SET payload = ? WHERE seq = 1", (originals[1],)),
        ("UPDATE entries SET payload_hash = payload_hash, id = 'x' WHERE seq = 1", ()),
    ]
    for sql, params in attempts:
        with pytest.raises(backend.refused, match="cannot be changed"):
            conn.execute(sql, params)
    conn.close()
    with backend.open() as ledger:
        assert ledger.verify(deep=True).ok


@pytest.mark.sqlite_only
@pytest.mark.parametrize("alias", ["rowid", "_rowid_", "oid", "seq"])
@pytest.mark.parametrize("table", ["entries", "creator_versions", "ad_account_versions"])
def test_no_rowid_alias_moves_a_row_past_the_guards(
    backend: Backend, alias: str, table: str
) -> None:
    """Issue 25: ``UPDATE <table> SET rowid = N`` passed guards that watched ``UPDATE OF``
    the columns, and the record vanished from get() while verify() said ok."""
    with backend.open(clock=Clock()) as ledger:
        ledger.record(dl.Creator(id="c1", handle="maya", region="US"))
        ledger.record(dl.AdAccount(id="69", name="Brand", region="US"))
    conn = sqlite3.connect(backend.location, isolation_level=None)
    seqs = [seq for (seq,) in conn.execute(f"SELECT seq FROM {table}").fetchall()]
    for seq in seqs:
        with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
            conn.execute(f"UPDATE {table} SET {alias} = 1000 + {seq} WHERE seq = {seq}")
    db = sqlite_utils.Database(conn)
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db.table(table).update(seqs[0], {"seq": 999})
    conn.close()
    with backend.open() as ledger:
        assert ledger.get(dl.Creator, "c1") is not None and ledger.verify(deep=True).ok


@pytest.mark.sqlite_only
def test_sqlite_utils_may_not_redact_by_hand_either(backend: Backend) -> None:
    originals, leo, _ = erased_file(backend)
    db = sqlite_utils.Database(sqlite3.connect(backend.location, isolation_level=None))
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db.table("entries").update(leo, {"payload": redacted_payload("Creator", originals[leo])})
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db.table("creator_versions").update(leo, {"handle": None})


def test_verify_catches_every_hand_redaction_made_behind_the_guards(backend: Backend) -> None:
    originals, leo, erasure = erased_file(backend)
    cases: list[tuple[str, tuple[Any, ...], int, str]] = [
        (  # the right form, no Erasure
            "UPDATE entries SET payload = ? WHERE seq = ?",
            (redacted_payload("Creator", originals[leo]), leo),
            leo,
            "payload does not match its payload_hash",
        ),
        (  # a seq the Erasure names, not redacted (the data put back)
            "UPDATE entries SET payload = ? WHERE seq = 3",
            (originals[3],),
            3,
            "not the redacted form the Erasure at seq 4 recorded",
        ),
        (  # a non-personal field of a redacted entry changed
            "UPDATE entries SET payload = replace(payload, 'US', 'GB') WHERE seq = 1",
            (),
            1,
            "not the redacted form",
        ),
    ]
    for sql, params, bad, reason in cases:
        raw = backend.raw()
        saved = raw.execute("SELECT payload FROM entries WHERE seq = ?", (bad,)).fetchone()[0]
        raw.execute(sql, params)
        raw.close()
        with backend.open() as ledger:
            for deep in (False, True):
                found = ledger.verify(deep=deep)
                assert (found.ok, found.first_bad_seq) == (False, bad), (sql, found)
                assert reason in str(found.reason)
        raw = backend.raw()
        raw.execute("UPDATE entries SET payload = ? WHERE seq = ?", (saved, bad))
        raw.close()
    with backend.open() as ledger:
        assert ledger.verify(deep=True).ok
    # An Erasure naming another subject's entry: forged by rewriting the Erasure's own list.
    raw = backend.raw()
    row = raw.execute("SELECT payload FROM entries WHERE seq = ?", (erasure,)).fetchone()[0]
    forged = json.loads(row)
    forged["seqs"] = [*forged["seqs"], str(leo)]
    forged["hashes"] = [*forged["hashes"], hashlib.sha256(b"x").hexdigest()]
    raw.execute("UPDATE entries SET payload = ? WHERE seq = ?", (json.dumps(forged), erasure))
    raw.close()
    with backend.open() as ledger:
        assert ledger.verify().first_bad_seq == leo


# --- retention and ids --------------------------------------------------------------------------


def test_retention_erases_only_who_is_quiet_for_longer_than_the_policy(
    backend: Backend, clock: Clock
) -> None:
    with backend.open(clock=clock) as ledger:
        ledger.record_all(
            [
                dl.Creator(id="old", handle="old.one", region="US"),
                dl.Creator(id="busy", handle="busy.one", region="US"),
                dl.Post(id="p_old", creator_id="old", kind="VIDEO", caption="old caption"),
                dl.Post(id="p_busy", creator_id="busy", kind="VIDEO"),
                dl.Person(id="gone", name="Gone Person", left_at=T0),
                dl.Person(id="here", name="Still Here"),
                dl.SparkAuthorization.from_code(
                    "#old-code",
                    creator_id="old",
                    post_id="p_old",
                    starts_at=T0,
                    expires_at=T0 + timedelta(days=30),
                ),
            ]
        )
        clock.advance(days=4 * 365)
        ledger.record(
            dl.SparkAuthorization.from_code(
                "#busy-code",
                creator_id="busy",
                post_id="p_busy",
                starts_at=clock.now,
                expires_at=clock.now + timedelta(days=30),
            )
        )
        plan = ledger.retention("3y", dry_run=True)
        assert [(r.subject_type, r.subject_id) for r in plan.erased] == [
            ("Creator", "old"),
            ("Person", "gone"),
        ]
        seq = ledger.seq
        assert ledger.seq == seq
        done = ledger.retention("3y")
        assert [r.erasure.reason for r in done.erased] == ["retention", "retention"]  # type: ignore[union-attr]
        assert ledger.get(dl.Creator, "old").handle is None  # type: ignore[union-attr]
        assert ledger.get(dl.Creator, "busy").handle == "busy.one"  # type: ignore[union-attr]
        assert ledger.get(dl.Person, "here").name == "Still Here"  # type: ignore[union-attr]
        assert ledger.retention("3y").erased == ()  # nothing left to erase: nothing written
        assert ledger.verify(deep=True).ok
        with pytest.raises(ValueError, match=r"older_than='3 years'.*'3y'"):
            ledger.retention("3 years")


def test_check_ids_lists_ids_that_look_personal(ledger: dl.Ledger) -> None:
    ledger.record_all(
        [
            dl.Creator(id="maya.makes", handle="maya.makes", region="US"),
            dl.Creator(id="@leo", region="US"),
            dl.Creator(id="7000123", handle="yuki", region="JP"),
            dl.Person(id="ana@brand.example", name="Ana"),
            dl.Person(id="p_leo", name="Leo"),
        ]
    )
    assert [(f.type, f.id) for f in ledger.check_ids()] == [
        ("Creator", "@leo"),
        ("Creator", "maya.makes"),
        ("Person", "ana@brand.example"),
    ]


# --- any sequence of records, erasures and retention runs -----------------------------------------

personal_texts = st.text(alphabet="abcdefghij .@", min_size=3, max_size=12).filter(str.strip)


class ErasureMachine(RuleBasedStateMachine):
    """Records, erasures and retention runs in any order: the ledger always verifies, and
    every record not erased reads back as last recorded."""

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.clock = Clock()
        self.backend = backend.fresh()
        self.ledger = self.backend.open(clock=self.clock)
        self.model: dict[tuple[type[dl.Record], str], dl.Record] = {}
        self.erased: set[tuple[type[dl.Record], str]] = set()  # records read back redacted
        self.digests: list[dl.Digest] = []

    @initialize()
    def start(self) -> None:
        self.digests.append(self.ledger.digest())

    def teardown(self) -> None:
        self.ledger.close()

    def _record(self, record: dl.Record) -> None:
        self.ledger.record(record, force=True)  # a new consent where it was erased
        self.model[(type(record), record.id)] = record
        self.erased.discard((type(record), record.id))

    def _erased(self, subject: str, id_: str) -> None:
        """What an erasure of ``subject`` ``id_`` redacts: it, and a creator's posts."""
        self.erased.add((dl.Creator if subject == "Creator" else dl.Person, id_))
        self.erased |= {  # the notices that named their address
            (dl.Notice, r.id)
            for r in self.model.values()
            if isinstance(r, dl.Notice)
            and subject == "Person"
            and r.person_id == id_
            and r.names_recipient
        }
        if subject == "Creator":
            self.erased |= {
                (dl.Post, r.id)
                for r in self.model.values()
                if isinstance(r, dl.Post) and r.creator_id == id_
            }

    @rule(n=st.integers(0, 3), handle=st.none() | personal_texts, region=regions)
    def creator(self, n: int, handle: str | None, region: str) -> None:
        self._record(dl.Creator(id=f"c{n}", handle=handle, region=region))

    @rule(n=st.integers(0, 3), caption=st.none() | personal_texts)
    def post(self, n: int, caption: str | None) -> None:
        if (dl.Creator, f"c{n}") in self.model:
            self._record(dl.Post(id=f"p{n}", creator_id=f"c{n}", kind="VIDEO", caption=caption))

    @rule(
        n=st.integers(0, 2),
        name=personal_texts,
        email=st.none() | st.emails(),
        chat_id=st.none() | st.from_regex(r"U[A-Z0-9]{8,10}", fullmatch=True),
    )
    def person(self, n: int, name: str, email: str | None, chat_id: str | None) -> None:
        self._record(dl.Person(id=f"h{n}", name=name, email=email, chat_id=chat_id))

    @rule(n=st.integers(0, 2), channel=st.sampled_from(["email", "slack", "email:h@x.example"]))
    def notice(self, n: int, channel: str) -> None:
        """A notice to a person; ``email:<address>`` as schema version 6 recorded it."""
        if (dl.Person, f"h{n}") in self.model:
            self.clock.advance(seconds=1)
            sent = self.clock.now
            self._record(
                dl.Notice(person_id=f"h{n}", channel=channel, sent_at=sent, finding_keys=("K",))
            )

    @rule(n=st.integers(0, 3), person=st.booleans(), reason=ids)
    def erase(self, n: int, person: bool, reason: str) -> None:
        cls, id_ = (dl.Person, f"h{n % 3}") if person else (dl.Creator, f"c{n}")
        if (cls, id_) not in self.model:
            return
        self.clock.advance(seconds=1)
        self.ledger.erase(cls, id_, reason=reason, by="dpo")
        self._erased(cls.__name__, id_)

    @rule(days=st.integers(1, 800))
    def retention(self, days: int) -> None:
        self.clock.advance(days=days)
        for done in self.ledger.retention("1y").erased:
            self._erased(done.subject_type, done.subject_id)
        self.digests.append(self.ledger.digest())

    @invariant()
    def verifies_and_keeps_what_is_not_erased(self) -> None:
        assert self.ledger.verify(deep=True).ok
        assert all(self.ledger.verify(digest=d).ok for d in self.digests)
        for (cls, id_), record in self.model.items():
            expected = record
            if (cls, id_) in self.erased:
                blank: dict[str, Any] = {f: None for f in PERSONAL_FIELDS[cls]}
                if cls is dl.Person:
                    blank["name"] = "(erased)"
                if cls is dl.Notice:
                    blank["channel"] = "(erased)"
                expected = attrs.evolve(cast(Any, record), **blank)
            assert self.ledger.get(cls, id_) == expected


def test_any_sequence_of_records_erasures_and_retention_runs_verifies(backend: Backend) -> None:
    run_state_machine_as_test(  # type: ignore[no-untyped-call]
        lambda: ErasureMachine(backend),
        settings=settings(
            max_examples=25 if backend.name == "sqlite" else 8,
            stateful_step_count=12,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@given(
    payload=st.dictionaries(
        st.sampled_from(["handle", "display_name", "contact", "region"]), st.text(max_size=8)
    )
)
def test_the_sql_redaction_is_the_python_one(payload: dict[str, str]) -> None:
    """The SQLite guard's JSON functions give exactly :func:`redacted_payload`'s text."""
    text = dl.convert.canonical_json({"_salt": "0" * 32, "id": "c", **payload})
    removed = "'$._salt', '$.handle', '$.display_name', '$.contact'"
    sql = sqlite3.connect(":memory:").execute(f"SELECT json_remove(?, {removed})", (text,))
    assert sql.fetchone()[0] == redacted_payload("Creator", text)


# --- schema version 4: a migration of version-3 ledgers -------------------------------------------

DATA = Path(__file__).parent / "data"


@pytest.mark.sqlite_only
def test_a_version_3_file_migrates_once_keeps_its_entries_and_can_erase(
    backend: Backend, tmp_path: Path
) -> None:
    """``ledger-v3.db`` was written by the release before sources and salts (commit 74db43c)."""
    flawed = tmp_path / "flawed.db"
    shutil.copy(DATA / "ledger-v3.db", flawed)
    conn = sqlite3.connect(flawed, isolation_level=None)
    conn.execute("UPDATE creator_versions SET rowid = 99 WHERE seq = 2")  # issue 25: allowed
    conn.close()
    with dl.Ledger.open(flawed) as ledger:
        assert ledger.get(dl.Creator, "cr_2") is None  # the record vanished...
        assert ledger.verify().ok  # ...while the chain verifies; deep verify finds it:
        assert ledger.verify(deep=True).first_bad_seq == 2

    path = Path(backend.location)
    shutil.copy(DATA / "ledger-v3.db", path)
    conn = sqlite3.connect(path, isolation_level=None)
    before = conn.execute("SELECT * FROM entries ORDER BY seq").fetchall()
    conn.close()
    with backend.open() as ledger:
        assert ledger.verify(deep=True).ok
        assert all(e.source is None for e in ledger.entries())  # recorded before sources were
        conn = sqlite3.connect(path, isolation_level=None)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT * FROM entries ORDER BY seq").fetchall() == before
        with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
            conn.execute("UPDATE creator_versions SET rowid = 99 WHERE seq = 2")
        conn.close()
        done = ledger.erase(dl.Creator, "cr_1", reason="asked", by="dpo")
        assert [r.seq for r in done.redacted] == [1, 3, 6]
        assert ledger.verify(deep=True).ok
        assert ledger.verify(digest=f"{before[-1][0]}:{before[-1][-1]}").ok
        maya = ledger.get(dl.Creator, "cr_1")
        assert maya is not None and maya.handle is None and maya.region == "US"
    assert b"maya.makes" not in backend.stored_bytes()


def test_a_version_3_postgres_ledger_migrates_once(backend: Backend) -> None:
    """A PostgreSQL ledger of schema version 3 (``postgres-v3-schema.sql``: what commit 74db43c
    made, holding ``ledger-v3.db``'s rows): the owner's next open migrates it, and it erases."""
    if backend.name != "postgres":
        pytest.skip("the SQLite migration is tested on a real version-3 file above")
    conn = backend.connect()
    conn.conn.execute((DATA / "postgres-v3-schema.sql").read_text())  # one round trip
    conn.close()
    source = sqlite3.connect(DATA / "ledger-v3.db")
    raw = backend.raw()  # the guards off, to put the file's rows in as they are
    tables = [
        name for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    for table in tables:
        rows = source.execute(f"SELECT * FROM {table}").fetchall()
        marks = ", ".join("?" * len(rows[0])) if rows else ""
        for row in rows:
            raw.execute(f"INSERT INTO {table} VALUES ({marks})", row)
    for table in [*tables, "ledger_schema"]:
        raw.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
    raw.close()
    last = source.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    source.close()
    digest = f"{last[0]}:{last[1]}"
    with backend.open() as ledger:
        assert ledger.verify(deep=True, digest=digest).ok
        done = ledger.erase(dl.Creator, "cr_1", reason="asked", by="dpo")
        assert [r.seq for r in done.redacted] == [1, 3, 6]
        assert ledger.verify(deep=True, digest=digest).ok
    conn = backend.connect()
    assert conn.execute("SELECT schema_version FROM ledger_schema").fetchone()[0] == (
        POSTGRES_SCHEMA_VERSION
    )
    with pytest.raises(backend.refused, match="written only when the ledger is made"):
        conn.execute("INSERT INTO ledger_schema VALUES (1, 4)")
    conn.close()
    assert b"maya.makes" not in backend.stored_bytes()


def test_personal_payloads_carry_a_salt_that_erasure_removes(backend: Backend) -> None:
    with backend.open(clock=Clock()) as ledger:
        ledger.record(dl.Creator(id="c1", handle="maya.makes", region="US"))
        ledger.record(dl.Creator(id="c2", region="US"))  # nothing personal: no salt
        ledger.record(dl.AdAccount(id="69", name="Brand", region="US"))
        salts = [e.salt for e in ledger.entries()]
        assert salts[0] is not None and len(salts[0]) == 32 and salts[1:] == [None, None]
        conn = backend.connect()
        payload, payload_hash = conn.execute(
            "SELECT payload, payload_hash FROM entries WHERE seq = 1"
        ).fetchone()
        # A guess of the erased handle, hashed as the unsalted payload, matches nothing kept.
        guess = '{"_source":"api","handle":"maya.makes","id":"c1","region":"US"}'
        assert hashlib.sha256(guess.encode()).hexdigest() != payload_hash
        assert hashlib.sha256(payload.encode()).hexdigest() == payload_hash
        ledger.erase(dl.Creator, "c1", reason="asked", by="dpo")
        after = conn.execute("SELECT payload FROM entries WHERE seq = 1").fetchone()[0]
        conn.close()
        assert after == '{"_source":"api","id":"c1","region":"US"}'
        assert salts[0] not in after


def test_the_command_line_erases_and_runs_retention(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from delvia_ledger.cli import main

    db = str(tmp_path / "a.db")
    csv = tmp_path / "creators.csv"
    csv.write_text("id,handle,region\nc1,maya.makes,US\n")
    assert main(["--db", db, "init"]) == 0
    assert main(["--db", db, "import", str(csv), "--type", "Creator"]) == 0
    capsys.readouterr()
    args = ["--db", db, "erase", "creator", "c1", "--reason", "request #12", "--by", "dpo"]
    assert main([*args, "--dry-run"]) == 0
    assert (
        "would redact 1 entry of Creator c1:\n  seq 1: Creator c1 (handle)"
        in capsys.readouterr().out
    )
    assert main(args) == 0
    assert "erased Creator c1: 1 entry redacted; Erasure at seq 2" in capsys.readouterr().out
    assert main(["--db", db, "import", str(csv), "--type", "Creator"]) == 2
    assert (
        "was erased" in capsys.readouterr().err and "--force" in capsys.readouterr().err + "--force"
    )
    assert main(["--db", db, "import", str(csv), "--type", "Creator", "--force"]) == 0
    assert main(["--db", db, "erase", "AdAccount", "x", "--reason", "r", "--by", "dpo"]) == 2
    assert main(["--db", db, "retention", "--older-than", "3 years"]) == 2
    assert "older_than='3 years'" in capsys.readouterr().err
    assert main(["--db", db, "retention", "--older-than", "3y", "--dry-run"]) == 0
    assert "would erase 0 subjects" in capsys.readouterr().out
    with dl.Ledger.open(db) as ledger:
        assert ledger.verify(deep=True).ok and ledger.seq == 3


def test_the_documented_privacy_role_erases_and_the_application_role_may_not(
    backend: Backend,
) -> None:
    """docs/postgres.md's roles, run as written: ``ledger_privacy`` may erase a person (their
    old notices' addresses included) and a creator (with the posts' captions); its grants and
    ``ledger_app``'s name every version table."""
    if backend.name != "postgres":
        pytest.skip("roles and grants are PostgreSQL's")
    import psycopg

    with backend.open(clock=Clock()) as ledger:
        ledger.record_all(
            [
                dl.Person(id="p1", name="Ana Ops", email="ana@brand.example", chat_id="U0ANA12"),
                dl.Notice(person_id="p1", channel="email:ana@brand.example", sent_at=T0,
                          finding_keys=("K",)),
                dl.Creator(id="c1", handle="maya.makes", region="US"),
                dl.Post(id="7301", creator_id="c1", kind="VIDEO", caption="sunset"),
            ]
        )  # fmt: skip
    owner = backend.connect()
    if not owner.execute(
        "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()[0]:
        owner.close()
        pytest.skip("the test server's role may not create roles (.ci/postgres's may)")
    schema = owner.execute("SELECT current_schema()").fetchone()[0]
    text = (Path(__file__).parent.parent / "docs" / "postgres.md").read_text()
    section = text.split("## Permissions", 1)[1].split("\n## ", 1)[0]
    sql = "\n".join(block.split("```", 1)[0] for block in section.split("```sql\n")[1:])
    suffix = hashlib.sha256(schema.encode()).hexdigest()[:8]
    app, privacy, password = f"ledger_app_{suffix}", f"ledger_privacy_{suffix}", suffix * 2
    sql = (
        sql.replace("ledger_privacy", privacy)
        .replace("ledger_app", app)
        .replace("SCHEMA public", f"SCHEMA {schema}")
        .replace("'...'", f"'{password}'")
    )
    named = {n for n in re.findall(r"\b(\w+_versions)\b", sql)}
    assert {t.name for t in TABLES.values()} <= named
    try:
        for statement in sql.split(";"):
            if statement.strip():
                owner.execute(statement)
        url = backend.location.replace("://", f"://{privacy}:{password}@", 1)
        if "@" in backend.location.split("://", 1)[1].split("/", 1)[0]:  # the URL names a user
            head, rest = backend.location.split("://", 1)
            url = f"{head}://{privacy}:{password}@{rest.split('@', 1)[1]}"
        with dl.Ledger.open(url, clock=Clock()) as ledger:
            ledger.erase(dl.Person, "p1", reason="asked", by="dpo")
            ledger.erase(dl.Creator, "c1", reason="asked", by="dpo")
            assert ledger.verify(deep=True).ok
        as_app = url.replace(privacy, app, 1)
        with dl.Ledger.open(as_app, clock=Clock()) as ledger:
            ledger.record(dl.Person(id="p2", name="Leo", chat_id="U0LEO12"))
            with pytest.raises(dl.StorageError, match="may not do this"):
                ledger.erase(dl.Person, "p2", reason="asked", by="dpo")
    finally:
        for role in (privacy, app):
            with contextlib.suppress(psycopg.Error):
                owner.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}")
                owner.execute(f"REVOKE ALL ON SCHEMA {schema} FROM {role}")
                owner.execute(f"DROP ROLE {role}")
        owner.close()
    kept = backend.stored_bytes()
    assert [
        s for s in (b"ana@brand.example", b"U0ANA12", b"maya.makes", b"sunset") if s in kept
    ] == []
