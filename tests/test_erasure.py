"""Erasure and retention (DESIGN §16): personal data redacted from every version, the proof kept
in the chain, the file's guards allowing exactly that, and verify telling a recorded redaction
from a hand-made one; on both backends."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

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
        assert done.erasure is not None and set(done.erasure.seqs) == {r.seq for r in done.redacted}
        assert ledger.verify(deep=True).ok
        assert ledger.verify(digest=before).ok  # a digest kept before still verifies
        assert ledger.as_of(seq=before.seq).digest() == before
        maya = ledger.get(dl.Creator, "cr_7")
        assert maya is not None and (maya.handle, maya.display_name, maya.contact) == (None,) * 3
        assert maya.region == "US"
        assert all(e.record.handle is None for e in ledger.history(dl.Creator, "cr_7"))
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
                redacted=(),
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
        assert again.record.handle == "maya.new" and ledger.verify(deep=True).ok


# --- the file's guards --------------------------------------------------------------------------


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
        assert sorted(done.erasure.seqs) == [1, 3]  # type: ignore[union-attr]
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
        db[table].update(seqs[0], {"seq": 999})
    conn.close()
    with backend.open() as ledger:
        assert ledger.get(dl.Creator, "c1") is not None and ledger.verify(deep=True).ok


@pytest.mark.sqlite_only
def test_sqlite_utils_may_not_redact_by_hand_either(backend: Backend) -> None:
    originals, leo, _ = erased_file(backend)
    db = sqlite_utils.Database(sqlite3.connect(backend.location, isolation_level=None))
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db["entries"].update(leo, {"payload": redacted_payload("Creator", originals[leo])})
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        db["creator_versions"].update(leo, {"handle": None})


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
    forged["redacted"] = [*forged["redacted"], f"{leo}:{hashlib.sha256(b'x').hexdigest()}"]
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
        self.erased: set[tuple[str, str]] = set()
        self.digests: list[dl.Digest] = []

    @initialize()
    def start(self) -> None:
        self.digests.append(self.ledger.digest())

    def teardown(self) -> None:
        self.ledger.close()

    def _record(self, record: dl.Record) -> None:
        subject = (
            ("Creator", record.creator_id)
            if isinstance(record, dl.Post)
            else (type(record).__name__, record.id)
        )
        self.ledger.record(record, force=True)
        self.erased.discard(subject)  # a new consent: its data is current again
        self.model[(type(record), record.id)] = record

    @rule(n=st.integers(0, 3), handle=st.none() | personal_texts, region=regions)
    def creator(self, n: int, handle: str | None, region: str) -> None:
        self._record(dl.Creator(id=f"c{n}", handle=handle, region=region))

    @rule(n=st.integers(0, 3), caption=st.none() | personal_texts)
    def post(self, n: int, caption: str | None) -> None:
        if (dl.Creator, f"c{n}") in self.model:
            self._record(dl.Post(id=f"p{n}", creator_id=f"c{n}", kind="VIDEO", caption=caption))

    @rule(n=st.integers(0, 2), name=personal_texts, email=st.none() | st.emails())
    def person(self, n: int, name: str, email: str | None) -> None:
        self._record(dl.Person(id=f"h{n}", name=name, email=email))

    @rule(n=st.integers(0, 3), person=st.booleans(), reason=ids)
    def erase(self, n: int, person: bool, reason: str) -> None:
        cls, id_ = (dl.Person, f"h{n % 3}") if person else (dl.Creator, f"c{n}")
        if (cls, id_) not in self.model:
            return
        self.clock.advance(seconds=1)
        self.ledger.erase(cls, id_, reason=reason, by="dpo")
        self.erased.add((cls.__name__, id_))

    @rule(days=st.integers(1, 800))
    def retention(self, days: int) -> None:
        self.clock.advance(days=days)
        done = self.ledger.retention("1y")
        self.erased |= {(r.subject_type, r.subject_id) for r in done.erased}
        self.digests.append(self.ledger.digest())

    @invariant()
    def verifies_and_keeps_what_is_not_erased(self) -> None:
        assert self.ledger.verify(deep=True).ok
        assert all(self.ledger.verify(digest=d).ok for d in self.digests)
        for (cls, id_), record in self.model.items():
            owner = (
                ("Creator", record.creator_id)
                if isinstance(record, dl.Post)
                else (cls.__name__, id_)
            )
            found = self.ledger.get(cls, id_)
            if owner in self.erased:
                blank = {f: None for f in PERSONAL_FIELDS[cls] if f != "name"}
                if cls is dl.Person:
                    blank["name"] = "(erased)"
                assert found == type(record)(**{**dl.converter.unstructure(record), **blank})
            else:
                assert found == record


def test_any_sequence_of_records_erasures_and_retention_runs_verifies(backend: Backend) -> None:
    run_state_machine_as_test(
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
