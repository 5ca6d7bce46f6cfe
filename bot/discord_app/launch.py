"""The one path every new job takes from a Discord interaction: `/video`, `/extend`, Rerun, Remix and
the Extend button all call `launch`, so they share the checks, the 3-second acknowledgement and the
reply rules.

Order matters: pure checks first (they may answer ephemerally as the first response), then a public
defer before any database, download or HTTP await, then everything that can wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import discord

from bot.discord_app.confirmation import allowance_name, ask_to_confirm
from bot.discord_app.i18n import N_, t
from bot.discord_app.job_files import keep_frames
from bot.discord_app.modlog import Attempt
from bot.discord_app.permission_names import PERMISSION_NAMES, bold_names
from bot.discord_app.replies import refuse
from bot.discord_app.services import Services
from bot.jobs.orders import AttachmentRef, VideoOrder, prompt_note
from bot.jobs.service import NOT_ALLOWED_HERE, Refused, Requester
from bot.quota.models import Decision
from bot.quota.policy import needs_confirmation
from bot.storage.base import DuplicateInteraction, Job, StorageBusy, Store

log = logging.getLogger(__name__)

ONLY_IN_SERVERS = N_("Videos can only be made in a server, not in DMs.")
MISSING_PERMISSIONS = N_(
    "I can't post videos in this channel: I'm missing **{permissions}**. "
    "Ask a moderator to grant them, or use another channel."
)
TOO_BUSY = N_(
    "I'm very busy right now and couldn't record your request. "
    "Nothing was charged; please try again in a moment."
)

#: What the bot needs in the channel to show progress and deliver a video.
REQUIRED_CHANNEL_PERMISSIONS = {
    name: PERMISSION_NAMES[name] for name in ("view_channel", "send_messages", "embed_links", "attach_files")
}


def missing_permissions(interaction: discord.Interaction[Any]) -> list[str]:
    permissions = interaction.app_permissions
    return [label for name, label in REQUIRED_CHANNEL_PERMISSIONS.items() if not getattr(permissions, name)]


def attachment_ref(attachment: discord.Attachment | None) -> AttachmentRef | None:
    if attachment is None:
        return None
    return AttachmentRef(
        url=attachment.url,
        filename=attachment.filename,
        size=attachment.size,
        content_type=attachment.content_type,
    )


@dataclass(frozen=True, slots=True)
class Home:
    """Where a job launched from a DM belongs: the server and channel of the job it came from.

    A button on a result the bot sent by DM starts the new job in the DM, but the server's rules,
    quota and channel list still apply, so those are taken from here."""

    guild_id: int
    channel_id: int


#: How many parents `home_of` follows at most (a line of reruns from the same DM).
_MAX_HOME_HOPS = 50


async def home_of(store: Store, interaction: discord.Interaction[Any], job: Job) -> Home | None:
    """For a click in a DM: the server and channel `job` belongs to (None for a click in a server).

    A job started from a DM lives in that DM (`job.channel_id` is the DM), so the server channel
    whose rules apply is the one of the nearest job of its line (Rerun, Remix, Next shot, Extend)
    that was made in the server, not the DM, which no server's channel list contains. A job made in
    the server whose result had to be sent by DM lives in the DM too, and records the server channel
    it was asked in (`origin_channel_id`)."""
    if interaction.guild_id is not None:
        return None
    source = job
    for _ in range(_MAX_HOME_HOPS):
        if source.origin_channel_id is not None:
            break  # made in the server, its result sent by DM: the server channel is recorded
        if source.channel_id != interaction.channel_id or source.parent_job_id is None:
            break
        parent = await store.get_job(source.parent_job_id)
        if parent is None:
            break
        source = parent
    return Home(job.guild_id, source.origin_channel_id or source.channel_id)


async def roles_at_home(client: discord.Client, home: Home, member_id: int) -> frozenset[int]:
    """The member's roles in the job's server, for a job started from a DM (a DM carries none), so
    role caps and exempt roles still apply. Empty when the member can't be read."""
    guild = client.get_guild(home.guild_id)
    if guild is None:
        return frozenset()
    try:
        member = await guild.fetch_member(member_id)
    except discord.HTTPException:
        return frozenset()
    return frozenset(role.id for role in member.roles)


def requester_from(
    interaction: discord.Interaction[Any],
    home: Home | None = None,
    *,
    home_roles: frozenset[int] = frozenset(),
) -> Requester:
    member = interaction.user
    roles = frozenset(role.id for role in getattr(member, "roles", ())) or home_roles
    permissions = interaction.permissions
    in_dm = interaction.guild_id is None and home is not None
    return Requester(
        guild_id=interaction.guild_id or (home.guild_id if home else 0),
        channel_id=interaction.channel_id or 0,
        member_id=member.id,
        role_ids=roles,
        is_moderator=permissions.manage_guild and not in_dm,
        interaction_id=interaction.id,
        size_limit=interaction.filesize_limit,
        parent_channel_id=home.channel_id
        if in_dm and home
        else getattr(interaction.channel, "parent_id", None),
        # The member who pressed a button, for a job started by one: their language, not the source
        # job's author's.
        locale=str(interaction.locale),
    )


async def refuse_outside_allowed_servers(
    services: Services, interaction: discord.Interaction[Any], guild_id: int | None = None
) -> bool:
    """Refuse (and return True) when the operator doesn't allow the server (`ALLOWED_GUILD_IDS`):
    the interaction's, or `guild_id` for a button in a DM that belongs to a server's job."""
    guild_id = guild_id or interaction.guild_id
    if guild_id is None or services.video_service.guild_allowed(guild_id):
        return False
    log.info("refused an interaction for server %s, which ALLOWED_GUILD_IDS leaves out", guild_id)
    await refuse(interaction, NOT_ALLOWED_HERE)
    return True


