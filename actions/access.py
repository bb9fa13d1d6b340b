"""Who may call the action server: a token when ACTION_SERVER_TOKEN is set.

The action server runs the actions for anyone who can reach its port, and
rasa-sdk listens on every interface (0.0.0.0) unless SANIC_HOST says
otherwise. `make run` starts it on 127.0.0.1 (ACTION_HOST changes that), so
only this machine reaches it. When it must be reachable from other hosts (Rasa
in another container, for example), set ACTION_SERVER_TOKEN for both servers:
then every request except GET /health must carry it, either as
`Authorization: Bearer <token>` (what the Rasa server of this project sends,
rasa_patches/action_fallback.py) or as the query parameter `token` (what Rasa
sends for `token:` under `action_endpoint` in endpoints.yml). A missing or
wrong token gets 401 and runs nothing. /frontdesk keeps its own token
(FRONTDESK_TOKEN, frontdesk/api.py).
"""

from __future__ import annotations

import hmac
import logging
from typing import Optional

import pluggy
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from actions.config import settings

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")
OPEN_PATHS = ("/health",)
OWN_TOKEN_PREFIX = "/frontdesk/"


def _given_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :]
    return request.args.get("token", "")


def refusal(request: Request, token: Optional[str]) -> Optional[HTTPResponse]:
    """Return a 401 for a request without the right token, or None to let it through."""
    if not token or request.path in OPEN_PATHS or request.path.startswith(OWN_TOKEN_PREFIX):
        return None
    if hmac.compare_digest(_given_token(request).encode(), token.encode()):
        return None
    logger.warning("Refused a request to %s without the action server token", request.path)
    return json({"error": "missing or wrong action server token"}, status=401)


class ActionServerTokenPlugin:
    """rasa-sdk plugin: require ACTION_SERVER_TOKEN on every route but /health."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        """Register the token check as request middleware (when a token is set)."""
        token = settings().action_server_token
        if not token:
            return

        @app.middleware("request")
        async def require_token(request: Request) -> Optional[HTTPResponse]:
            return refusal(request, token)

        logger.info("Action server: requests need the action server token")
