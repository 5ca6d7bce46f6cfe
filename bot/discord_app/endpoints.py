"""Point discord.py at another Discord: a rate-limit proxy, or the fake one the end-to-end tests run.

discord.py 2.7 has no setting for this, so the two class attributes it reads are replaced:

- ``discord.http.Route.BASE``: every REST call, including interaction callbacks and the interaction webhook
  (``webhook/async_.py`` builds its URLs from the same ``Route``), is ``BASE + path``.
- ``DiscordWebSocket.DEFAULT_GATEWAY``: a plain ``Client``/``Bot`` never calls ``GET /gateway/bot``; it opens
  this URL, adding ``?v=10&encoding=json&compress=zlib-stream``. After READY it reconnects to the
  ``resume_gateway_url`` the gateway gave it, and goes back to this one when a session is invalidated.
  (An ``AutoShardedClient`` asks ``GET /gateway/bot`` instead, which is under ``Route.BASE``.)

Attachment downloads (``Attachment.read``) use the URL in the message payload, so they need nothing here.
Call this before the client logs in; with both arguments None it changes nothing.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


def configure_discord_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Use ``api_base`` (the full REST base, including ``/api/v10``) and ``gateway_url`` (``ws://`` or ``wss://``)."""
    if api_base:
        base = yarl.URL(api_base.rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError("DISCORD_API_BASE must be an http(s) URL such as https://discord.com/api/v10")
        Route.BASE = str(base)
    if gateway_url:
        gateway = yarl.URL(gateway_url)
        if gateway.scheme not in ("ws", "wss") or not gateway.host:
            raise ValueError(
                "DISCORD_GATEWAY_URL must be a ws:// or wss:// URL such as wss://gateway.discord.gg/"
            )
        # discord.py sets its own query (version, encoding, compression) on top of this URL.
        DiscordWebSocket.DEFAULT_GATEWAY = gateway.with_query(None)
