"""`/help`: the short tour (texts in `bot.discord_app.help_text`)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.client import KlingBot
from bot.discord_app.help_text import help_embed


class HelpCog(commands.Cog):
    def __init__(self, bot: KlingBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="A short tour: commands, inline parameters and buttons")
    async def help(self, interaction: discord.Interaction[KlingBot]) -> None:
        await interaction.response.send_message(embed=help_embed(interaction.locale), ephemeral=True)


async def setup(bot: KlingBot) -> None:
    await bot.add_cog(HelpCog(bot))
