"""Notes the job pipeline writes for the member (the cited-references note, the end-frame-shape
warning, the bot's own failure reason, the missing-permissions refusal) in the job's language; English
stays byte for byte what it was."""

from __future__ import annotations

import pytest

from bot import media
from bot.discord_app.i18n import t
from bot.discord_app.job_embeds import failure_text
from bot.discord_app.launch import MISSING_PERMISSIONS
from bot.discord_app.permission_names import bold_names
from bot.jobs.failures import FailureCode
from bot.jobs.orders import AttachmentRef, VideoOrder, build_request, prompt_note
from bot.kling.models import Model
from bot.kling.tasks import NO_VIDEO
from bot.media import ImageInfo


def _png(name: str) -> AttachmentRef:
    return AttachmentRef(url=f"https://cdn.example.test/{name}", filename=name, size=1000)


def _cited_note() -> object:
    order = VideoOrder(
        prompt="a fox dances",
        model="kling-v3-omni",
        start_image=_png("s.png"),
        reference_images=(_png("a.png"),),
    )
    note = prompt_note(order, build_request(order, default_model=Model.V1))
    assert note is not None
    return note


def test_the_cited_references_note_in_three_languages() -> None:
    note = _cited_note()
    assert (
        t(None, "{note}", note=note)
        == str(note)
        == (
            "Kling only uses the references a prompt cites, so I added `Use <<<image_2>>> as a reference.` "
            "to your prompt (the full prompt is on the progress message)."
        )
    )
    assert t("en-US", "{note}", note=note) == str(note)
    assert t("ja", "{note}", note=note) == (
        "Kling はプロンプトで引用された参照だけを使うため、プロンプトに `Use <<<image_2>>> as a reference.` "
        "を追加しました（プロンプト全文は進行状況のメッセージにあります）。"
    )
    assert t("zh-CN", "{note}", note=note) == (
        "Kling 只使用提示词中引用的参考，所以我在你的提示词中加上了 `Use <<<image_2>>> as a reference.`"
        "（完整提示词见进度消息）。"
    )


def test_the_end_frame_shape_warning_in_three_languages() -> None:
    warning = media.check_frame_pair(ImageInfo(1920, 1080, "PNG"), ImageInfo(1080, 1920, "PNG"))
    assert warning is not None
    assert t(None, "{w}", w=warning) == (
        "Heads-up: the end frame (1080×1920) has a different shape from the start frame (1920×1080), "
        "so the video may stretch or crop one of them."
    )
    assert t("ja", "{w}", w=warning) == (
        "ご注意：終了画像（1080×1920）は開始画像（1920×1080）と縦横比が違うため、"
        "どちらかが引き伸ばされるか切り取られることがあります。"
    )
    assert t("zh-CN", "{w}", w=warning) == (
        "提示：结束帧（1080×1920）与起始帧（1920×1080）的宽高比不同，视频可能会拉伸或裁剪其中一张。"
    )


def test_the_bots_own_failure_reason_is_translated_and_the_services_is_quoted_as_written() -> None:
    code = FailureCode.TASK_FAILED.value
    english = failure_text(code, NO_VIDEO, None)
    assert "The service's reason: “The task finished without a video.”." in english
    assert "「タスクは動画なしで終了しました。」" in failure_text(code, NO_VIDEO, None, "ja")
    assert "任务已结束，但没有生成视频。" in failure_text(code, NO_VIDEO, None, "zh-CN")
    assert "“nsfw detected”" in failure_text(code, "nsfw detected", None, "zh-CN")


def test_missing_permissions_are_named_as_discord_shows_them() -> None:
    names = bold_names(["View Channel", "Attach Files"])
    assert t(None, MISSING_PERMISSIONS, permissions=names) == (
        "I can't post videos in this channel: I'm missing **View Channel**, **Attach Files**. "
        "Ask a moderator to grant them, or use another channel."
    )
    assert "**チャンネルを見る**, **ファイルを添付** 権限" in t("ja", MISSING_PERMISSIONS, permissions=names)
    assert "**查看频道**, **附加文件** 权限" in t("zh-CN", MISSING_PERMISSIONS, permissions=names)


def test_why_a_video_could_not_be_decoded_inside_the_refusal() -> None:
    from bot import video_edit
    from bot.discord_app import button_texts as texts

    with pytest.raises(video_edit.VideoUnreadable) as caught:
        video_edit.last_frame_png(b"not a video at all")
    error = caught.value
    english = t(None, texts.FRAME_UNREADABLE, reason=texts.unreadable_reason(None, error))
    assert english == (
        f"I couldn't decode the last frame of that video ({str(error).rstrip('.')}), so nothing was made "
        "or charged. You can start the next shot with /video and a start_image instead."
    )
    japanese = t("ja", texts.FRAME_UNREADABLE, reason=texts.unreadable_reason("ja", error))
    assert japanese.startswith(
        "その動画の最後のフレームを読み取れなかったため（その動画ファイルを読み込めませんでした）"
    )
    chinese = t("zh-CN", texts.STORY_UNREADABLE, reason=texts.unreadable_reason("zh-CN", error))
    assert chinese.startswith("我无法") and "（我无法读取那个视频文件）" in chinese
    assert not any(c.isascii() and c.isalpha() for c in japanese.split("/")[0])


def test_a_missing_moderator_permission_and_a_bad_value_in_three_languages() -> None:
    from bot.discord_app.error_handler import INVALID_VALUE, ONLY_WITH_PERMISSION
    from bot.discord_app.permission_names import permission_names

    needed = permission_names(["manage_guild", "manage_roles"])
    assert t(None, ONLY_WITH_PERMISSION, permission=needed) == (
        "Only members with **Manage Server, Manage Roles** can do that."
    )
    assert t("ja", ONLY_WITH_PERMISSION, permission=permission_names(["manage_guild"])) == (
        "**サーバー管理** 権限を持つメンバーだけが実行できます。"
    )
    assert "**管理服务器**" in t("zh-CN", ONLY_WITH_PERMISSION, permission=permission_names(["manage_guild"]))
    assert (
        t(None, INVALID_VALUE, value="`abc`")
        == "`abc` isn't a valid value there. Please pick or type it again."
    )
    assert (
        t("ja", INVALID_VALUE, value="`abc`")
        == "`abc` はここでは使えない値です。もう一度選ぶか入力してください。"
    )
    assert t("zh-CN", INVALID_VALUE, value="`abc`") == "`abc` 不是这里的有效值。请重新选择或输入。"
