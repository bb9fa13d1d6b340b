"""Store callback requests and live hand-offs durably in any SQLAlchemy database (SQLite by default)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import List, Optional

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Text, create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()

OPEN, DONE = "open", "done"


class CallbackRequest(Base):
    """One patient's request to be contacted by the clinic."""

    __tablename__ = "callback_requests"

    id = Column(Integer, primary_key=True)
    # Same patient, same details, same question: the same request (a retried
    # message or action call must not create a duplicate).
    dedupe_key = Column(String(64), unique=True, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)
    clinic_id = Column(String(64), nullable=False)
    name = Column(String(120), nullable=False)
    contact = Column(String(254), nullable=False)
    contact_kind = Column(String(8), nullable=False)  # "phone" or "email"
    preferred_time = Column(String(120), nullable=True)
    question = Column(Text, nullable=False)
    status = Column(String(8), nullable=False, default=OPEN, index=True)
    done_at = Column(DateTime(timezone=True), nullable=True)
    notified = Column(Boolean, nullable=False, default=False)
    notify_attempts = Column(Integer, nullable=False, default=0)

    def as_dict(self) -> dict:
        """Return the request as JSON-ready data."""
        return {
            "id": self.id,
            "created_at": _aware(self.created_at).isoformat(),
            "clinic_id": self.clinic_id,
            "name": self.name,
            "contact": self.contact,
            "contact_kind": self.contact_kind,
            "preferred_time": self.preferred_time,
            "question": self.question,
            "status": self.status,
            "done_at": _aware(self.done_at).isoformat() if self.done_at else None,
            "notified": self.notified,
        }


WAITING, TAKEN, CLOSED = "waiting", "taken", "closed"


class Handoff(Base):
    """A conversation a patient asked a person to join: waiting, taken by the front desk, or closed."""

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False, index=True)
    clinic_id = Column(String(64), nullable=False, index=True)
    channel = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    status = Column(String(8), nullable=False, default=WAITING, index=True)
    taken_at = Column(DateTime(timezone=True), nullable=True)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    notified = Column(Boolean, nullable=False, default=False)


