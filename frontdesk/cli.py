"""The front desk's command line: `python -m frontdesk list|show|done|purge|notify|hash-password`."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from datetime import timedelta
from typing import List, Optional

from actions.config import profile_for, settings
from frontdesk.auth import hash_password
from frontdesk.conversations import purge_conversations
from frontdesk.display import local_time, shown
from frontdesk.notify import notify_pending
from frontdesk.store import DONE, OPEN, CallbackRequest, store_for
from shared.clinic import DEFAULT_TIMEZONE, ProfileError

DURATION = re.compile(r"^(\d+)([dh])$")
MIN_PASSWORD = 12


def duration(text: str) -> timedelta:
    """Parse '30d' or '12h'."""
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration like 30d or 12h")
    number, unit = int(match.group(1)), match.group(2)
    return timedelta(days=number) if unit == "d" else timedelta(hours=number)


def _line(r: CallbackRequest, zone: str) -> str:
    question = shown(r.question)
    question = question if len(question) <= 60 else question[:57] + "..."
    when = local_time(r.created_at, zone)
    return f"#{r.id:<5} {when}  {shown(r.clinic_id)}  {r.status:<4}  {shown(r.name)}  {shown(r.contact)}  {question}"


def _details(r: CallbackRequest, zone: str) -> str:
    fields = {**r.as_dict(), "created_at": local_time(r.created_at, zone)}
    return "\n".join(f"{key:>15}: {shown(value)}" for key, value in fields.items())


def _zone(clinic_id: str) -> str:
    """Return the clinic's time zone (its profile's, or America/Edmonton)."""
    try:
        return profile_for(clinic_id).timezone
    except ProfileError:
        return DEFAULT_TIMEZONE


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m frontdesk", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the clinic's open requests (oldest first)")
    listing.add_argument("--all", action="store_true", help="include requests marked done")
    show = sub.add_parser("show", help="show one of the clinic's requests in full")
    show.add_argument("id", type=int)
    done = sub.add_parser("done", help="mark one of the clinic's requests done")
    done.add_argument("id", type=int)
    for command in (listing, show, done):
        command.add_argument("--clinic", metavar="ID", help="the clinic whose requests these are (default: CLINIC_ID)")
    purge = sub.add_parser("purge", help="delete requests and conversations older than a duration")
    purge.add_argument("--older-than", type=duration, required=True, metavar="30d")
    sub.add_parser("notify", help="send webhook announcements that have not been delivered yet")
    sub.add_parser("hash-password", help="read a password (twice) and print its hash for FRONTDESK_PASSWORD_HASH_<ID>")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    config = settings()
    store = store_for(config.callback_db_url)
    clinic_id = getattr(args, "clinic", None) or config.clinic_id
    zone = _zone(clinic_id)
    if args.command == "list":
        rows = store.list(None if args.all else OPEN, clinic_id)
        print(f"#id    created ({zone})  clinic  status  name  contact  question")
        for row in rows:
            print(_line(row, zone))
        print(f"{len(rows)} {'request(s)' if args.all else 'open request(s)'}")
    elif args.command == "show":
        row = store.get(args.id, clinic_id)
        if row is None:
            print(f"no request #{args.id} for {clinic_id}", file=sys.stderr)
            return 1
        print(_details(row, zone))
    elif args.command == "done":
        row = store.mark_done(args.id, clinic_id)
        if row is None:
            print(f"no request #{args.id} for {clinic_id}", file=sys.stderr)
            return 1
        print(f"#{row.id} marked {DONE}")
    elif args.command == "purge":
        removed = store.purge(args.older_than)
        conversations = purge_conversations(config.tracker_db_url, args.older_than)
        print(f"purged {removed} request(s) and {conversations} conversation(s) older than {args.older_than}")
    elif args.command == "hash-password":
        password = getpass.getpass("New inbox password: ")
        if len(password) < MIN_PASSWORD or password != getpass.getpass("Again: "):
            print(f"passwords differ or are shorter than {MIN_PASSWORD} characters", file=sys.stderr)
            return 1
        print(hash_password(password))
    elif args.command == "notify":
        if not config.notify_webhook_url and not config.notify_webhook_urls:
            print("NOTIFY_WEBHOOK_URL is not set (nor any NOTIFY_WEBHOOK_URL_<CLINIC ID>)", file=sys.stderr)
            return 1
        sent = notify_pending(store, config.webhook_for)
        print(f"{sent} announcement(s) delivered; {len(store.pending_notifications())} still pending")
    return 0
