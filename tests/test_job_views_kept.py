"""Job messages' buttons are answered by the dynamic items of cogs/buttons.py, so the views they are
sent with must not stay in discord.py's view store: one kept per message grows with every job the
process ever shows (bench/traced_bot.py found them holding memory at 1,000 jobs)."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.discord_app.views import failure_view, queued_view, result_view

JOB_ID = "0123456789abcdef0123456789abcdef"


def _message(channel_id: int, message_id: int, components: Any) -> dict[str, Any]:
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": 0,
        "content": "",
        "author": {"id": "9", "username": "kling", "discriminator": "0", "avatar": None, "bot": True},
        "attachments": [],
        "embeds": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": "2026-11-26T00:00:00+00:00",
        "edited_timestamp": None,
        "components": components,
    }


async def test_editing_job_messages_with_their_buttons_keeps_no_view(monkeypatch: pytest.MonkeyPatch) -> None:
    client = discord.Client(intents=discord.Intents.none())

    async def edit_message(channel_id: int, message_id: int, *, params: Any) -> dict[str, Any]:
        return _message(channel_id, message_id, params.payload.get("components", []))

    monkeypatch.setattr(client.http, "edit_message", edit_message)
    channel = client.get_partial_messageable(1)
    views = [
        result_view(JOB_ID, link="https://cdn.example/v.mp4", can_extend=True, can_next_shot=True),
        result_view(JOB_ID, link=None, can_extend=False, can_stitch=True, locale="ja"),
        failure_view(JOB_ID),
        queued_view(JOB_ID),
    ]
    for message_id, view in enumerate(views, start=100):
        edited = await channel.get_partial_message(message_id).edit(view=view)
        # The buttons were sent all the same, custom ids and all.
        rows = [row for row in edited.components if isinstance(row, discord.ActionRow)]
        sent = [getattr(child, "custom_id", None) for row in rows for child in row.children]
        assert f"kling:delete:{JOB_ID}" in sent or f"kling:cancel:{JOB_ID}" in sent
    assert client.persistent_views == []
    await client.close()
