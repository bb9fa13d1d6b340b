"""A local fake of Twilio's Messages API: a real HTTP server on loopback that records what it is sent."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional
from urllib.parse import parse_qs


class FakeTwilio:
    """Accept `POST /2010-04-01/Accounts/<sid>/Messages.json` like Twilio; keep each request (path, auth, form)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: List[Dict[str, object]] = []
        self.fail_first = fail_first  # answer the first N requests with a 503 (Twilio having a bad moment)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                auth = self.headers.get("Authorization", "")
                user = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else ""
                fake.requests.append({"path": self.path, "auth": user, "form": form})
                if len(fake.requests) <= fake.fail_first:
                    self._reply(503, {"message": "try again"})
                else:
                    self._reply(201, {"sid": f"SM{len(fake.requests):032d}", "status": "queued"})

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeTwilio":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def messages(self, to: Optional[str] = None) -> List[Dict[str, str]]:
        """Return the forms of the accepted messages (to one number), in order."""
        accepted = self.requests[self.fail_first :]
        return [r["form"] for r in accepted if to is None or r["form"].get("To") == to]  # type: ignore[union-attr]

    def wait_for(self, to: str, count: int, timeout: float = 60) -> List[Dict[str, str]]:
        """Wait until `count` messages to `to` arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages(to)) < count:
            time.sleep(0.1)
        return self.messages(to)
