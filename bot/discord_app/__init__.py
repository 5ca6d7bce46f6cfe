"""Everything that talks to Discord: the client, the launch of a job from an interaction, the
messenger that keeps a job's message up to date, embeds and views, the mod-log, the error handler,
the texts of the member and moderator commands, and `python -m bot check`.

The domain packages (`bot.kling`, `bot.quota`, `bot.jobs`, `bot.storage`) never import this package
or `discord`; `pyproject.toml`'s import-linter contracts check it.
"""
