"""The status pages' in-process cache: concurrent misses share one read, a change drops it,
an entry expires, an unknown page is not kept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from uptime_graphql.public import status


class Reads:
    def __init__(self) -> None:
        self.count = 0

    async def page_by_slug(self, pool: Any, slug: str) -> Any:
        self.count += 1
        await asyncio.sleep(0.01)
        return None if slug == "missing" else slug

    async def public_page(self, pool: Any, row: Any) -> Any:
        await asyncio.sleep(0.01)
        return f"page {row} #{self.count}"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    reads = Reads()
    monkeypatch.setattr(status, "page_by_slug", reads.page_by_slug)
    monkeypatch.setattr(status, "public_page", reads.public_page)
    return reads


async def test_concurrent_misses_share_one_read(reads: Reads) -> None:
    cache = status.StatusCache()
    answers = await asyncio.gather(*(cache.get(None, "a") for _ in range(20)))
    assert reads.count == 1
    assert {a.page for a in answers if a is not None} == {"page a #1"}
    again = await cache.get(None, "a")
    assert again is answers[0] and reads.count == 1


async def test_a_change_drops_every_page_even_one_being_read(reads: Reads) -> None:
    cache = status.StatusCache()
    await cache.get(None, "a")
    reading = asyncio.ensure_future(cache.get(None, "b"))
    await asyncio.sleep(0)
    cache.invalidate()
    await reading
    assert cache.entries == {}  # the read that began before the change is not kept
    fresh = await cache.get(None, "a")
    assert fresh is not None and fresh.page == "page a #3"


async def test_entries_expire_and_unknown_pages_are_not_kept(reads: Reads) -> None:
    cache = status.StatusCache(seconds=0)
    await cache.get(None, "a")
    await cache.get(None, "a")
    assert reads.count == 2
    assert await cache.get(None, "missing") is None
    assert "missing" not in cache.entries
