"""Directory sync: read an ORUK feed (URL, JSON file or folder of CSV tables), import it, and
tell the referral workflows waiting on services that stopped taking referrals.

Referral workflows with an open leg on a service list its id in the ``PfWaitingOn`` search
attribute, so a visibility query finds them without reading any workflow's state.
"""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from clients.temporal import signal_waiting_referrals
from domain.oruk.feed import Feed
from domain.oruk.importing import read_document
from domain.oruk.sync import (
    SyncReport,
    SyncRequest,
    WithdrawalReport,
    Withdrawals,
)
from domain.oruk.tabular import feed_from_tables
from store.db import Sessions
from store.oruk import ImportReport, import_feed

log = structlog.get_logger(__name__)

MAX_PAGES = 1000
MAX_BYTES = 50 * 1024 * 1024


class FeedUnreadable(ValueError):
    """The source is not an ORUK feed we can read."""


def is_url(source: str) -> bool:
    """Whether ``source`` names an http(s) feed rather than a local path."""
    return source.startswith(("http://", "https://"))


def _read_path(path: Path) -> Feed:
    if path.is_dir():
        tables = {}
        for table in sorted(path.glob("*.csv")):
            with table.open(newline="", encoding="utf-8-sig") as f:
                tables[table.name] = list(csv.DictReader(f))
        if not tables:
            raise FeedUnreadable(f"{path} holds no CSV tables")
        return feed_from_tables(tables)
    if not path.is_file():
        raise FeedUnreadable(f"{path}: no such file or folder")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedUnreadable(f"{path} is not JSON: {exc}") from None
    try:
        return read_document(doc)
    except ValueError as exc:
        raise FeedUnreadable(f"{path}: {exc}") from None


async def _get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url, headers={"Accept": "application/json"}) as response:
        if response.status != 200:
            raise FeedUnreadable(f"GET {url} answered HTTP {response.status}")
        body = await response.content.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise FeedUnreadable(f"GET {url} answered more than {MAX_BYTES} bytes")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedUnreadable(f"GET {url} did not answer JSON: {exc}") from None


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["page"] = str(page)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _read_url(url: str) -> Feed:
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        doc = await _get_json(http, url)
        if not (isinstance(doc, dict) and isinstance(doc.get("contents"), list)):
            try:
                return read_document(doc)
            except ValueError as exc:
                raise FeedUnreadable(f"{url}: {exc}") from None
        items = list(doc["contents"])
        page = int(doc.get("page_number") or 1)
        total = int(doc.get("total_pages") or 1)
        while page < min(total, MAX_PAGES):
            page += 1
            more = await _get_json(http, _with_page(url, page))
            items += more.get("contents", []) if isinstance(more, dict) else []
        path = urlsplit(url).path.rstrip("/")
        if path.endswith("/services"):
            # List items are summaries; each full record (areas, terms, locations) is at /{id}.
            base = urlunsplit(urlsplit(url)._replace(path=path, query=""))
            items = [
                await _get_json(http, f"{base}/{item['id']}")
                for item in items
                if isinstance(item, dict) and isinstance(item.get("id"), str)
            ]
        try:
            return read_document(items)
        except ValueError as exc:
            raise FeedUnreadable(f"{url}: {exc}") from None


async def read_source(source: str) -> Feed:
    """The ORUK records at ``source``: a URL (a document, or a paged ``/services`` listing whose
    full records are then fetched one by one), a JSON file, or a folder of ORUK CSV tables."""
    if is_url(source):
        try:
            return await _read_url(source)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FeedUnreadable(f"{source} is unreachable: {exc!r}") from None
    return await asyncio.to_thread(_read_path, Path(source))


def sync_report(report: ImportReport) -> SyncReport:
    """The workflow-sized summary of an import."""
    return SyncReport(
        source=report.source,
        created=len(report.created),
        updated=len(report.updated),
        unchanged=len(report.unchanged),
        refused=report.refused,
        problems=[str(p) for p in report.problems][:200],
        withdrawn=report.withdrawn,
    )


class DirectorySync:
    """The directory sync activities, bound to the store and the co-ordinator's address."""

    def __init__(self, sessions: Sessions, coordinator_email: str | None) -> None:
        self._sessions = sessions
        self._coordinator = coordinator_email

    @activity.defn(name="sync_directory_feed")
    async def sync_directory_feed(self, request: SyncRequest) -> SyncReport:
        """Read the feed and import it in one transaction."""
        try:
            feed = await read_source(request.feed)
        except FeedUnreadable as exc:
            # A feed that answers but is not ORUK will not improve by retrying at once;
            # the next scheduled run tries again.
            retry = is_url(request.feed) and "unreachable" in str(exc)
            raise ApplicationError(
                str(exc), type="FeedUnreadable", non_retryable=not retry
            ) from exc
        report = await import_feed(self._sessions, feed, source=request.feed, full=request.full)
        info = activity.info()
        log.info(
            "directory feed imported",
            workflow_id=info.workflow_id,
            source=request.feed,
            created=len(report.created),
            updated=len(report.updated),
            refused=report.refused,
            withdrawn=len(report.withdrawn),
        )
        return sync_report(report)

    @activity.defn(name="signal_withdrawn_services")
    async def signal_withdrawn_services(self, withdrawals: Withdrawals) -> WithdrawalReport:
        """Signal the running referrals waiting on each withdrawn service to re-route."""
        signalled = await signal_waiting_referrals(activity.client(), withdrawals.services)
        log.info(
            "referrals told of withdrawn services",
            workflow_id=activity.info().workflow_id,
            services=len(withdrawals.services),
            referrals=sum(len(v) for v in signalled.values()),
        )
        return WithdrawalReport(referrals=signalled, coordinator=self._coordinator)
