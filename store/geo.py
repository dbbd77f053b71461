"""The postcode table: where a postcode (or its sector) is and which ward it lies in."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.postcodes import PostcodePoint, sector_of
from store.db import Sessions
from store.schema import PostcodeRow

_BATCH = 2000


async def save_postcodes(sessions: Sessions, points: Iterable[PostcodePoint]) -> int:
    """Insert or replace postcodes in batches; how many were written."""
    written = 0
    batch: list[dict[str, object]] = []
    async with sessions.begin() as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert

        async def flush() -> None:
            statement = insert(PostcodeRow).values(batch)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[PostcodeRow.postcode],
                    set_={
                        c: statement.excluded[c]
                        for c in ("latitude", "longitude", "ward_code", "ward_name")
                    },
                )
            )

        for point in points:
            batch.append(point.model_dump())
            if len(batch) >= _BATCH:
                await flush()
                written += len(batch)
                batch = []
        if batch:
            await flush()
            written += len(batch)
    return written


async def find_postcode(sessions: Sessions, postcode: str) -> PostcodePoint | None:
    """The written postcode's own row, else its sector's; None when neither is known."""
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(PostcodeRow).where(PostcodeRow.postcode.in_([postcode, sector_of(postcode)]))
            )
        ).all()
    if not rows:
        return None
    row = min(rows, key=lambda r: r.postcode != postcode)
    return PostcodePoint(
        postcode=row.postcode,
        latitude=row.latitude,
        longitude=row.longitude,
        ward_code=row.ward_code,
        ward_name=row.ward_name,
    )


async def postcode_count(sessions: Sessions) -> int:
    """How many postcodes and sectors the table holds."""
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PostcodeRow)) or 0)
