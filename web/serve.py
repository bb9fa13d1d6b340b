"""Serve the demo clinic pages and the widget: `python -m web.serve [--port 8080]` from the project folder.

Serves the files in web/ and nothing else: no directory listings, no
dotfiles, no node_modules/, not this script nor the npm files. `make web`
copies the socket.io client to web/widget/vendor/ first. Each clinic of the
clinics folder (CLINICS_DIR, default clinics/) has a demo page at
`/clinics/<clinic_id>/`, made from web/clinic.html and its profile (read with
`shared.clinic`, so a new profile gets a page without a restart).

`--rasa-url URL` rewrites the demo snippet's data-server-url
(http://localhost:5005) in the HTML pages, for a Rasa server on another port.
"""

from __future__ import annotations

import argparse
import functools
import html
import io
import os
import re
import sys
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from shared.clinic import ProfileError, clinic_file, load_profile

WEB = Path(__file__).resolve().parent
DEMO_RASA_URL = "http://localhost:5005"
HIDDEN_FILES = {"serve.py", "package.json", "package-lock.json", "clinic.html"}
CLINIC_PAGE = re.compile(r"^/clinics/([a-z0-9_]+)/?$")


class Handler(SimpleHTTPRequestHandler):
    rasa_url: str = DEMO_RASA_URL
    quiet: bool = False

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".map": "application/json",
    }

    def _allowed(self) -> bool:
        parts = [p for p in unquote(urlsplit(self.path).path).split("/") if p]
        if any(p.startswith(".") or p == "node_modules" or p == "__pycache__" for p in parts):
            return False
        if len(parts) == 1 and parts[0] in HIDDEN_FILES:
            return False
        target = Path(self.translate_path(self.path)).resolve()
        if target.is_dir():
            return (target / "index.html").is_file()
        return target.is_file() and WEB in target.parents

    def clinic_page(self, clinic_id: str):
        """Return the demo page of a clinic of the clinics folder (404 for any other id)."""
        try:
            profile = load_profile(clinic_file(clinic_id, os.environ.get("CLINICS_DIR")))
        except ProfileError:
            self.send_error(HTTPStatus.NOT_FOUND, "No such clinic")
            return None
        fields = {"id": profile.id, "name": profile.name, "location": profile.location}
        page = (WEB / "clinic.html").read_text(encoding="utf-8")
        for key, value in fields.items():
            page = page.replace("{" + key + "}", html.escape(value))
        return self._html(page.replace(DEMO_RASA_URL, self.rasa_url))

    def _html(self, text: str):
        body = text.encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def send_head(self):  # noqa: D102 (see SimpleHTTPRequestHandler)
        clinic = CLINIC_PAGE.match(unquote(urlsplit(self.path).path))
        if clinic:
            return self.clinic_page(clinic.group(1))
        if not self._allowed():
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            if not urlsplit(self.path).path.endswith("/"):
                return super().send_head()  # redirect to the trailing slash
            path = path / "index.html"
        if path.suffix == ".html" and self.rasa_url != DEMO_RASA_URL:
            return self._html(path.read_text(encoding="utf-8").replace(DEMO_RASA_URL, self.rasa_url))
        return super().send_head()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def list_directory(self, path):  # never list folders
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        return None

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Serve the demo page and the chat widget (web/).")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--rasa-url", default=DEMO_RASA_URL, help="Rasa server address for the demo page")
    parser.add_argument("--quiet", action="store_true", help="don't log each request")
    args = parser.parse_args(argv)

    if not (WEB / "widget" / "vendor" / "socket.io.min.js").is_file():
        print("serve.py: web/widget/vendor/socket.io.min.js is missing: run `make web`", file=sys.stderr)
        return 2

    handler = type("DemoHandler", (Handler,), {"rasa_url": args.rasa_url.rstrip("/"), "quiet": args.quiet})
    server = ThreadingHTTPServer((args.bind, args.port), functools.partial(handler, directory=str(WEB)))
    print(f"serve.py: serving web/ on http://{args.bind}:{args.port}/ (Rasa: {handler.rasa_url})", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
