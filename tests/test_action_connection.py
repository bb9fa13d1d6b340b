"""channels/action_fallback.py: action calls reuse kept-alive connections to the action server."""

from __future__ import annotations

import asyncio

from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from channels import action_fallback
from channels.action_fallback import KeepAliveEndpoint


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
    async def session_of_this_loop():
        endpoint = KeepAliveEndpoint.of(EndpointConfig("http://127.0.0.1:9/webhook"))
        async with endpoint.session() as session:
            pass
        assert not session.closed  # left open for the next call
        await action_fallback.close_sessions()
        assert session.closed
        return session

    assert asyncio.run(session_of_this_loop()) is not asyncio.run(session_of_this_loop())


def test_an_endpoint_with_basic_auth_keeps_rasas_own_session():
    endpoint = EndpointConfig("http://127.0.0.1:9/webhook", basic_auth={"username": "a", "password": "b"})
    assert KeepAliveEndpoint.of(endpoint) is endpoint
    assert KeepAliveEndpoint.of(None) is None


def test_custom_actions_call_through_the_kept_alive_session(monkeypatch):
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    action = action_fallback.RemoteActionWithFallback("action_clinic_contact", EndpointConfig("http://a/webhook"))
    assert isinstance(action.action_endpoint, KeepAliveEndpoint)
    assert action.action_endpoint.url == "http://a/webhook"
