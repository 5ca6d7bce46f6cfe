"""Driving `/limits panel` through the fake Discord: open it, fill a form, read a form's pre-filled
values and the settings `/limits show` reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord, FakeUser, SentInteraction
from tests.e2e.scenario_helpers import FOLLOWUP, embed_text


async def open_panel(fake: FakeDiscord, user: FakeUser, *, locale: str = "en-US") -> dict[str, Any]:
    """Run `/limits panel` from a Discord client in `locale`; the private panel message (as the fake
    stores it, kept up to date)."""
    sent = await fake.send_slash_command("limits", {}, user=user, subcommand=["panel"], locale=locale)
    call = await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 10.0)
    assert int(call.json.get("flags") or 0) & EPHEMERAL, "the panel must be private"
    return fake.messages[int(call.response["id"])]


async def settled(sent: SentInteraction) -> None:
    """The interaction was answered and, unless it was refused, the panel edited."""
    ack = await sent.response()
    assert ack.status == 200, ack.response
    if ack.json.get("type") == 6:
        edit = await sent.original_edit()
        assert edit.status == 200, edit.response


def components(message: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The panel's components by custom id."""
    found: dict[str, Mapping[str, Any]] = {}
    for row in message.get("components") or []:
        for item in row.get("components") or []:
            if item.get("custom_id"):
                found[item["custom_id"]] = item
    return found


def form_id(fake: FakeDiscord, form: str) -> str:
    """The custom id of the form last shown (it carries the opener and the panel)."""
    return [key for key in fake.modals if key.startswith(f"panel:form:{form}:")][-1]


def modal_defaults(fake: FakeDiscord, custom_id: str) -> dict[str, str]:
    modal, _origin = fake.modals[custom_id]
    values: dict[str, str] = {}
    for row in modal["components"]:
        for item in row.get("components") or [row.get("component") or {}]:
            values[item["custom_id"]] = item.get("value") or ""
    return values


async def open_form(fake: FakeDiscord, panel: Mapping[str, Any], form: str) -> dict[str, str]:
    """Press a form's button on the panel; the form's pre-filled values."""
    opened = await fake.send_component_click(panel, f"panel:form:{form}", user=fake.owner)
    ack = await opened.response()
    assert ack.json["type"] == 9, "the button should open a form"
    return modal_defaults(fake, ack.json["data"]["custom_id"])


async def submit(fake: FakeDiscord, panel: Mapping[str, Any], form: str, fields: dict[str, str]) -> None:
    await open_form(fake, panel, form)
    await settled(await fake.send_modal_submit(form_id(fake, form), fields, user=fake.owner))


async def shown_settings(fake: FakeDiscord) -> str:
    sent = await fake.send_slash_command("limits", {}, user=fake.owner, subcommand=["show"])
    call = await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 10.0)
    return embed_text(call.json)
