"""The messages sent about a job from the background (progress, queue, result, failure, and their
buttons) speak the language stored on the job, fall back to English, and stay byte-identical in English.
"""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.discord_app import job_embeds as rendering
from bot.discord_app.i18n import t
from bot.discord_app.views import failure_view, queued_view, result_view
from bot.jobs.failures import FailureCode
from bot.kling.models import Action, AspectRatio, Mode, Model
from bot.storage.base import Job, JobState
from tests import factories
from tests.factories import video_request

T0 = 1_700_000_000.0
JOB_ID = "0123456789abcdef0123456789abcdef"
ENGLISH_FIELD_NAMES = {
    "Model",
    "Mode",
    "Duration",
    "Aspect",
    "Settings",
    "Status",
    "Elapsed",
    "Time left",
    "Where is it?",
    "Requested by",
    "Video id",
    "Prompt",
}


def make_job(locale: str | None, **fields: Any) -> Job:
    request = video_request(
        "A red fox runs through fresh snow",
        model=Model.V2_1_MASTER,
        mode=Mode.PRO,
        duration=10,
        aspect_ratio=AspectRatio.TALL,
        negative_prompt="blur",
    )
    values: dict[str, Any] = {
        "id": JOB_ID,
        "request": request,
        "state": JobState.RUNNING,
        "created_at": T0,
        "updated_at": T0,
        "submitted_at": T0 + 20,
        "locale": locale,
    }
    return factories.make_job(**(values | fields))


def fields_of(embed: discord.Embed) -> dict[str, str]:
    return {str(f.name): str(f.value) for f in embed.fields}


def labels(view: discord.ui.View) -> list[str]:
    return [str(getattr(item, "label", "")) for item in view.children]


def custom_ids(view: discord.ui.View) -> list[str | None]:
    return [getattr(item, "custom_id", None) for item in view.children]


def progress(
    job: Job, *, after: float = 125.0, estimate: float | None = 300.0, position: int = 0
) -> discord.Embed:
    return rendering.progress_embed(
        job, now=T0 + 20 + after, estimate_seconds=estimate, thumbnail_url=None, queue_position=position
    )


# --- progress and queue ---------------------------------------------------------------------------
def test_a_japanese_job_shows_its_progress_in_japanese() -> None:
    embed = progress(make_job("ja"))
    assert embed.title == "テキストから動画"
    assert embed.description == "A red fox runs through fresh snow"  # the member's own words, as typed
    shown = fields_of(embed)
    assert not ENGLISH_FIELD_NAMES & set(shown)
    assert shown["モデル"] == "kling-v2-1-master"
    assert shown["モード"] == "プロ"
    assert shown["長さ"] == "10 秒"
    assert shown["状態"] == "生成中"
    assert shown["経過時間"] == "2 分"
    assert shown["残り時間"] == "残り約 3 分"
    # The inline flags echo stays copyable syntax in every language; only its name is translated.
    assert shown["設定"] == rendering.neutralise(
        "--m v2-1-master --mode pro --d 10 --ar 9:16 --no blur", 1024
    )
    assert embed.footer.text == f"ジョブ {JOB_ID[:8]}"


def test_a_chinese_job_shows_its_progress_in_chinese() -> None:
    shown = fields_of(progress(make_job("zh-CN"), after=400.0))
    assert shown["状态"] == "生成中"
    assert shown["已用时间"] == "6 分钟"
    assert shown["剩余时间"] == "比平时慢一些"
    assert fields_of(progress(make_job("zh-CN"), estimate=None))["剩余时间"] == "通常 1–5 分钟"
    assert fields_of(progress(make_job("zh-CN"), after=10.0))["已用时间"] == "不到 1 分钟"
    hour = fields_of(progress(make_job("zh-CN", state=JobState.SUCCEEDED), after=3720.0))
    assert hour["已用时间"] == "1 小时 02 分钟" and hour["状态"] == "正在发送…"


@pytest.mark.parametrize(
    ("locale", "position", "status"),
    [
        ("ja", 0, "順番待ち"),
        ("ja", 1, "順番待ち — 次に開始"),
        ("ja", 4, "順番待ち — 4 番目"),
        ("zh-CN", 1, "排队中 — 下一个就是你"),
        ("zh-CN", 4, "排队中 — 第 4 位"),
        ("en-US", 4, "Queued — position 4"),
        (None, 1, "Queued — next in line"),
    ],
)
def test_the_queue_position_is_in_the_jobs_language(locale: str | None, position: int, status: str) -> None:
    embed = progress(make_job(locale, state=JobState.QUEUED, submitted_at=None), position=position)
    status_name = t(locale, rendering.STATUS)
    assert fields_of(embed)[status_name] == status
    assert rendering.queue_text(position, locale) == status


