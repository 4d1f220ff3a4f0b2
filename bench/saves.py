"""The records rows: ``batch_save`` end to end, a full link-paginated sync, each twice.

``batch_save`` end to end: a sync that makes ``count`` records in the function and saves them
in the SDK's batches of 1,000, timed from the client's TriggerSync to its end; then the same
sync again (every record unchanged). The floor: a raw insert of the same rows into a table of
the records table's shape (SQLite: ``executemany`` in one transaction; PostgreSQL: ``COPY``),
measured in the same run.

Full sync: ``pages`` pages of 100 records each from the local HTTP server, followed by their
``link`` header, each page saved as it arrives; then again unchanged. Its floor: the same
number of raw GETs of a page plus the raw insert of all its records.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from bench import _functions as f
from bench import floors
from bench._rows import Row, check, median
from corral.cli import Client
from tests.support.fake_api import FakeApi, Seen

PER_PAGE = 100

FloorSeconds = Callable[[int], float]
"""Seconds of the raw insert of ``n`` records' rows (the engine's floor)."""


def _timed_sync(client: Client, name: str, connection: str) -> float:
    start = time.perf_counter()
    f.sync(client, name, connection)
    return time.perf_counter() - start


def _rate_row(
    name: str, count: int, seconds: list[float], floor: list[float], what: str, *, group: str
) -> Row:
    return Row(
        group,
        name,
        "records/s",
        round(count / median(seconds)),
        floor=round(count / median(floor)),
        floor_what=what,
        samples=len(seconds),
        extra={"records": count, "median_s": round(median(seconds), 3)},
    )


def batch_save(client: Client, count: int, repeat: int, floor: FloorSeconds) -> list[Row]:
    """New and unchanged records, ``repeat`` times each on fresh connections."""
    new, unchanged, floors_s = [], [], []
    for index in range(repeat):
        connection = f"saves-{index}-{time.monotonic_ns()}"
        f.connect(client, connection, {"count": count})
        floors_s.append(floor(count))
        new.append(_timed_sync(client, "saves", connection))
        unchanged.append(_timed_sync(client, "saves", connection))
    what = "raw insert of the same rows"
    first = _rate_row(
        "batch_save, new records, end to end", count, new, floors_s, what, group="records"
    )
    check(first, "≤ 2x floor", lambda r: (r.ratio or 0) <= 2)
    second = _rate_row(
        "batch_save, unchanged records (second run)",
        count,
        unchanged,
        floors_s,
        what,
        group="records",
    )
    return [first, check(second, "≥ 3x the new rate", lambda r: r.value >= 3 * first.value)]


def serve_pages(api: FakeApi, pages: int) -> str:
    """Routes ``GET /issues?page=n`` (``pages`` pages, each linking the next) and ``GET /ping``;
    the URL of the first page."""
    bodies = [
        json.dumps(
            [
                {"id": str(n), "title": f"Issue {n}", "labels": ["a", "b"]}
                for n in range(page * PER_PAGE, (page + 1) * PER_PAGE)
            ]
        ).encode()
        for page in range(pages)
    ]

    def issues(seen: Seen) -> tuple[int, Any, dict[str, str]]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(seen.path).query)
        page = int(query.get("page", ["1"])[0])
        link = f'<{api.url}/issues?page={page + 1}>; rel="next"'
        return 200, bodies[page - 1], {"link": link} if page < pages else {}

    api.routes[("GET", "/issues")] = issues
    api.route("GET", "/ping", body={"ok": True})
    return f"{api.url}/issues?page=1"


def full_sync(client: Client, api: FakeApi, pages: int, floor: FloorSeconds) -> list[Row]:
    """The sync of ``pages`` pages, then again unchanged, against raw GETs and the insert."""
    first_page = serve_pages(api, pages)
    connection = f"pages-{time.monotonic_ns()}"
    f.connect(client, connection)
    count = pages * PER_PAGE
    seconds = [_timed_sync(client, "pages", connection), _timed_sync(client, "pages", connection)]
    api.seen.clear()  # the fake API keeps every request it saw
    gets = floors.raw_gets(first_page, pages)
    raw = sum(gets) + floor(count)
    what = f"{pages} raw GETs + raw insert"
    return [
        _rate_row(
            f"full sync, {count:,} records over {pages} pages",
            count,
            seconds[:1],
            [raw],
            what,
            group="sync",
        ),
        _rate_row("full sync again, unchanged", count, seconds[1:], [raw], what, group="sync"),
    ]
