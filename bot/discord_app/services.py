"""The long-lived objects one bot process shares, built once in `setup_hook` and passed to whoever
needs them, so no module has to import the Discord client to reach the store or the job runner."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.discord_app.messenger import DiscordMessenger
from bot.discord_app.modlog import ModLog
from bot.jobs.runner import JobRunner
from bot.jobs.service import VideoService
from bot.storage.base import Store


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: Store
    video_service: VideoService
    runner: JobRunner
    messenger: DiscordMessenger
    modlog: ModLog