def cost_notes(decision: Decision, locale: discord.Locale | str | None = None) -> list[str]:
    """The estimated cost and what is left, for the member's private note after admission."""
    notes = []
    if decision.cost:
        notes.append(t(locale, COSTS_ABOUT, cost=decision.cost))
    notes.extend(
        t(locale, LEFT, allowance=allowance_name(allowance, locale), left=allowance.remaining)
        for allowance in decision.allowances
        if allowance.remaining is not None
    )
    return notes


COSTS_ABOUT = N_("This video costs about **{cost:g} credits** (an estimate; AceData bills the actual price).")
LEFT = N_("{allowance}: {left:g} left")


_T = TypeVar("_T")

#: How long a read before the acknowledgement may take before the bot defers anyway. Discord drops an
#: interaction not answered within 3 s; the member's saved defaults are read first (so a refusal they
#: cause can still be the private first answer), but a busy database must not turn that read into
#: "The application did not respond" (measured: two processes on one PostgreSQL at 50 /video a second).
ACK_GUARD_SECONDS = 1.5


async def before_the_deadline(
    interaction: discord.Interaction[Any], work: Awaitable[_T], *, guard: float = ACK_GUARD_SECONDS
) -> _T:
    """`work`'s result; if it isn't ready within `guard` seconds, the interaction is deferred publicly
    first (a later refusal is still answered privately by the error handler)."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=guard)
    if not done and not interaction.response.is_done():
        await interaction.response.defer(thinking=True)
    return await task


async def launch(
    services: Services,
    interaction: discord.Interaction[Any],
    order: VideoOrder,
    *,
    parent_job_id: str | None = None,
    story_parent_id: str | None = None,
    home: Home | None = None,
    keep_frames_on_message: bool = True,
    confirmed: bool = False,
) -> None:
    """Check, acknowledge, admit and start one job for this interaction.

    `home` lets a button in a DM start a job for the server its source job belongs to. The
    interaction may already be deferred (Next shot prepares its start frame first).

    Above the server's `confirm_above_credits` (and unless `confirmed`), the member is asked first:
    nothing is reserved until they press Confirm, which calls `launch` again with `confirmed=True`.
    """
    guild_id = interaction.guild_id or (home.guild_id if home is not None else None)
    if guild_id is None:
        await refuse(interaction, ONLY_IN_SERVERS)
        return
    if await refuse_outside_allowed_servers(services, interaction, guild_id):
        return
    missing = missing_permissions(interaction) if interaction.guild_id is not None else []
    if missing:
        await refuse(interaction, MISSING_PERMISSIONS, permissions=bold_names(missing))
        return
    # A refusal (bot.refusals.MemberRefusal) from here on propagates to the one error handler,
    # which answers privately whether or not the interaction was acknowledged yet.
    preferences = await before_the_deadline(
        interaction, services.video_service.preferences_for(guild_id, interaction.user.id)
    )
    request = services.video_service.build(order, preferences)

    if not interaction.response.is_done():
        await interaction.response.defer(thinking=True)
    home_roles = (
        await roles_at_home(interaction.client, home, interaction.user.id)
        if home is not None and interaction.guild_id is None
        else frozenset()
    )
    requester = requester_from(interaction, home, home_roles=home_roles)
    try:
        preflight = await services.video_service.preflight(order, request)
        request = preflight.request or request
        if not confirmed:
            limits = await services.store.get_limits(requester.guild_id)
            if needs_confirmation(limits, services.video_service.costs.cost(request)):
                quote = await services.video_service.quote(requester, request)

                async def start(click: discord.Interaction[Any]) -> None:
                    await launch(
                        services,
                        click,
                        order,
                        parent_job_id=parent_job_id,
                        story_parent_id=story_parent_id,
                        home=home,
                        confirmed=True,
                    )

                expires_after = services.settings.CONFIRM_TIMEOUT_SECONDS
                await ask_to_confirm(interaction, quote.decision, start, expires_after=expires_after)
                return
        admission = await services.video_service.admit(
            requester, request, parent_job_id=parent_job_id, story_parent_id=story_parent_id
        )
    except Refused as exc:
        # Moderators see attempts, not only successes; the error handler still answers the member.
        services.modlog.request_refused(
            Attempt(
                guild_id=requester.guild_id,
                channel_id=requester.channel_id,
                member_id=requester.member_id,
                request=request,
                reason=str(exc),
                refusal=exc.text,
                at=time.time(),
                rule_channel_id=requester.parent_channel_id,
                is_moderator=requester.is_moderator,
            )
        )
        raise
    except DuplicateInteraction:
        log.info("interaction %s already has a job; ignoring the repeat", interaction.id)
        return
    except StorageBusy:
        await refuse(interaction, TOO_BUSY)
        return
    job = admission.job
    assert job is not None
    if keep_frames_on_message and (order.start_image is not None or order.end_image is not None):
        await keep_frames(services.video_service.http, interaction, order)
    services.messenger.register(job.id, interaction)
    await services.messenger.progress(job, force=True)
    notes = [t(job.locale, "{note}", note=warning) for warning in preflight.warnings]
    if note := prompt_note(order, request):
        notes.append(t(job.locale, "{note}", note=note))
    notes.extend(cost_notes(admission.decision, interaction.locale))
    if notes:
        with contextlib.suppress(discord.HTTPException):
            await interaction.followup.send("\n".join(notes), ephemeral=True)
    services.modlog.job_started(job)
    await services.runner.start_queued(job.guild_id)
