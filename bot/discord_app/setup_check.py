"""`python -m bot check`: is everything in place to run? Free calls only; prints an invite URL."""

from __future__ import annotations

import uuid
from datetime import date

import discord
import httpx

from bot.config import CREDIT_CAP_SETTINGS, Settings
from bot.kling.client import CreateAccess, KlingClient
from bot.kling.errors import KlingError
from bot.storage import open_store

DISCORD_API = "https://discord.com/api/v10"

#: What the bot needs in a channel: see bot.discord_app.launch.REQUIRED_CHANNEL_PERMISSIONS.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, attach_files=True, read_message_history=True
)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


async def _check_discord(settings: Settings, http: httpx.AsyncClient) -> int | None:
    base = settings.discord_api_base or DISCORD_API
    response = await http.get(
        f"{base}/oauth2/applications/@me",
        headers={"Authorization": f"Bot {settings.DISCORD_TOKEN.get_secret_value()}"},
    )
    if response.status_code == 401:
        print("✗ DISCORD_TOKEN: Discord refused the token.")
        return None
    response.raise_for_status()
    app = response.json()
    print(f"✓ DISCORD_TOKEN: logged in as application {app.get('name', '?')} ({app['id']})")
    return int(app["id"])


async def _check_acedata(settings: Settings, http: httpx.AsyncClient) -> bool:
    if settings.SIMULATE_ACEDATA:
        print("✓ SIMULATE_ACEDATA: AceData is simulated inside the bot; no token is needed, nothing is paid")
        return True
    kling = KlingClient(http, base_url=settings.acedata_base_url, token=settings.ACEDATA_API_TOKEN)
    try:
        await kling.check_token()
    except KlingError as exc:
        print(f"✗ ACEDATA_API_TOKEN: {type(exc).__name__}: {exc.detail or exc.code or 'refused'}")
        return False
    print("✓ ACEDATA_API_TOKEN: accepted by a free task query")
    return await _check_submit(kling)


async def _check_submit(kling: KlingClient) -> bool:
    """A task query does not prove the token may create; an invalid create refused at validation does."""
    probe = await kling.probe_create()
    if probe.access is CreateAccess.ACCEPTED:
        print("✓ ACEDATA_API_TOKEN: may submit videos (an invalid test request was refused at validation;")
        print("  nothing was created or charged)")
        return True
    if probe.access is CreateAccess.CREATED:
        print("✓ ACEDATA_API_TOKEN: may submit videos, but AceData took the invalid test request")
        print(f"  ({probe.detail}); it should fail at once. Check your AceData task list.")
        return True
    if probe.access is CreateAccess.REFUSED:
        print(f"✗ ACEDATA_API_TOKEN: may query but NOT submit videos: {probe.detail}")
        return False
    print(
        f"? ACEDATA_API_TOKEN: could not tell whether it may submit videos ({probe.detail}). Try again later."
    )
    return True


async def _check_database(settings: Settings) -> bool:
    name = "DATABASE_URL" if settings.DATABASE_URL else "DATABASE_PATH"
    try:
        store = await open_store(settings.DATABASE_PATH, database_url=settings.database_url)
    except Exception as exc:
        print(f"✗ {name}: {exc}")
        return False
    try:
        await store.get_limits(0)
        if settings.DATABASE_URL is None:
            probe = settings.DATABASE_PATH.with_name(f".write-probe-{uuid.uuid4().hex}")
            probe.write_bytes(b"")
            probe.unlink()
    except OSError as exc:
        print(f"✗ {name}: {settings.DATABASE_PATH} is not writable ({exc.strerror})")
        return False
    finally:
        await store.close()
    print(f"✓ {name}: {settings.database_label} is ready")
    return True


def _report_budget(settings: Settings) -> None:
    caps = ", ".join(
        f"{name}={'none' if getattr(settings, name) is None else f'{getattr(settings, name):g}'}"
        for name in CREDIT_CAP_SETTINGS
    )
    print(f"• credit caps: {caps}")
    servers = ", ".join(map(str, sorted(settings.ALLOWED_GUILD_IDS))) or "any server"
    print(f"• servers allowed (ALLOWED_GUILD_IDS): {servers}")
    for warning in settings.spending_warnings():
        print(f"⚠ {warning}")


def _report_chart_fonts() -> None:
    """Whether /usage charts can be drawn in each shipped language (a warning, never a failure)."""
    from bot.discord_app.usage_chart import font_report  # matplotlib: only for this check

    report = font_report(date.today())
    missing = sorted(locale for locale, families in report.items() if families is None)
    if missing:
        print(f"⚠ chart fonts: no installed font has the glyphs of {', '.join(missing)}; /usage charts are")
        print(
            "  drawn in English for them. Install a CJK font (Debian: apt-get install fonts-droid-fallback)."
        )
        return
    fonts = sorted({families[-1] for families in report.values() if families})
    print(f"✓ chart fonts: /usage charts are drawn in {', '.join(sorted(report))} with {', '.join(fonts)}")


async def run_checks(settings: Settings) -> int:
    print("✓ settings: all required variables are set")
    _report_budget(settings)
    _report_chart_fonts()
    ok = True
    async with httpx.AsyncClient(timeout=15, follow_redirects=False) as http:
        try:
            application_id = await _check_discord(settings, http)
        except httpx.HTTPError as exc:
            print(f"✗ DISCORD_TOKEN: could not reach Discord ({type(exc).__name__})")
            application_id = None
        ok &= application_id is not None
        ok &= await _check_acedata(settings, http)
    ok &= await _check_database(settings)
    if application_id is not None:
        print(f"Invite the bot with:\n  {invite_url(application_id)}")
    return 0 if ok else 1
