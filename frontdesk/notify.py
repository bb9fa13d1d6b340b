"""Announce new callback requests (and waiting conversations) to a Slack-compatible webhook, with retries.

The message carries no personal details: only that request #N is waiting and
how to see it. A request whose announcement failed stays `notified = false`
and is sent again by `notify_pending` (run periodically by the action server,
and by `python -m frontdesk notify`).
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Union

import requests

from frontdesk.store import CallbackRequest, CallbackStore

logger = logging.getLogger(__name__)


def message_for(request: CallbackRequest) -> dict:
    """Slack-compatible JSON for one request, without personal details."""
    return {
        "text": (
            f"New callback request #{request.id} for {request.clinic_id}. "
            "See it with `python -m frontdesk show "
            f"{request.id}` or the front-desk page."
        )
    }


def send(
    url: str,
    message: dict,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST a Slack-compatible message, retrying with backoff; return whether it was delivered."""
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(url, json=message, timeout=5)
            if response.status_code < 300:
                return True
            problem = f"HTTP {response.status_code}"
        except requests.RequestException as error:
            problem = type(error).__name__
        logger.warning("Webhook failed (attempt %s/%s): %s", attempt, attempts, problem)
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return False


def notify_pending(store: CallbackStore, url: Union[str, Callable[[str], str]], **send_options) -> int:
    """Send every announcement not yet delivered to its clinic's webhook (`url`, or `url(clinic_id)`); count them."""
    webhook_for = url if callable(url) else (lambda _clinic_id: url)
    delivered = 0
    for request in store.pending_notifications():
        webhook = webhook_for(request.clinic_id)
        if not webhook:
            continue  # this clinic has no webhook: nothing to announce
        ok = send(webhook, message_for(request), **send_options)
        store.record_notification(request.id, ok)
        delivered += ok
    return delivered
