"""The front desk's inbox page, served by the action server at /frontdesk/inbox.

Sign in per clinic with the clinic's password (stored only as a PBKDF2 hash,
FRONTDESK_PASSWORD_HASH_<ID>) or its front-desk token. The session is a random
id in an HttpOnly, SameSite=Strict cookie (Secure with FRONTDESK_SECURE_COOKIE);
every form that changes something carries the session's CSRF token; failed
sign-ins are limited per address and clinic (429). The inbox lists the clinic's
conversations waiting for a person and its open callback requests, in the
clinic's local time; a conversation's transcript; taking a conversation,
replying and handing it back (frontdesk/rasa_api.py); marking a request done;
and what patients asked that the assistant could not answer (frontdesk/report.py,
also as CSV). Every value from a patient is escaped: it is shown as text.
"""

from __future__ import annotations

import asyncio
import hmac
from html import escape
from pathlib import Path
from typing import Callable, List, Optional
from urllib.parse import quote, unquote

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, file, html, redirect, text

from actions.config import all_profiles, profile_for, settings
from frontdesk import rasa_api
from frontdesk.auth import Attempts, Session, Sessions, check_password, same_token
from frontdesk.conversations import ASSISTANT, FRONT_DESK, PATIENT, Line, transcript
from frontdesk.display import local_time
from frontdesk.report import as_csv, report
from frontdesk.store import CLOSED, OPEN, TAKEN, WAITING, store_for
from shared.clinic import ClinicProfile

COOKIE = "dn_inbox"
PREFIX = "/frontdesk/inbox"
STATIC = Path(__file__).resolve().parent / "static"
MAX_REPLY = 1000
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(title: str, body: str, profile: Optional[ClinicProfile] = None, session: Optional[Session] = None) -> str:
    """Return a whole page: the clinic's name, a sign-out button and the body."""
    header = f"<p class='clinic'>{escape(profile.name)} &middot; front desk</p>" if profile else ""
    if session:
        header += _form(f"{PREFIX}/sign-out", session, "<button class='link'>Sign out</button>", "signout")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><link rel='stylesheet' href='{PREFIX}/inbox.css'>"
        f"<script src='{PREFIX}/inbox.js' defer></script></head>"
        f"<body><header>{header}</header><main>{body}</main></body></html>"
    )


def _form(action: str, session: Session, inner: str, css: str = "") -> str:
    """Return a POST form carrying the session's CSRF token."""
    return (
        f"<form method='post' action='{escape(action)}' class='{css}'>"
        f"<input type='hidden' name='csrf' value='{escape(session.csrf)}'>{inner}</form>"
    )


def _conversation_url(sender_id: str) -> str:
    return f"{PREFIX}/conversations/{quote(sender_id, safe='')}"


def _lines(lines: List[Line], zone: str) -> str:
    """Return a transcript as a list; every text escaped."""
    css = {PATIENT: "patient", ASSISTANT: "assistant", FRONT_DESK: "frontdesk"}
    items = "".join(
        f"<li class='{css[line.who]}'><span class='who'>{escape(line.who)}</span> "
        f"<time>{escape(local_time(line.at, zone))}</time><p>{escape(line.text)}</p></li>"
        for line in lines
    )
    return f"<ol class='transcript' id='transcript'>{items}</ol>"


