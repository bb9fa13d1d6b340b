"""The front desk's JSON endpoint and background jobs, served by the action server (the inbox page: inbox.py).

GET  /frontdesk/requests[?status=open|done|all]   list the clinic's requests
POST /frontdesk/requests/<id>/done                mark one of them done
Both need `Authorization: Bearer <token>`: each clinic's front desk has its own
token (FRONTDESK_TOKEN_<CLINIC ID>, or FRONTDESK_TOKEN for the default
clinic) and sees and closes only its own clinic's requests (another clinic's
request is a 404, as a missing one). Without any token configured the endpoint
answers 503 and serves nothing. Background jobs: re-send webhook
announcements that failed, and purge requests and conversations older than
RETENTION_DAYS every PURGE_INTERVAL_HOURS.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Optional, Tuple

import pluggy
from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from actions.config import settings
from frontdesk.conversations import purge_conversations
from frontdesk.inbox import Inbox
from frontdesk.notify import notify_pending
from frontdesk.store import DONE, OPEN, store_for

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")


MAX_ID = 2**63 - 1  # the largest id the database holds


def _clinic_or_refusal(request: Request) -> Tuple[Optional[str], Optional[HTTPResponse]]:
    """Return the clinic whose token the request carries, or a refusal (503 with no tokens, 401)."""
    config = settings()
    if not config.frontdesk_tokens:
        return None, json({"error": "the front-desk endpoint is off: set FRONTDESK_TOKEN"}, status=503)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    clinic_id = config.clinic_of_token(token) if scheme == "Bearer" and token else None
    if clinic_id is None:
        return None, json({"error": "missing or wrong token"}, status=401)
    return clinic_id, None


def blueprint() -> Blueprint:
    """Return the /frontdesk routes."""
    bp = Blueprint("frontdesk", url_prefix="/frontdesk")

    @bp.get("/requests")
    async def list_requests(request: Request) -> HTTPResponse:
        clinic_id, refusal = _clinic_or_refusal(request)
        if refusal:
            return refusal
        status = request.args.get("status", OPEN)
        if status not in (OPEN, DONE, "all"):
            return json({"error": "status must be open, done or all"}, status=400)
        store = store_for(settings().callback_db_url)
        rows = await asyncio.get_running_loop().run_in_executor(
            None, store.list, None if status == "all" else status, clinic_id
        )
        return json({"requests": [r.as_dict() for r in rows]})

    @bp.post("/requests/<request_id:str>/done")
    async def mark_done(request: Request, request_id: str) -> HTTPResponse:
        clinic_id, refusal = _clinic_or_refusal(request)
        if refusal:
            return refusal
        if not (request_id.isascii() and request_id.isdigit() and 0 < int(request_id) <= MAX_ID):
            return json({"error": f"no request #{request_id[:20]}"}, status=404)  # malformed: as an unknown one
        request_id = int(request_id)
        store = store_for(settings().callback_db_url)
        row = await asyncio.get_running_loop().run_in_executor(None, store.mark_done, request_id, clinic_id)
        if row is None:
            return json({"error": f"no request #{request_id}"}, status=404)
        return json(row.as_dict())

    return bp


async def _every(seconds: float, job, name: str) -> None:
    while True:
        try:
            await asyncio.get_running_loop().run_in_executor(None, job)
        except Exception:  # keep the job alive; the log says why
            logger.exception("Front-desk job '%s' failed", name)
        await asyncio.sleep(seconds)


def _retry_notifications() -> None:
    config = settings()
    notify_pending(store_for(config.callback_db_url), config.webhook_for)


def _purge() -> None:
    config = settings()
    older = timedelta(days=config.retention_days)
    requests_ = store_for(config.callback_db_url).purge(older)
    conversations = purge_conversations(config.tracker_db_url, older)
    logger.info(
        "Purged %s callback request(s) and %s conversation(s) older than %s days",
        requests_,
        conversations,
        config.retention_days,
    )


class FrontDeskPlugin:
    """rasa-sdk plugin: attach the routes and background jobs to the action server."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        """Add the /frontdesk routes and start the background jobs."""
        config = settings()
        app.blueprint(blueprint())
        app.blueprint(Inbox().blueprint())

        @app.listener("after_server_start")
        async def start_jobs(app: Sanic, loop) -> None:
            if config.notify_webhook_url or config.notify_webhook_urls:
                app.add_task(_every(config.notify_retry_seconds, _retry_notifications, "notify"))
            app.add_task(_every(config.purge_interval_hours * 3600, _purge, "purge"))
