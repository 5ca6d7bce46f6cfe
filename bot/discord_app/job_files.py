"""Files a job needs again (its frames and its video), with links that still work.

Discord's attachment links expire after about a day, so a stored URL is never trusted on its own:
the job's own message is read again (the clicked message, or a fetch with the bot token), which
carries freshly signed URLs for the frames posted beside the video (`START_FRAME`, `END_FRAME`).
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from typing import Any

import discord
import httpx

from bot import media
from bot.jobs.delivery import END_FRAME, START_FRAME, frame_name
from bot.jobs.orders import AttachmentRef, VideoOrder, order_from_request
from bot.storage.base import Job

log = logging.getLogger(__name__)


def _mentions_job(message: discord.Message, job_id: str) -> bool:
    for row in message.components:
        for child in getattr(row, "children", ()):
            if job_id in (getattr(child, "custom_id", None) or ""):
                return True
    return False


async def job_message(
    client: discord.Client, job: Job, interaction: discord.Interaction[Any] | None = None
) -> discord.Message | None:
    """The job's message as Discord shows it now (fresh attachment links), or None when it is gone."""
    clicked = interaction.message if interaction is not None else None
    if clicked is not None and _mentions_job(clicked, job.id):
        return clicked
    if job.message_id is None:
        return None
    try:
        channel = client.get_partial_messageable(job.channel_id)
        return await channel.fetch_message(job.message_id)
    except discord.HTTPException as exc:
        log.info("job %s: its message can't be read again (HTTP %s)", job.id, exc.status)
        return None


def attachment_named(message: discord.Message | None, stem: str) -> discord.Attachment | None:
    if message is None:
        return None
    return next((a for a in message.attachments if a.filename.rsplit(".", 1)[0] == stem), None)


def video_attachment(message: discord.Message | None) -> discord.Attachment | None:
    if message is None:
        return None
    return next((a for a in message.attachments if a.filename.lower().endswith(".mp4")), None)


def ref_of(attachment: discord.Attachment) -> AttachmentRef:
    return AttachmentRef(
        url=attachment.url,
        filename=attachment.filename,
        size=attachment.size,
        content_type=attachment.content_type,
    )


async def renewed_order(
    client: discord.Client,
    job: Job,
    interaction: discord.Interaction[Any] | None,
    *,
    prompt: str | None = None,
) -> VideoOrder:
    """The order that makes `job` again, its frames pointing at freshly signed links when the job's
    message still holds them (else the stored links, which the pre-flight checks)."""
    order = order_from_request(job.request, prompt=prompt)
    if order.start_image is None and order.end_image is None:
        return order
    message = await job_message(client, job, interaction)
    start = attachment_named(message, START_FRAME)
    end = attachment_named(message, END_FRAME)
    if start is not None and order.start_image is not None:
        order = replace(order, start_image=ref_of(start))
    if end is not None and order.end_image is not None:
        order = replace(order, end_image=ref_of(end))
    return order


async def keep_frames(
    http: httpx.AsyncClient, interaction: discord.Interaction[Any], order: VideoOrder
) -> None:
    """Post the order's frames on the job's own (deferred) message, so that even a failure message
    keeps them where their links can be renewed (Try again and Remix on an old failure). Best effort:
    the job goes ahead without them, and a later Rerun then says the frame must be attached again."""
    files = []
    for role, ref in ((START_FRAME, order.start_image), (END_FRAME, order.end_image)):
        if ref is None:
            continue
        try:
            data = await media.download_capped(http, ref.url, media.MAX_IMAGE_BYTES, label=role)
        except media.AttachmentRefused:
            return
        files.append(discord.File(io.BytesIO(data), filename=frame_name(role, ref.filename)))
    if not files:
        return
    try:
        await interaction.edit_original_response(attachments=files)
    except discord.HTTPException as exc:
        log.info("could not keep the frames on the job's message (HTTP %s)", exc.status)
