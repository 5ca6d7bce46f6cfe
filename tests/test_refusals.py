"""Every "no" a member can get is a MemberRefusal, answered by the one error handler."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import bot
from bot.kling.errors import KlingError
from bot.refusals import MemberRefusal


def _exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for module_info in pkgutil.walk_packages(bot.__path__, prefix="bot."):
        if module_info.name == "bot.__main__":
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_refusal_class_is_a_member_refusal() -> None:
    # KlingError subclasses (ContentRefused) are the video service's answers after a request was
    # sent, recorded as a FailureCode: not refusals of the bot's own.
    refusals = [
        cls for cls in _exception_classes() if "Refus" in cls.__name__ and not issubclass(cls, KlingError)
    ]
    names = {cls.__name__ for cls in refusals}
    # The four kinds of refusal the bot has: moderator/member input, quota and server rules, the
    # capability table and attachment checks. A new one must join the family to be answered.
    assert {"Refusal", "Refused", "RequestRefused", "AttachmentRefused"} <= names
    assert [cls.__name__ for cls in refusals if not issubclass(cls, MemberRefusal)] == []


class _Response:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []

    def is_done(self) -> bool:
        return False

    async def send_message(self, text: str, *, ephemeral: bool, **_: object) -> None:
        self.sent.append((text, ephemeral))


class _Interaction:
    command = None
    locale = "en-US"

    def __init__(self) -> None:
        self.response = _Response()


async def test_the_error_handler_answers_a_refusal_privately_with_its_words() -> None:
    from typing import Any, cast

    from bot.discord_app.error_handler import reply_to_error
    from bot.kling.capabilities import Problem, RequestRefused

    interaction = _Interaction()
    problem = Problem(cast(Any, "duration"), "Pick 5 or 10 seconds.")
    await reply_to_error(cast(Any, interaction), RequestRefused([problem]))
    assert interaction.response.sent == [("Pick 5 or 10 seconds.", True)]

    unexpected = _Interaction()
    await reply_to_error(cast(Any, unexpected), RuntimeError("secret internals"))
    [(text, ephemeral)] = unexpected.response.sent
    assert ephemeral and "secret internals" not in text and "Nothing was charged" in text