def test_prompts_left_out_are_explained_in_the_jobs_language() -> None:
    extend = make_job("ja", request=video_request(None, action=Action.EXTEND, model=Model.V1))
    assert progress(extend).title == "動画を延長中"
    assert progress(extend).description == "*（以前の動画の続き。新しいプロンプトなし）*"
    image = make_job("zh-CN", request=video_request(None, action=Action.IMAGE2VIDEO, model=Model.V1))
    assert progress(image).title == "图片生成视频"
    assert progress(image).description == "*（没有提示词 — 视频根据起始帧生成）*"


def test_the_progress_signature_does_not_depend_on_the_language() -> None:
    # The messenger compares signatures to decide whether to edit: equal words must stay equal.
    for after in (10.0, 125.0, 400.0):
        signatures = {
            rendering.progress_signature(make_job(locale), now=T0 + 20 + after, estimate_seconds=300.0)
            for locale in ("ja", "zh-CN", "en-US", None)
        }
        assert len(signatures) == 1


# --- result ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("locale", "title", "requested_by", "duration"),
    [
        ("ja", "動画ができました", "依頼者", "長さ"),
        ("zh-CN", "你的视频已完成", "请求者", "时长"),
        ("en-US", "Your video is ready", "Requested by", "Duration"),
    ],
)
def test_the_result_is_in_the_jobs_language(
    locale: str, title: str, requested_by: str, duration: str
) -> None:
    job = make_job(locale, state=JobState.DELIVERED, video_id="vid-42", video_duration=5.1)
    embed = rendering.result_embed(job, attached=True, member_mention="<@5>")
    shown = fields_of(embed)
    assert embed.title == title and shown[requested_by] == "<@5>"
    assert shown[duration] == ("5.1 s" if locale == "en-US" else "5.1 秒")


def test_a_linked_result_names_the_translated_open_video_button() -> None:
    job = make_job("ja", state=JobState.DELIVERED)
    too_big = fields_of(rendering.result_embed(job, attached=False, member_mention="<@5>"))["動画はどこ？"]
    assert "大きすぎる" in too_big and "**動画を開く**" in too_big
    view = result_view(JOB_ID, link="https://cdn.example/v.mp4", can_extend=False, locale="ja")
    assert labels(view)[0] == "動画を開く"
    not_uploaded = fields_of(
        rendering.result_embed(make_job("zh-CN"), attached=False, member_mention="<@5>", too_large=False)
    )["视频在哪里？"]
    assert "无法上传" in not_uploaded and "**打开视频**" in not_uploaded


# --- failure --------------------------------------------------------------------------------------
EVERY_CODE: list[str | None] = [*FailureCode, None, "something-new"]


@pytest.mark.parametrize("locale", ["ja", "zh-CN"])
@pytest.mark.parametrize("code", EVERY_CODE)
def test_every_failure_is_explained_in_the_jobs_language(locale: str, code: str | None) -> None:
    job = make_job(
        locale, state=JobState.FAILED, error_code=code, error_message="Bad frame.", trace_id="tr-9"
    )
    english = rendering.failure_embed(make_job(None, state=JobState.FAILED, error_code=code, trace_id="tr-9"))
    embed = rendering.failure_embed(job)
    assert embed.title and embed.title != english.title
    description = embed.description or ""
    assert t(locale, rendering.NOT_CHARGED) in description and "cost you nothing" not in description
    assert description.endswith("\n" + t(locale, rendering.SUPPORT_REFERENCE, reference="tr-9"))
    assert not ENGLISH_FIELD_NAMES & set(fields_of(embed))
    assert embed.footer.text == t(locale, rendering.JOB_FOOTER, job=JOB_ID[:8])


def test_a_chinese_failure_reads_as_one_paragraph_and_quotes_the_services_reason() -> None:
    job = make_job(
        "zh-CN", state=JobState.FAILED, error_code=FailureCode.CONTENT_REFUSED, error_message="Unsafe image."
    )
    embed = rendering.failure_embed(job)
    assert embed.title == "视频服务拒绝了这个请求"
    assert embed.description == (
        "视频服务根据其内容规则拒绝了这个请求。服务给出的原因：“Unsafe image.”。"
        "请换个说法改写提示词，或换一张图片。这次没有产生费用，也不计入你的用量。"
    )
    assert fields_of(embed)["提示词"] == "A red fox runs through fresh snow"