@dataclass(frozen=True)
class NewRequest:
    """What the form collected; only these fields are ever stored."""

    clinic_id: str
    name: str
    contact: str
    contact_kind: str
    preferred_time: Optional[str]
    question: str

    def dedupe_key(self, conversation_id: str) -> str:
        """Hash the conversation and the details: the same request twice is one request."""
        parts = [conversation_id, self.clinic_id, self.name, self.contact, self.question]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _aware(moment: Optional[datetime]) -> Optional[datetime]:
    """SQLite returns naive datetimes: they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def now() -> datetime:
    return datetime.now(timezone.utc)


class CallbackStore:
    """The callback requests in one database; creates its schema on first use."""

    def __init__(self, url: str) -> None:
        """Connect lazily to the database at `url` (a SQLAlchemy URL)."""
        self.url = url
        self._engine: Optional[Engine] = None
        self._sessions = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            if self.url.startswith("sqlite:///"):
                Path(self.url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            # hide_parameters: an error message never shows a row's name or contact.
            engine = create_engine(self.url, future=True, pool_pre_ping=True, hide_parameters=True)
            Base.metadata.create_all(engine)  # may fail (database locked): try again next time
            self._sessions = sessionmaker(engine, future=True, expire_on_commit=False)
            self._engine = engine
        return self._engine

    def session(self):
        self.engine  # noqa: B018 - creates the engine and schema on first use
        return self._sessions()

    def add(self, request: NewRequest, conversation_id: str) -> tuple:
        """Commit a request; return (stored request, created). Idempotent."""
        key = request.dedupe_key(conversation_id)
        with self.session() as session:
            existing = session.execute(
                select(CallbackRequest).where(CallbackRequest.dedupe_key == key)
            ).scalar_one_or_none()
            if existing:
                return existing, False
            row = CallbackRequest(dedupe_key=key, created_at=now(), status=OPEN, **request.__dict__)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # the same request committed concurrently
                session.rollback()
                row = session.execute(select(CallbackRequest).where(CallbackRequest.dedupe_key == key)).scalar_one()
                return row, False
            return row, True

    def list(self, status: Optional[str] = OPEN, clinic_id: Optional[str] = None) -> List[CallbackRequest]:
        """Return the requests with that status (all if None) of that clinic (all if None), oldest first."""
        with self.session() as session:
            query = select(CallbackRequest).order_by(CallbackRequest.created_at, CallbackRequest.id)
            if status:
                query = query.where(CallbackRequest.status == status)
            if clinic_id is not None:
                query = query.where(CallbackRequest.clinic_id == clinic_id)
            return list(session.execute(query).scalars())

    def get(self, request_id: int, clinic_id: Optional[str] = None) -> Optional[CallbackRequest]:
        """Return the request, or None if there is none with that id (for that clinic, if given)."""
        with self.session() as session:
            row = session.get(CallbackRequest, request_id)
            return row if row is not None and clinic_id in (None, row.clinic_id) else None

    def mark_done(self, request_id: int, clinic_id: Optional[str] = None) -> Optional[CallbackRequest]:
        """Mark a request done; return it, or None if there is no such request (for that clinic, if given)."""
        with self.session() as session:
            row = session.get(CallbackRequest, request_id)
            if row is None or clinic_id not in (None, row.clinic_id):
                return None
            if row.status != DONE:
                row.status, row.done_at = DONE, now()
                session.commit()
            return row

    def pending_notifications(self) -> List[CallbackRequest]:
        with self.session() as session:
            query = select(CallbackRequest).where(CallbackRequest.notified.is_(False))
            return list(session.execute(query.order_by(CallbackRequest.id)).scalars())

    def record_notification(self, request_id: int, delivered: bool) -> None:
        with self.session() as session:
            row = session.get(CallbackRequest, request_id)
            if row is not None:
                row.notify_attempts += 1
                row.notified = row.notified or delivered
                session.commit()

    def purge(self, older_than: timedelta) -> int:
        """Delete requests created before now - older_than; return how many."""
        cutoff = now() - older_than
        with self.session() as session:
            rows = session.execute(select(CallbackRequest).where(CallbackRequest.created_at < cutoff)).scalars().all()
            for row in rows:
                session.delete(row)
            for old in session.execute(select(Handoff).where(Handoff.created_at < cutoff)).scalars().all():
                session.delete(old)
            session.commit()
            return len(rows)

    # -------------------------------------------------------- live hand-offs

    def ask_for_person(self, sender_id: str, clinic_id: str, channel: str) -> tuple:
        """Put the conversation in the inbox as waiting; return (hand-off, created). Idempotent while open."""
        with self.session() as session:
            existing = session.execute(
                select(Handoff).where(Handoff.sender_id == sender_id, Handoff.status.in_((WAITING, TAKEN)))
            ).scalar_one_or_none()
            if existing:
                return existing, False
            row = Handoff(sender_id=sender_id, clinic_id=clinic_id, channel=channel, created_at=now(), status=WAITING)
            session.add(row)
            session.commit()
            return row, True

    def handoffs(self, clinic_id: str, statuses=(WAITING, TAKEN)) -> List[Handoff]:
        """Return the clinic's open hand-offs, oldest first."""
        with self.session() as session:
            query = select(Handoff).where(Handoff.clinic_id == clinic_id, Handoff.status.in_(statuses))
            return list(session.execute(query.order_by(Handoff.created_at, Handoff.id)).scalars())

    def handoff_of(self, sender_id: str) -> Optional[Handoff]:
        """Return the conversation's open hand-off, or None."""
        with self.session() as session:
            query = select(Handoff).where(Handoff.sender_id == sender_id, Handoff.status.in_((WAITING, TAKEN)))
            return session.execute(query).scalar_one_or_none()

    def set_handoff(self, handoff_id: int, clinic_id: str, status: str) -> Optional[Handoff]:
        """Take (TAKEN) or close (CLOSED) one of the clinic's open hand-offs; None if it has no such one."""
        with self.session() as session:
            row = session.get(Handoff, handoff_id)
            if row is None or row.clinic_id != clinic_id or row.status == CLOSED:
                return None
            row.status = status
            if status == TAKEN:
                row.taken_at = now()
            else:
                row.closed_at = now()
            session.commit()
            return row


@lru_cache(maxsize=4)
def store_for(url: str) -> CallbackStore:
    """Return one store per database URL (per process)."""
    return CallbackStore(url)
