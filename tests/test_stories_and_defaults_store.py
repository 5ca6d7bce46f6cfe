"""Stories (Next shot links) and saved member defaults in the SQLite store, and /history's marks."""

from __future__ import annotations

from pathlib import Path

from bot.discord_app.history_pages import HistoryQuery, history_page
from bot.kling.models import AspectRatio, Mode, Model
from bot.quota.models import Decision, Preferences, UsageSnapshot
from bot.storage import open_store
from tests.factories import make_new_job


def allow(_: UsageSnapshot) -> Decision:
    return Decision(allowed=True)


async def test_a_story_is_the_chain_of_next_shots_first_to_last(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "bot.sqlite3")
    try:
        ids = ["a" * 32, "b" * 32, "c" * 32, "d" * 32]
        await store.admit_job(make_new_job(id=ids[0], interaction_id=1), allow)
        await store.admit_job(make_new_job(id=ids[1], interaction_id=2, story_parent_id=ids[0]), allow)
        await store.admit_job(make_new_job(id=ids[2], interaction_id=3, story_parent_id=ids[1]), allow)
        # A rerun of shot 2 (parent_job_id only) is not part of the story.
        await store.admit_job(make_new_job(id=ids[3], interaction_id=4, parent_job_id=ids[1]), allow)

        assert [job.id for job in await store.story(ids[2])] == ids[:3]
        assert [job.id for job in await store.story(ids[1])] == ids[:2]
        assert [job.id for job in await store.story(ids[3])] == [ids[3]]
        assert [job.id for job in await store.story(ids[2], limit=2)] == ids[1:3]
        assert await store.story_parents(ids) == {ids[1]: ids[0], ids[2]: ids[1]}

        jobs = await store.history(42, limit=10)
        page = history_page(
            HistoryQuery(42, 1001, 1001),
            jobs,
            page=0,
            total=len(jobs),
            story_parents=await store.story_parents(ids),
        )
        values = [field.value or "" for field in page.embed.fields]
        assert sum("next shot after" in value for value in values) == 2
    finally:
        await store.close()


async def test_member_defaults_are_saved_per_server_and_forgotten(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "bot.sqlite3")
    try:
        saved = Preferences(model=Model.V3, mode=Mode.PRO, duration=10, aspect_ratio=AspectRatio.TALL)
        await store.set_member_defaults(42, 1001, saved)
        assert await store.get_member_defaults(42, 1001) == saved
        assert await store.get_member_defaults(43, 1001) == Preferences()
        await store.set_member_defaults(42, 1001, Preferences(duration=5))
        assert await store.get_member_defaults(42, 1001) == Preferences(duration=5)
        await store.set_member_defaults(42, 1001, Preferences())
        assert await store.get_member_defaults(42, 1001) == Preferences()
    finally:
        await store.close()
