"""Quickstart: record a creator, a post and a Spark code, then verify the ledger."""

from datetime import UTC, datetime, timedelta

import delvia_ledger as dl

now = datetime.now(UTC)
with dl.Ledger.open("quickstart.db") as ledger:
    ledger.record_all(
        [
            dl.Creator(id="maya", handle="@maya.makes", region="US"),
            dl.Post(id="7301000000000000001", creator_id="maya", kind="VIDEO"),
        ]
    )
    entry = ledger.record(
        dl.SparkAuthorization.from_code(
            "#mX1nZq+example/code=",
            creator_id="maya",
            post_id="7301000000000000001",
            starts_at=now,
            expires_at=now + timedelta(days=30),
        )
    )
    print(entry.record)
    print("verify:", ledger.verify(), "digest:", ledger.digest())
