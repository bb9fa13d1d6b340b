"""Sign-in for the front-desk inbox: hashed passwords, server-side sessions with a CSRF token, rate-limited attempts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Deque, Dict, Optional, Tuple

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256
SESSION_SECONDS = 8 * 3600  # a working day
MAX_FAILURES = 5  # failed sign-ins per address and clinic...
FAILURE_WINDOW = 15 * 60  # ...in this many seconds; then 429 until the oldest is older


def hash_password(password: str, salt: Optional[bytes] = None, iterations: int = ITERATIONS) -> str:
    """Return `pbkdf2_sha256$<iterations>$<salt>$<hash>` (base64), the only form a password is stored in."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    encode = base64.b64encode
    return f"{ALGORITHM}${iterations}${encode(salt).decode()}${encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    """Tell whether `password` matches a stored hash (constant-time; False for a malformed hash)."""
    try:
        algorithm, iterations, salt, digest = stored.split("$")
        if algorithm != ALGORITHM:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True)
class Session:
    """A signed-in front desk: its clinic, the CSRF token its forms carry, when it ends."""

    clinic_id: str
    csrf: str
    expires: float


class Sessions:
    """Server-side sessions by random id (in this process's memory: a restart signs everyone out)."""

    def __init__(self, seconds: float = SESSION_SECONDS) -> None:
        """Keep each session for `seconds`."""
        self.seconds = seconds
        self._by_id: Dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, clinic_id: str) -> Tuple[str, Session]:
        """Start a session for a clinic; return its id (for the cookie) and the session."""
        session_id = secrets.token_urlsafe(32)
        session = Session(clinic_id, secrets.token_urlsafe(32), time.time() + self.seconds)
        with self._lock:
            now = time.time()
            self._by_id = {k: s for k, s in self._by_id.items() if s.expires > now}
            self._by_id[session_id] = session
        return session_id, session

    def get(self, session_id: Optional[str]) -> Optional[Session]:
        """Return the live session with this id, or None."""
        with self._lock:
            session = self._by_id.get(session_id or "")
        return session if session and session.expires > time.time() else None

    def end(self, session_id: Optional[str]) -> None:
        """Sign out."""
        with self._lock:
            self._by_id.pop(session_id or "", None)


class Attempts:
    """Failed sign-ins per (address, clinic) in a sliding window."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        """Allow `limit` failures per `window` seconds."""
        self.limit, self.window = limit, window
        self._failures: Dict[Tuple[str, str], Deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: Tuple[str, str]) -> int:
        """Return the seconds to wait before another attempt (0: go ahead)."""
        with self._lock:
            failures = self._recent(key)
            return int(failures[0] + self.window - time.time()) + 1 if len(failures) >= self.limit else 0

    def failed(self, key: Tuple[str, str]) -> None:
        """Count a failed attempt."""
        with self._lock:
            self._recent(key).append(time.time())

    def _recent(self, key: Tuple[str, str]) -> Deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] < time.time() - self.window:
            failures.popleft()
        return failures


def same_token(given: Optional[str], expected: str) -> bool:
    """Compare a submitted CSRF token with the session's, in constant time."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
