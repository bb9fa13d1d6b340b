"""rasa_patches/action_fallback.py: action calls reuse kept-alive connections to the action server."""

from __future__ import annotations

import asyncio

from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from rasa_patches import action_fallback
from rasa_patches.action_fallback import KeepAliveEndpoint


async def _serve(ports):
    async def webhook(request: web.Request) -> web.Response:
        ports.append(request.transport.get_extra_info("peername")[1])  # the caller's port: one per connection
        return web.json_response({"events": [], "responses": [], "headers": dict(request.headers)})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/webhook"


def calls(make_endpoint, count=3):
    """The caller ports the server saw for `count` calls in one event loop, and the last reply."""

    async def main():
        ports = []
        runner, url = await _serve(ports)
        try:
            endpoint = make_endpoint(url)
            reply = None
            for _ in range(count):
                reply = await endpoint.request(json={"next_action": "x"}, method="post", timeout=5)
            await action_fallback.close_sessions()
            return ports, reply
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def test_calls_in_one_loop_share_a_connection():
    ports, _ = calls(lambda url: KeepAliveEndpoint.of(EndpointConfig(url)))
    assert len(ports) == 3 and len(set(ports)) == 1


def test_rasas_endpoint_opens_a_connection_per_call():  # what KeepAliveEndpoint saves
    ports, _ = calls(lambda url: EndpointConfig(url))
    assert len(set(ports)) == 3


def test_headers_and_token_are_still_sent():
    _, reply = calls(lambda url: KeepAliveEndpoint.of(EndpointConfig(url, headers={"Authorization": "Bearer t"})), 1)
    assert reply["headers"]["Authorization"] == "Bearer t"


def test_each_loop_gets_its_own_session_and_stopping_closes_it():
    async def sessions_of_this_loop():
        endpoint = KeepAliveEndpoint.of(EndpointConfig("http://127.0.0.1:9/webhook"))
        async with endpoint.session() as first:
            pass
        async with endpoint.session() as again:
            pass
        assert again is first and not first.closed  # one session, left open for the next call
        assert first._loop is asyncio.get_running_loop()
        await action_fallback.close_sessions()
        assert first.closed
        async with endpoint.session() as after:
            pass
        assert after is not first and not after.closed  # a new one after the server stopped it
        await action_fallback.close_sessions()

    asyncio.run(sessions_of_this_loop())
    asyncio.run(sessions_of_this_loop())
    assert not action_fallback._SESSIONS  # nothing left of either loop


def test_sessions_of_finished_loops_are_dropped():
    async def leave_one_open():
        async with KeepAliveEndpoint.of(EndpointConfig("http://127.0.0.1:9/webhook")).session():
            pass

    for _ in range(3):
        asyncio.run(leave_one_open())
    assert len(action_fallback._SESSIONS) == 1  # only the last loop's: the closed loops' were dropped
    action_fallback._SESSIONS.clear()


def failing_first(monkeypatch, errors):
    """Make Rasa's request fail with the given errors first, then answer; return the sessions each call saw."""
    seen = []
    original = EndpointConfig.request

    async def request(self, *args, **kwargs):
        async with self.session() as session:
            seen.append(session)
        if errors:
            raise errors.pop(0)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(EndpointConfig, "request", request)
    return seen


def test_a_dead_kept_connection_is_retried_once_on_a_new_session(monkeypatch):
    import aiohttp

    seen = failing_first(monkeypatch, [aiohttp.ServerDisconnectedError()])  # the server restarted
    ports, reply = calls(lambda url: KeepAliveEndpoint.of(EndpointConfig(url)), 1)
    assert reply is not None and len(ports) == 1
    assert len(seen) == 2 and seen[0] is not seen[1]  # the retry used a new session


def test_a_second_failure_is_raised_for_the_fallback(monkeypatch):
    import aiohttp
    import pytest

    failing_first(monkeypatch, [aiohttp.ServerDisconnectedError(), aiohttp.ClientOSError()])
    with pytest.raises(aiohttp.ClientOSError):
        calls(lambda url: KeepAliveEndpoint.of(EndpointConfig(url)), 1)


def test_an_endpoint_with_basic_auth_keeps_rasas_own_session():
    endpoint = EndpointConfig("http://127.0.0.1:9/webhook", basic_auth={"username": "a", "password": "b"})
    assert KeepAliveEndpoint.of(endpoint) is endpoint
    assert KeepAliveEndpoint.of(None) is None


def test_custom_actions_call_through_the_kept_alive_session(monkeypatch):
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    action = action_fallback.RemoteActionWithFallback("action_clinic_contact", EndpointConfig("http://a/webhook"))
    assert isinstance(action.action_endpoint, KeepAliveEndpoint)
    assert action.action_endpoint.url == "http://a/webhook"
