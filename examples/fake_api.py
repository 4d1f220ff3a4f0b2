"""A tiny stand-in for the GitHub API on 127.0.0.1, for the README's tour.

    python examples/fake_api.py --port 8080

It answers POST /repos/<owner>/<repo>/issues and GET /repos/<owner>/<repo>/issues (two pages
with a Link header), and prints the Authorization header of every request it receives.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        print("authorization:", self.headers.get("authorization"), flush=True)
        length = int(self.headers.get("content-length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        number = 42
        self._send(
            201,
            {
                "id": 9000 + number,
                "number": number,
                "title": payload.get("title"),
                "html_url": f"https://github.example{self.path}/{number}",
            },
        )

    def do_GET(self) -> None:
        print("authorization:", self.headers.get("authorization"), flush=True)
        page = 2 if "page=2" in self.path else 1
        base = self.path.split("?")[0]
        next_url = f"http://{self.headers['host']}{base}?state=all&per_page=100&page=2"
        headers = {} if page == 2 else {"link": f'<{next_url}>; rel="next"'}
        self._send(200, ISSUES[:3] if page == 1 else ISSUES[3:], headers)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
