"""Named starting points for a server's settings, offered when a server opens `/limits panel` for the
first time. Each preset is the options a moderator would type into `/limits set`, so it goes through
the same validation (`apply_form`) and is shown as "old → new" like any other change. Names, summaries
and notes are message ids, shown in the moderator's language."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.discord_app.i18n import N_
from bot.discord_app.limit_settings import LimitsForm, LimitsUpdate, apply_form, describe_changes
from bot.quota.models import GuildLimits


@dataclass(frozen=True, slots=True)
class Preset:
    key: str
    name: str  # message id
    #: One line (at most 100 characters in every language: it is a select option's description).
    summary: str
    form: LimitsForm
    #: Roles with Manage Server become exempt, so moderators keep making videos at 0 for members.
    exempt_moderator_roles: bool = False


PRESETS: tuple[Preset, ...] = (
    Preset(
        key="small",
        name=N_("A small community"),
        summary=N_("3 videos a day per member, 20 for the server; one at a time, 2 min apart; no 4K"),
        form=LimitsForm(
            unit="videos",
            guild_daily="20",
            guild_monthly="300",
            member_daily="3",
            member_monthly="40",
            member_concurrent="1",
            member_cooldown="2m",
            guild_concurrent="2",
            allow_4k=False,
        ),
    ),
    Preset(
        key="art",
        name=N_("A busy art server"),
        summary=N_("10 videos a day per member, 200 for the server; 2 at a time each, 8 rendering at once"),
        form=LimitsForm(
            unit="videos",
            guild_daily="200",
            guild_monthly="4000",
            member_daily="10",
            member_monthly="150",
            member_concurrent="2",
            member_cooldown="0",
            guild_concurrent="8",
            allow_4k=True,
        ),
    ),
    Preset(
        key="mods",
        name=N_("Moderators only"),
        summary=N_("Members get no videos; roles with Manage Server are exempt and make them"),
        form=LimitsForm(member_daily="0", member_monthly="0", member_concurrent="2", guild_concurrent="3"),
        exempt_moderator_roles=True,
    ),
)


def preset_named(key: str) -> Preset:
    for preset in PRESETS:
        if preset.key == key:
            return preset
    raise KeyError(key)


def apply_preset(limits: GuildLimits, preset: Preset, *, moderator_role_ids: Collection[int]) -> LimitsUpdate:
    """`limits` with the preset's options applied (and, for "moderators only", their roles exempt)."""
    update = apply_form(limits, preset.form)
    if not preset.exempt_moderator_roles:
        return update
    after = update.limits.model_copy(
        update={"exempt_roles": update.limits.exempt_roles | set(moderator_role_ids)}
    )
    after = GuildLimits.model_validate(after.model_dump())
    notes = list(update.notes)
    if not moderator_role_ids:
        notes.append(NO_MODERATOR_ROLE)
    return LimitsUpdate(
        after, describe_changes(limits, after), tuple(notes), before=limits, note_values=update.note_values
    )


NO_MODERATOR_ROLE = N_(
    "No role here has Manage Server, so nobody is exempt yet: pick your moderators' role under "
    "Exempt roles, or only the owner's videos will be refused too."
)
