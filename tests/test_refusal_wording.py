"""Every refusal the capability table can produce speaks the member's language: it names only options
that really exist on the commands members use, never a field of the API request.

The walk builds requests the way the commands can (text, start and end frames, references, camera,
audio, every model, mode and duration) and collects every problem `check_request` reports.
"""

from __future__ import annotations

import re

import pytest

from bot.discord_app.catalogs import offline_bot
from bot.kling.capabilities import check_request
from tests.refusal_walk import walk_requests

#: Names of the API request that no command offers: a refusal that says them sends the member
#: looking for a setting that isn't there.
API_ONLY = (
    "action",
    "image2video",
    "text2video",
    "video_id",
    "refer_type",
    "image_list",
    "video_list",
    "element_list",
    "camera_control",
    "camera_config",
    "start_image_url",
    "end_image_url",
    "callback_url",
)
SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
#: Citations written into a prompt (`<<<image_1>>>`) are Kling's own syntax, not option names.
CITATION = re.compile(r"<<<[a-z]+_\d+>>>")


@pytest.fixture(scope="module")
def refusals() -> list[str]:
    return sorted({problem.message for request in walk_requests() for problem in check_request(request)})


@pytest.fixture
async def option_names() -> set[str]:
    async with offline_bot() as bot:
        return {
            parameter.name
            for command in bot.tree.walk_commands()
            if hasattr(command, "parameters")
            for parameter in command.parameters
        }


def test_the_walk_reaches_many_refusals(refusals: list[str]) -> None:
    assert len(refusals) > 40


def test_no_refusal_names_a_field_only_the_api_has(refusals: list[str]) -> None:
    words = re.compile(r"\b(" + "|".join(API_ONLY) + r")\b")
    offenders = [message for message in refusals if words.search(message)]
    assert not offenders, "\n".join(offenders[:15])


async def test_every_option_a_refusal_names_exists_on_a_command(
    refusals: list[str], option_names: set[str]
) -> None:
    assert {"prompt", "start_image", "end_image", "negative_prompt", "cfg_scale"} <= option_names
    unknown = {
        name: message
        for message in refusals
        for name in SNAKE_CASE.findall(CITATION.sub("", message))
        if name not in option_names
    }
    assert not unknown, "\n".join(f"{name}: {message}" for name, message in list(unknown.items())[:15])