def test_the_mod_log_title_stays_english() -> None:
    assert rendering.failure_title(FailureCode.TIMED_OUT) == "The video took too long"
    assert rendering.failure_title(FailureCode.TIMED_OUT, "ja") == "動画の生成に時間がかかりすぎました"


# --- buttons --------------------------------------------------------------------------------------
ENGLISH_RESULT = ["Open video", "Rerun", "Remix", "Next shot", "Stitch", "Extend", "Delete"]


def full_result_view(locale: str | None) -> discord.ui.View:
    return result_view(
        JOB_ID,
        link="https://cdn.example/v.mp4",
        can_extend=True,
        can_next_shot=True,
        can_stitch=True,
        locale=locale,
    )


@pytest.mark.parametrize(
    ("locale", "result", "failure", "queued"),
    [
        (
            "ja",
            ["動画を開く", "再生成", "リミックス", "次のショット", "つなげる", "延長", "削除"],
            ["もう一度", "リミックス", "削除"],
            ["キャンセル"],
        ),
        (
            "zh-CN",
            ["打开视频", "重新生成", "重新混剪", "下一个镜头", "拼接", "延长", "删除"],
            ["再试一次", "重新混剪", "删除"],
            ["取消"],
        ),
        ("en-US", ENGLISH_RESULT, ["Try again", "Remix", "Delete"], ["Cancel"]),
        (None, ENGLISH_RESULT, ["Try again", "Remix", "Delete"], ["Cancel"]),
        ("fr", ENGLISH_RESULT, ["Try again", "Remix", "Delete"], ["Cancel"]),
    ],
)
def test_button_labels_follow_the_jobs_language_and_custom_ids_never_do(
    locale: str | None, result: list[str], failure: list[str], queued: list[str]
) -> None:
    assert labels(full_result_view(locale)) == result
    assert labels(failure_view(JOB_ID, locale)) == failure
    assert labels(queued_view(JOB_ID, locale)) == queued
    assert custom_ids(full_result_view(locale)) == [
        None,
        f"kling:rerun:{JOB_ID}",
        f"kling:remix:{JOB_ID}",
        f"kling:next:{JOB_ID}",
        f"kling:stitch:{JOB_ID}",
        f"kling:extend:{JOB_ID}",
        f"kling:delete:{JOB_ID}",
    ]
    assert custom_ids(failure_view(JOB_ID, locale)) == [
        f"kling:rerun:{JOB_ID}",
        f"kling:remix:{JOB_ID}",
        f"kling:delete:{JOB_ID}",
    ]
    assert custom_ids(queued_view(JOB_ID, locale)) == [f"kling:cancel:{JOB_ID}"]


# --- English stays as it was ----------------------------------------------------------------------
def test_english_messages_are_exactly_what_they_were() -> None:
    """The whole rendering, character for character, of what the bot sent before jobs had a language."""
    for locale in (None, "en-US", "en-GB"):
        job = make_job(locale, state=JobState.QUEUED, submitted_at=None)
        embed = rendering.progress_embed(
            job, now=T0 + 150, estimate_seconds=300.0, thumbnail_url=None, queue_position=2
        )
        assert embed.to_dict() == {
            "type": "rich",
            "title": "Text to video",
            "description": "A red fox runs through fresh snow",
            "color": discord.Colour.blurple().value,
            "fields": [
                {"name": "Model", "value": "kling-v2-1-master", "inline": True},
                {"name": "Mode", "value": "Professional", "inline": True},
                {"name": "Duration", "value": "10 s", "inline": True},
                {"name": "Aspect", "value": "9:16", "inline": True},
                {
                    "name": "Settings",
                    "value": "\\--m v2-1-master --mode pro --d 10 --ar 9:16 --no blur",
                    "inline": False,
                },
                {"name": "Status", "value": "Queued — position 2", "inline": True},
                {"name": "Elapsed", "value": "2 min", "inline": True},
            ],
            "footer": {"text": "Job 01234567"},
            "flags": 0,
        }
        failed = make_job(locale, state=JobState.FAILED, error_code=FailureCode.TASK_FAILED, trace_id="tr-1")
        assert rendering.failure_embed(failed).description == (
            "The video service could not make this video. "
            "Please try again, perhaps with a different prompt or picture. "
            "This cost you nothing: it does not count toward your usage.\nReference for support: tr-1"
        )
        assert rendering.failure_embed(failed).title == "The video could not be made"
