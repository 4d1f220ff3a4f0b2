"""A stand-in for the example providers' APIs on 127.0.0.1, for the tour and the recordings.

    python examples/fake_api.py --port 8080

It answers the requests the functions in examples/ make (GitHub, HubSpot, Jira, Calendly,
Asana) with fixed data, pages included, and prints the Authorization header of every request,
so you can see the credential the orchestrator injected. Everything it answers is
deterministic, so recordings of it are stable.
"""

from __future__ import annotations

import argparse
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ISSUES = [
    {
        "id": 1000 + n,
        "number": n,
        "title": f"Issue {n}",
        "state": "open",
        "html_url": f"https://github.example/acme/app/issues/{n}",
    }
    for n in range(1, 6)
]
CONTACTS = [
    {
        "id": str(500 + n),
        "updatedAt": f"2026-01-0{n}T10:00:00Z",
        "properties": {
            "email": f"person{n}@example.com",
            "firstname": f"First{n}",
            "lastname": f"Last{n}",
        },
    }
    for n in range(1, 6)
]
PROJECTS = [
    {
        "id": str(10000 + n),
        "key": f"P{n}",
        "name": f"Project {n}",
        "style": "classic" if n % 2 else None,
    }
    for n in range(1, 6)
]
EVENTS = [
    {
        "uri": f"https://api.calendly.example/scheduled_events/EV{n}",
        "name": f"Call {n}",
        "status": "active",
        "start_time": f"2026-02-0{n}T09:00:00Z",
    }
    for n in range(1, 4)
]
TASKS = {
    "P1": [{"gid": f"T1{n}", "name": f"Task 1.{n}", "completed": n == 1} for n in range(1, 4)],
    "P2": [{"gid": "T21", "name": "Task 2.1", "completed": False}],
}
Answer = tuple[int, Any, dict[str, str]]


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    return int(query.get(name, [str(default)])[0])


def github_issues(base: str, path: str, query: dict[str, list[str]]) -> Answer:
    page = _int(query, "page", 1)
    link = f'<{base}{path}?state=all&per_page=100&page=2>; rel="next"'
    return (200, ISSUES[:3], {"link": link}) if page == 1 else (200, ISSUES[3:], {})


def hubspot_contacts(base: str, path: str, query: dict[str, list[str]]) -> Answer:
    start, limit = _int(query, "after", 0), _int(query, "limit", 100)
    body: dict[str, Any] = {"results": CONTACTS[start : start + limit]}
    if start + limit < len(CONTACTS):
        body["paging"] = {"next": {"after": str(start + limit)}}
    return 200, body, {}


def jira_projects(base: str, path: str, query: dict[str, list[str]]) -> Answer:
    start, size = _int(query, "startAt", 0), _int(query, "maxResults", 50)
    values = [{k: v for k, v in p.items() if v is not None} for p in PROJECTS[start : start + size]]
    return 200, {"values": values, "startAt": start, "total": len(PROJECTS)}, {}


def calendly_events(base: str, path: str, query: dict[str, list[str]]) -> Answer:
    token = _int(query, "page_token", 0)
    count = _int(query, "count", 20)
    rest = f"{base}{path}?user={query['user'][0]}&count={count}&page_token={token + count}"
    more = token + count < len(EVENTS)
    return (
        200,
        {
            "collection": EVENTS[token : token + count],
            "pagination": {"next_page": rest if more else None},
        },
        {},
    )


def asana_tasks(base: str, path: str, query: dict[str, list[str]]) -> Answer:
    project = path.split("/")[4]
    start, limit = _int(query, "offset", 0), _int(query, "limit", 100)
    tasks = TASKS.get(project, [])
    more = start + limit < len(tasks)
    return (
        200,
        {
            "data": tasks[start : start + limit],
            "next_page": {"offset": str(start + limit)} if more else None,
        },
        {},
    )


GETS = [
    (re.compile(r"^/repos/[^/]+/[^/]+/issues$"), github_issues),
    (
        re.compile(r"^/user$"),
        lambda b, p, q: (200, {"login": "octo"}, {"x-oauth-scopes": "repo, read:org"}),
    ),
    (re.compile(r"^/crm/v3/objects/contacts$"), hubspot_contacts),
    (re.compile(r"^/rest/api/3/project/search$"), jira_projects),
    (
        re.compile(r"^/users/me$"),
        lambda b, p, q: (200, {"resource": {"uri": "https://api.calendly.example/users/ME"}}, {}),
    ),
    (re.compile(r"^/scheduled_events$"), calendly_events),
    (re.compile(r"^/api/1\.0/projects/[^/]+/tasks$"), asana_tasks),
]


def post(path: str, payload: dict[str, Any]) -> Answer:
    if re.match(r"^/repos/[^/]+/[^/]+/issues$", path):
        return (
            201,
            {
                "id": 9042,
                "number": 42,
                "title": payload.get("title"),
                "html_url": f"https://github.example{path}/42",
            },
            {},
        )
    if path == "/crm/v3/objects/contacts":
        email = payload.get("properties", {}).get("email", "")
        if email.startswith("taken@"):
            return 409, {"status": "error", "message": "Contact already exists"}, {}
        return 201, {"id": "901", "properties": payload.get("properties", {})}, {}
    return 404, {"message": "not found"}, {}


class Handler(BaseHTTPRequestHandler):
    def _send(self, answer: Answer) -> None:
        status, body, headers = answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        print("authorization:", self.headers.get("authorization"), flush=True)
        url = urlsplit(self.path)
        base = f"http://{self.headers['host']}"
        for pattern, answer in GETS:
            if pattern.match(url.path):
                self._send(answer(base, url.path, parse_qs(url.query)))
                return
        self._send((404, {"message": "not found"}, {}))

    def do_POST(self) -> None:
        print("authorization:", self.headers.get("authorization"), flush=True)
        length = int(self.headers.get("content-length") or 0)
        self._send(post(urlsplit(self.path).path, json.loads(self.rfile.read(length) or b"{}")))

    def log_message(self, *args: object) -> None:
        pass


def serve(port: int) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:port (0: any), not yet serving."""
    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    serve(parser.parse_args().port).serve_forever()


if __name__ == "__main__":
    main()
