"""The owner-or-moderator refusals of the job buttons, `/extend`'s refusals and the storyboard form:
in the member's Discord language (ja, zh-CN), and in English byte for byte as before."""

from __future__ import annotations

import discord

from bot.discord_app.access import NOT_YOURS
from bot.discord_app.i18n import t
from bot.jobs.orders import VideoOrder
from bot.kling.models import ShotType
from cogs.storyboard import StoryboardModal
from cogs.video import NO_SUCH_VIDEO, NOT_EXTENDABLE


def test_owner_or_moderator_refusals_are_whole_sentences() -> None:
    for word, text in NOT_YOURS.items():
        assert text == f"Only the member who made this video or a moderator can {word} it."
    assert t("ja", NOT_YOURS["add a next shot to"]) == (
        "この動画に次のショットを追加できるのは、作ったメンバーかモデレーターだけです。"
    )
    assert t("zh-CN", NOT_YOURS["rerun"]) == "只有制作这个视频的成员或管理员才能重新生成它。"


def test_the_extend_refusals_are_translated() -> None:
    values = {"model": "kling-v2-5-turbo", "models": "kling-v1 or kling-v1-6"}
    assert t("en-US", NOT_EXTENDABLE, **values) == (
        "Videos made with kling-v2-5-turbo can't be extended. "
        "Extending works for kling-v1 or kling-v1-6 videos."
    )
    assert t("ja", NOT_EXTENDABLE, **values).startswith("kling-v2-5-turbo で作った動画は延長できません。")
    assert "找不到那个视频" in t("zh-CN", NO_SUCH_VIDEO)


async def test_the_storyboard_form_speaks_the_openers_language() -> None:
    shots = VideoOrder(prompt="", multi_shot=True, shot_type=ShotType.CUSTOMIZE.value)
    english = StoryboardModal(shots)
    assert english.title == "Storyboard"
    assert english.text.label == "Shots, one per line (up to 6)"
    japanese = StoryboardModal(shots, discord.Locale.japanese)
    assert japanese.title == "ストーリーボード"
    assert japanese.text.label == "ショット（1行に1つ、最大 6）"
    assert japanese.custom_id == english.custom_id == "kling-storyboard-modal"
    words = VideoOrder(prompt="", multi_shot=True, shot_type=ShotType.INTELLIGENCE.value)
    chinese = StoryboardModal(words, "zh-CN")
    assert chinese.title == "分镜"
    assert chinese.text.label == "发生什么（由 Kling 分镜）"
    assert chinese.text.placeholder == "一场追逐，然后安静地结束"
    assert StoryboardModal(words).text.placeholder == "a chase, then a quiet ending"
