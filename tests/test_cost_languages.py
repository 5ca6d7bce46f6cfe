"""The cost note after admission, the cost confirmation (text and buttons), the owner-or-moderator
refusals of the job buttons, `/extend`'s refusals and the storyboard form: in the member's Discord
language (ja, zh-CN), and in English byte for byte as before."""

from __future__ import annotations

import itertools
from typing import Any

import discord
import pytest

from bot.discord_app.access import NOT_YOURS
from bot.discord_app.confirmation import (
    CANCELLED_TEXT,
    CONFIRMED_TEXT,
    EXPIRED_TEXT,
    ConfirmView,
    prompt_text,
)
from bot.discord_app.cost_texts import ALLOWANCE_LABELS, amount_text, cost_notes
from bot.discord_app.i18n import SHIPPED_LOCALES, t
from bot.jobs.orders import VideoOrder
from bot.kling.models import ShotType
from bot.quota import policy
from bot.quota.models import Allowance, Decision, LimitUnit
from cogs.storyboard import StoryboardModal
from cogs.video import NO_SUCH_VIDEO, NOT_EXTENDABLE

DECISION = Decision(
    allowed=True,
    cost=3.7925,
    allowances=(
        Allowance("Your videos today", used=1, limit=2, resets_at=None, unit=LimitUnit.VIDEOS),
        Allowance("Server credits this month", used=10, limit=110.5, resets_at=None, unit=LimitUnit.CREDITS),
        Allowance("All servers' credits today", used=0, limit=None, resets_at=None),
        Allowance("Server credits today (operator's ceiling)", used=3, limit=4, resets_at=None),
    ),
)

#: What the bot said before these texts were translatable (taken from the English-only code).
ENGLISH_PROMPT = (
    "This video will cost about **3.79 credits** (an estimate: AceData bills the actual price).\n"
    "• Your videos today: 1 video left after this video\n"
    "• Server credits this month: 100.5 credits left after this video\n"
    "• Server credits today (operator's ceiling): 1 credit left after this video\n"
    "Nothing is reserved or sent until you press **Confirm** (within {within})."
)
ENGLISH_NOTES = [
    "This video costs about **3.7925 credits** (an estimate; AceData bills the actual price).",
    "Your videos today: 1 left",
    "Server credits this month: 100.5 left",
    "Server credits today (operator's ceiling): 1 left",
]


@pytest.mark.parametrize("locale", [None, "en-US", "en-GB", "fr", discord.Locale.american_english])
@pytest.mark.parametrize(("timeout", "within"), [(120, "2 minutes"), (90, "90 seconds"), (600, "10 minutes")])
def test_the_english_prompt_is_unchanged(locale: Any, timeout: float, within: str) -> None:
    assert prompt_text(DECISION, timeout=timeout, locale=locale) == ENGLISH_PROMPT.format(within=within)


def test_the_english_cost_notes_are_unchanged() -> None:
    assert cost_notes(DECISION) == ENGLISH_NOTES
    assert cost_notes(DECISION, "en-US") == ENGLISH_NOTES
    assert cost_notes(Decision(allowed=True, cost=1.0), "de") == [
        "This video costs about **1 credits** (an estimate; AceData bills the actual price)."
    ]
    assert cost_notes(Decision(allowed=True)) == []


def test_the_prompt_in_japanese() -> None:
    text = prompt_text(DECISION, timeout=120, locale=discord.Locale.japanese)
    assert text.splitlines() == [
        "この動画の費用は約 **3.79クレジット** です（見積もりです。実際の料金は AceData が請求します）。",
        "• あなたの動画（今日）：この動画のあと残り 動画1本",
        "• サーバーのクレジット（今月）：この動画のあと残り 100.5クレジット",
        "• サーバーのクレジット（今日・運営者の上限）：この動画のあと残り 1クレジット",
        "**確定** を押すまで、何も予約・送信されません（2 分以内）。",
    ]
    assert "90 秒以内" in prompt_text(DECISION, timeout=90, locale="ja")


def test_the_prompt_and_notes_in_chinese() -> None:
    text = prompt_text(DECISION, timeout=90, locale=discord.Locale.chinese)
    assert "这个视频大约花费 **3.79 积分**" in text
    assert "• 你的视频（今天）：这个视频之后剩余 1 个视频" in text
    assert "（90 秒内有效）" in text
    assert cost_notes(DECISION, "zh-CN") == [
        "这个视频大约花费 **3.7925 积分**（估算值；实际价格以 AceData 计费为准）。",
        "你的视频（今天）：剩余 1",
        "服务器积分（本月）：剩余 100.5",
        "服务器积分（今天，运营者上限）：剩余 1",
    ]


def test_every_allowance_name_the_policy_writes_is_translated() -> None:
    # The names come from the domain in English; each one it can write must be a marked message.
    written = {
        policy._Cap(whose, period, None, 0.0, 0.0, unit).label()
        for whose, period, unit in itertools.product(policy._Whose, policy._Period, LimitUnit)
    }
    assert written <= set(ALLOWANCE_LABELS)
    for locale in SHIPPED_LOCALES:
        for label in ALLOWANCE_LABELS:
            assert t(locale, label) != label, (locale, label)


def test_amounts_keep_the_english_plural_and_translate() -> None:
    assert amount_text(None, 1.0, LimitUnit.CREDITS) == "1 credit"
    assert amount_text("en-US", 12.5, LimitUnit.CREDITS) == "12.5 credits"
    assert amount_text(None, 3.0, LimitUnit.VIDEOS) == "3 videos"
    assert amount_text("ja", 3.0, LimitUnit.VIDEOS) == "動画3本"
    assert amount_text("zh-CN", 12.5, LimitUnit.CREDITS) == "12.5 积分"


async def _nothing(_interaction: discord.Interaction[Any]) -> None:
    return None


def _labels(view: ConfirmView) -> list[str | None]:
    return [item.label for item in view.children if isinstance(item, discord.ui.Button)]


async def test_the_buttons_speak_the_members_language_and_keep_their_ids() -> None:
    english = ConfirmView(1, _nothing, locale="en-US")
    unknown = ConfirmView(1, _nothing)
    japanese = ConfirmView(1, _nothing, locale=discord.Locale.japanese)
    chinese = ConfirmView(1, _nothing, locale="zh-CN")
    assert _labels(english) == _labels(unknown) == ["Confirm", "Cancel"]
    assert _labels(japanese) == ["確定", "キャンセル"]
    assert _labels(chinese) == ["确认", "取消"]
    # Labels change, not ids: discord.py's own random ids, and the class's buttons are not relabelled.
    for view in (english, japanese, chinese):
        ids = [item.custom_id for item in view.children if isinstance(item, discord.ui.Button)]
        assert all(isinstance(i, str) and len(i) == 32 for i in ids)
    assert _labels(ConfirmView(1, _nothing)) == ["Confirm", "Cancel"]


def test_the_answers_to_the_prompt_are_translated() -> None:
    assert t("ja", CONFIRMED_TEXT) == "確定しました。動画の作成を始めます。"
    assert t("zh-CN", CANCELLED_TEXT) == "已取消。没有预留或收取任何费用。"
    assert "期限切れ" in t("ja", EXPIRED_TEXT)
    assert t("en-US", EXPIRED_TEXT) == EXPIRED_TEXT


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
