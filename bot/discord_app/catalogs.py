"""`python -m bot.discord_app.catalogs update`: collect every translatable message id (the command
tree of the loaded cogs and the replies marked with `N_()`) into `messages.pot` and merge it into each
shipped catalog. New ids arrive untranslated; a test fails until they are translated."""

from __future__ import annotations

import ast
import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.config import load_settings
from bot.discord_app.client import KlingBot, extension_names
from bot.discord_app.i18n import (
    DOMAIN,
    LOCALES_DIR,
    SHIPPED_LOCALES,
    CommandString,
    command_strings,
    marked_messages,
)
from bot.storage import open_store

#: Where `N_()` marks are written: the bot's packages and the cogs.
SOURCE_FOLDERS = (Path(__file__).resolve().parents[1], Path(__file__).resolve().parents[2] / "cogs")


@asynccontextmanager
async def offline_bot() -> AsyncIterator[KlingBot]:
    """A bot with every cog loaded that never connects (placeholder tokens, a throw-away database):
    enough to read its command tree."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            _env_file=None,
            DISCORD_TOKEN="unused",
            ACEDATA_API_TOKEN="unused",
            DATABASE_PATH=Path(folder) / "offline.sqlite3",
        )
        store = await open_store(settings.DATABASE_PATH)
        try:
            bot = KlingBot(settings, store)
            for name in extension_names():
                await bot.load_extension(name)
            yield bot
        finally:
            await store.close()


async def bot_command_strings() -> list[CommandString]:
    """Every string of every command of the loaded cogs."""
    async with offline_bot() as bot:
        strings = list(command_strings(bot.tree.get_commands()))
    unique: dict[tuple[str, str], CommandString] = {}
    for string in strings:
        unique.setdefault((string.text, string.kind), string)
    return list(unique.values())


def _import_every_module() -> None:
    """`N_()` marks register on import: import every module of the bot and its cogs."""
    import importlib
    import pkgutil

    import bot

    for module in pkgutil.walk_packages(bot.__path__, prefix="bot."):
        if module.name != "bot.__main__":
            importlib.import_module(module.name)
    for name in extension_names():
        importlib.import_module(name)


def source_marks(folders: tuple[Path, ...] = SOURCE_FOLDERS) -> list[str]:
    """Every `N_("...")` written in the source, found by reading it (a mark inside a function only
    registers when the function runs, so importing alone would miss it)."""
    found: list[str] = []
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "N_"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.append(node.args[0].value)
    return found


async def all_message_ids() -> list[str]:
    _import_every_module()
    ids = [string.text for string in await bot_command_strings()]
    return list(dict.fromkeys([*ids, *marked_messages(), *source_marks()]))


def update_catalogs(message_ids: list[str], folder: Path = LOCALES_DIR) -> None:
    """Write messages.pot and merge it into each shipped catalog (new ids arrive untranslated)."""
    template = Catalog(project="kling-discord-bot", domain=DOMAIN)
    for msgid in message_ids:
        template.add(msgid)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, omit_header=False, sort_output=False)
    for directory in SHIPPED_LOCALES.values():
        path = folder / directory / "LC_MESSAGES" / f"{DOMAIN}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=directory)
        else:
            catalog = Catalog(locale=directory, project="kling-discord-bot", domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, sort_output=False, ignore_obsolete=True)


def main(argv: list[str]) -> int:
    if argv[1:] != ["update"]:
        print("usage: python -m bot.discord_app.catalogs update", file=sys.stderr)
        return 2
    ids = asyncio.run(all_message_ids())
    update_catalogs(ids)
    print(f"{len(ids)} messages; catalogs updated in {LOCALES_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