class Inbox:
    """The inbox's routes, sessions and sign-in attempts (one per action server)."""

    def __init__(self) -> None:
        """Start with nobody signed in."""
        self.sessions = Sessions()
        self.attempts = Attempts()

    # ------------------------------------------------------------- helpers

    def _session(self, request: Request) -> Optional[Session]:
        return self.sessions.get(request.cookies.get(COOKIE))

    def _checked(self, request: Request) -> Optional[Session]:
        """Return the session of a form POST whose CSRF token matches, or None."""
        session = self._session(request)
        return session if session and same_token(request.form.get("csrf"), session.csrf) else None

    @staticmethod
    def _profile(clinic_id: str) -> ClinicProfile:
        return profile_for(clinic_id)  # cached: every page and transcript poll asks

    @staticmethod
    def _respond(body: str, status: int = 200) -> HTTPResponse:
        return html(body, status=status, headers=HEADERS)

    def _refused(self) -> HTTPResponse:
        body = _page("Not allowed", "<h1>Not allowed</h1><p>Sign in again and retry.</p>")
        return self._respond(body, status=403)

    # -------------------------------------------------------------- routes

    def blueprint(self) -> Blueprint:
        """Return the inbox's routes."""
        bp = Blueprint("frontdesk_inbox", url_prefix=PREFIX)

        @bp.get("/inbox.css")
        async def css(_: Request) -> HTTPResponse:
            return await file(STATIC / "inbox.css", headers={"Cache-Control": "no-cache"})

        @bp.get("/inbox.js")
        async def js(_: Request) -> HTTPResponse:
            return await file(STATIC / "inbox.js", headers={"Cache-Control": "no-cache"})

        @bp.get("/")
        async def inbox(request: Request) -> HTTPResponse:
            session = self._session(request)
            if session is None:
                return self._respond(self._sign_in_page())
            return self._respond(await self._inbox_page(session))

        @bp.post("/sign-in")
        async def sign_in(request: Request) -> HTTPResponse:
            clinic_id = request.form.get("clinic") or ""
            key = (request.ip or "", clinic_id)
            wait = self.attempts.retry_after(key)
            if wait:
                body = self._sign_in_page(f"Too many attempts. Try again in {wait // 60 + 1} minute(s).")
                response = self._respond(body, status=429)
                response.headers["Retry-After"] = str(wait)
                return response
            if not self._password_ok(clinic_id, request.form.get("password") or ""):
                self.attempts.failed(key)
                return self._respond(self._sign_in_page("Wrong clinic or password."), status=401)
            session_id, _ = self.sessions.start(clinic_id)
            response = redirect(f"{PREFIX}/", status=303)
            response.cookies[COOKIE] = session_id  # Sanic 21.12's cookie jar
            cookie = response.cookies[COOKIE]
            cookie["path"], cookie["httponly"], cookie["samesite"] = PREFIX, True, "Strict"
            cookie["max-age"] = int(self.sessions.seconds)
            if settings().frontdesk_secure_cookie:
                cookie["secure"] = True
            return response

        @bp.post("/sign-out")
        async def sign_out(request: Request) -> HTTPResponse:
            if self._checked(request) is None:
                return self._refused()
            self.sessions.end(request.cookies.get(COOKIE))
            response = redirect(f"{PREFIX}/", status=303)
            response.cookies[COOKIE] = ""
            response.cookies[COOKIE]["path"], response.cookies[COOKIE]["max-age"] = PREFIX, 0
            return response

        @bp.post("/requests/<request_id:int>/done")
        async def done(request: Request, request_id: int) -> HTTPResponse:
            session = self._checked(request)
            if session is None:
                return self._refused()
            store = store_for(settings().callback_db_url)
            await _in_thread(store.mark_done, request_id, session.clinic_id)
            return redirect(f"{PREFIX}/", status=303)

        @bp.get("/conversations/<sender_id:str>")
        async def conversation(request: Request, sender_id: str) -> HTTPResponse:
            sender_id = unquote(sender_id)  # Sanic 21.12 leaves path parameters quoted ("%2B1403...")
            session = self._session(request)
            if session is None:
                return redirect(f"{PREFIX}/", status=303)
            page = await self._conversation_page(session, sender_id)
            return self._respond(page) if page else self._not_found()

        @bp.get("/conversations/<sender_id:str>/lines")
        async def lines(request: Request, sender_id: str) -> HTTPResponse:
            sender_id = unquote(sender_id)
            session = self._session(request)
            if session is None:
                return text("", status=401)
            found = await _in_thread(transcript, settings().tracker_db_url, sender_id, session.clinic_id)
            if found is None:
                return text("", status=404)
            return html(_lines(found, self._profile(session.clinic_id).timezone), headers=HEADERS)

        @bp.post("/conversations/<sender_id:str>/<step:(take|reply|hand-back)>")
        async def act(request: Request, sender_id: str, step: str) -> HTTPResponse:
            sender_id = unquote(sender_id)
            session = self._checked(request)
            if session is None:
                return self._refused()
            store = store_for(settings().callback_db_url)
            handoff = await _in_thread(store.handoff_of, sender_id)
            if handoff is None or handoff.clinic_id != session.clinic_id:
                return self._not_found()
            profile = self._profile(session.clinic_id)
            who = f"{profile.short_name or profile.name} team"
            reply = " ".join((request.form.get("text") or "").split())[:MAX_REPLY]
            try:
                if step == "take" and handoff.status == WAITING:
                    await rasa_api.take(sender_id)
                    await _in_thread(store.set_handoff, handoff.id, session.clinic_id, TAKEN)
                elif step == "reply" and handoff.status == TAKEN and reply:
                    await rasa_api.reply(sender_id, reply, who)
                elif step == "hand-back" and handoff.status == TAKEN:
                    await rasa_api.hand_back(sender_id)
                    await _in_thread(store.set_handoff, handoff.id, session.clinic_id, CLOSED)
            except rasa_api.RasaApiError as error:
                body = _page("Not sent", f"<h1>Not sent</h1><p>{escape(str(error))}. Try again.</p>")
                return self._respond(body, status=502)
            return redirect(_conversation_url(sender_id), status=303)

        @bp.get("/report")
        async def report_page(request: Request) -> HTTPResponse:
            session = self._session(request)
            if session is None:
                return redirect(f"{PREFIX}/", status=303)
            profile = self._profile(session.clinic_id)
            rows = await _in_thread(report, settings().tracker_db_url, session.clinic_id, profile.timezone)
            cells = "".join(
                f"<tr><td>{escape(r.week)}</td><td>{escape(r.outcome)}</td><td>{r.count}</td>"
                f"<td>{escape(r.example)}</td></tr>"
                for r in rows
            )
            body = (
                f"<p><a href='{PREFIX}/'>&larr; Inbox</a></p><h1>What patients asked that I could not answer</h1>"
                f"<p>Per week ({escape(profile.timezone)}), similar wordings together; phone numbers, emails and "
                f"names removed. <a href='{PREFIX}/report.csv'>Download as CSV</a></p>"
                "<table><thead><tr><th>Week</th><th>What happened</th><th>Times</th><th>Example</th></tr></thead>"
                f"<tbody>{cells or '<tr><td colspan=4>Nothing yet.</td></tr>'}</tbody></table>"
            )
            return self._respond(_page("Unanswered questions", body, profile, session))

        @bp.get("/report.csv")
        async def report_csv(request: Request) -> HTTPResponse:
            session = self._session(request)
            if session is None:
                return text("sign in first", status=401)
            profile = self._profile(session.clinic_id)
            rows = await _in_thread(report, settings().tracker_db_url, session.clinic_id, profile.timezone)
            headers = {**HEADERS, "Content-Disposition": f"attachment; filename=unanswered-{profile.id}.csv"}
            return text(as_csv(rows), headers=headers, content_type="text/csv; charset=utf-8")

        return bp

    # --------------------------------------------------------------- pages

    def _password_ok(self, clinic_id: str, password: str) -> bool:
        config = settings()
        stored = config.frontdesk_password_hashes.get(clinic_id)
        token = config.frontdesk_tokens.get(clinic_id)
        by_hash = bool(stored) and check_password(password, stored)
        by_token = bool(token) and hmac.compare_digest(password.encode(), token.encode())
        return bool(password) and (by_hash or by_token)

    def _sign_in_page(self, error: str = "") -> str:
        options = "".join(f"<option value='{escape(p.id)}'>{escape(p.name)}</option>" for p in all_profiles().values())
        alert = f"<p class='error' role='alert'>{escape(error)}</p>" if error else ""
        body = (
            f"<h1>Front desk sign-in</h1>{alert}<form method='post' action='{PREFIX}/sign-in' class='signin'>"
            f"<label for='clinic'>Clinic</label><select id='clinic' name='clinic'>{options}</select>"
            "<label for='password'>Password</label>"
            "<input id='password' name='password' type='password' autocomplete='current-password' required>"
            "<button>Sign in</button></form>"
        )
        return _page("Front desk sign-in", body)

    async def _inbox_page(self, session: Session) -> str:
        profile = self._profile(session.clinic_id)
        store = store_for(settings().callback_db_url)
        handoffs = await _in_thread(store.handoffs, session.clinic_id)
        requests_ = await _in_thread(store.list, OPEN, session.clinic_id)
        zone = profile.timezone
        waiting = "".join(
            f"<li><a href='{escape(_conversation_url(h.sender_id))}'>"
            f"{'Waiting' if h.status == WAITING else 'With you'} since {escape(local_time(h.created_at, zone))}"
            f" ({escape(h.channel)})</a></li>"
            for h in handoffs
        )
        callbacks = "".join(
            f"<li class='request'><p><strong>{escape(r.name)}</strong> &middot; {escape(r.contact)}"
            f" &middot; {escape(r.preferred_time or 'any time')}</p><p class='question'>{escape(r.question)}</p>"
            f"<p><time>{escape(local_time(r.created_at, zone))}</time></p>"
            + _form(f"{PREFIX}/requests/{r.id}/done", session, f"<button>Mark #{r.id} done</button>")
            + "</li>"
            for r in requests_
        )
        body = (
            f"<h1>Inbox</h1><p class='zone'>Times are {escape(zone)}.</p>"
            f"<h2>Waiting for a person ({len(handoffs)})</h2><ul class='waiting'>{waiting or '<li>Nobody.</li>'}</ul>"
            f"<h2>Callback requests ({len(requests_)})</h2><ul class='requests'>"
            f"{callbacks or '<li>None open.</li>'}</ul>"
            f"<p><a href='{PREFIX}/report'>What patients asked that I could not answer</a></p>"
        )
        return _page("Inbox", body, profile, session)

    async def _conversation_page(self, session: Session, sender_id: str) -> Optional[str]:
        config = settings()
        found = await _in_thread(transcript, config.tracker_db_url, sender_id, session.clinic_id)
        if found is None:
            return None
        profile = self._profile(session.clinic_id)
        handoff = await _in_thread(store_for(config.callback_db_url).handoff_of, sender_id)
        url = _conversation_url(sender_id)
        steps = ""
        if handoff and handoff.clinic_id == session.clinic_id and handoff.status == WAITING:
            steps = _form(f"{url}/take", session, "<button>Take this conversation</button>")
        elif handoff and handoff.clinic_id == session.clinic_id and handoff.status == TAKEN:
            steps = _form(
                f"{url}/reply",
                session,
                "<label for='reply'>Your reply</label>"
                f"<textarea id='reply' name='text' rows='3' maxlength='{MAX_REPLY}' required></textarea>"
                "<button>Send</button>",
                "reply",
            ) + _form(f"{url}/hand-back", session, "<button class='secondary'>Hand back to the assistant</button>")
        body = (
            f"<p><a href='{PREFIX}/'>&larr; Inbox</a></p><h1>Conversation</h1>"
            f"<div data-lines='{escape(url)}/lines'>{_lines(found, profile.timezone)}</div>{steps}"
        )
        return _page("Conversation", body, profile, session)

    def _not_found(self) -> HTTPResponse:
        return self._respond(_page("Not found", "<h1>Not found</h1>"), status=404)


async def _in_thread(function: Callable, *args):
    """Run a blocking store or database call off the server's event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)
