"""Settings, read from the environment or `.env`. The variable names are a public contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.kling.models import Model, parse_model
from bot.kling.simulated import SIMULATED_TOKEN

REQUIRED_SECRETS = ("DISCORD_TOKEN", "ACEDATA_API_TOKEN")

#: Spending caps in AceData credits; `none` (or `unlimited`) removes a cap, blank keeps the default.
CreditCap = Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
CREDIT_CAP_SETTINGS = (
    "SERVER_DAILY_CREDITS",
    "SERVER_MONTHLY_CREDITS",
    "GLOBAL_DAILY_CREDITS",
    "GLOBAL_MONTHLY_CREDITS",
)
_NO_CAP_WORDS = frozenset({"none", "unlimited", "no limit", "off"})


class ConfigError(Exception):
    """A setting is missing or invalid. The message names variables, never their values."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=True,
        extra="ignore",
        hide_input_in_errors=True,
    )

    DISCORD_TOKEN: SecretStr
    ACEDATA_API_TOKEN: SecretStr
    ACEDATA_BASE_URL: AnyHttpUrl = AnyHttpUrl("https://api.acedata.cloud")
    DATABASE_PATH: Path = Path("data/bot.sqlite3")
    # postgresql://user:password@host:port/dbname selects PostgreSQL instead of the SQLite file.
    DATABASE_URL: SecretStr | None = None
    DISCORD_API_BASE: AnyHttpUrl | None = None
    DISCORD_GATEWAY_URL: str | None = None
    DEV_GUILD_ID: int | None = None
    LOG_LEVEL: str = "INFO"

    POLL_INTERVAL_SECONDS: float = Field(default=2.0, gt=0)
    POLL_MAX_INTERVAL_SECONDS: float = Field(default=30.0, gt=0)
    JOB_DEADLINE_SECONDS: float = Field(default=1800.0, gt=0)
    TOKEN_HANDOFF_AFTER_SECONDS: float = Field(default=840.0, ge=0, le=900)
    PROGRESS_EDIT_INTERVAL_SECONDS: float = Field(default=10.0, ge=0)
    ACEDATA_PROBE_INTERVAL_SECONDS: float = Field(default=60.0, gt=0)
    DEFAULT_MODEL: Model = Model.V1
    CREDIT_COSTS_FILE: Path | None = None
    SYNC_COMMANDS: bool = True
    # Prometheus /metrics and /healthz on METRICS_HOST:METRICS_PORT; unset = no server.
    METRICS_PORT: int | None = Field(default=None, ge=1, le=65535)
    METRICS_HOST: str = "127.0.0.1"
    # Gateway shards: SHARD_COUNT in all, SHARD_IDS (comma-separated) the ones this process runs.
    SHARD_COUNT: int | None = Field(default=None, ge=1)
    SHARD_IDS: str | None = None

    #: `element_list` is unpublished on AceData (kling-api.md §9): off unless the operator opts in.
    ENABLE_ELEMENT_LIST: bool = False
    CALLBACK_PUBLIC_URL: AnyHttpUrl | None = None
    CALLBACK_HOST: str = "0.0.0.0"
    CALLBACK_PORT: int = Field(default=8080, ge=0, le=65535)
    #: Run every command against a simulated AceData inside the bot: nothing is sent or paid.
    SIMULATE_ACEDATA: bool = False

    @model_validator(mode="before")
    @classmethod
    def _simulation_needs_no_token(cls, data: Any) -> Any:
        """With SIMULATE_ACEDATA on, ACEDATA_API_TOKEN may be left out: nothing is sent to AceData."""
        if not isinstance(data, dict):
            return data
        simulate = str(data.get("SIMULATE_ACEDATA", "")).strip().lower() in {
            "1",
            "true",
            "yes",
            "on",
            "t",
            "y",
        }
        token = data.get("ACEDATA_API_TOKEN")
        if simulate and (token is None or (isinstance(token, str) and not token.strip())):
            return {**data, "ACEDATA_API_TOKEN": SIMULATED_TOKEN}
        return data

    # --- the operator's money (see README "Budgets") --------------------------------------------
    #: Servers that may use the bot; empty = any server the bot is in.
    ALLOWED_GUILD_IDS: Annotated[frozenset[int], NoDecode] = frozenset()
    #: Each server's ceiling (and a new server's starting budget): moderators may only lower it.
    SERVER_DAILY_CREDITS: CreditCap = 20.0
    SERVER_MONTHLY_CREDITS: CreditCap = 200.0
    #: All servers together.
    GLOBAL_DAILY_CREDITS: CreditCap = 50.0
    GLOBAL_MONTHLY_CREDITS: CreditCap = 500.0
    #: How long a member has to press Confirm when a server asks for confirmation above a cost.
    CONFIRM_TIMEOUT_SECONDS: float = Field(default=120.0, gt=0, le=840)

    @field_validator("DISCORD_TOKEN", "ACEDATA_API_TOKEN")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be blank")
        return SecretStr(value.get_secret_value().strip())

    @field_validator(
        "DISCORD_API_BASE",
        "DISCORD_GATEWAY_URL",
        "DEV_GUILD_ID",
        "CREDIT_COSTS_FILE",
        "METRICS_PORT",
        "SHARD_COUNT",
        "SHARD_IDS",
        "CALLBACK_PUBLIC_URL",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ALLOWED_GUILD_IDS", mode="before")
    @classmethod
    def _guild_id_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        ids = set()
        for part in (piece.strip() for piece in value.replace(";", ",").split(",")):
            if not part:
                continue
            if not part.isdigit() or not 15 <= len(part) <= 21:
                raise ValueError(
                    "must be server ids (long numbers) separated by commas, e.g. 123456789012345678,"
                    "234567890123456789; leave it empty to allow any server"
                )
            ids.add(int(part))
        return frozenset(ids)

    @field_validator(*CREDIT_CAP_SETTINGS, mode="before")
    @classmethod
    def _credit_cap(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        cleaned = value.strip().lower()
        if not cleaned:
            assert info.field_name is not None
            default: Any = cls.model_fields[info.field_name].default
            return default
        if cleaned in _NO_CAP_WORDS:
            return None
        try:
            return float(cleaned)
        except ValueError:
            raise ValueError("must be a number of credits like 50, or none for no cap") from None

    @field_validator("DATABASE_URL", mode="before")
    @classmethod
    def _postgres_url(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if not text.lower().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (leave it empty to use SQLite at DATABASE_PATH)")
        return SecretStr(text)

    @field_validator("SHARD_IDS")
    @classmethod
    def _shard_list(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(part.isdigit() for part in parts):
            raise ValueError("must be shard numbers separated by commas, e.g. 0,1")
        if len(set(parts)) != len(parts):
            raise ValueError("lists a shard twice")
        return ",".join(str(int(part)) for part in parts)

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.SHARD_IDS is not None:
            if self.SHARD_COUNT is None:
                raise ValueError("SHARD_IDS needs SHARD_COUNT (the number of shards of all processes)")
            too_big = [shard for shard in self.shard_ids or [] if shard >= self.SHARD_COUNT]
            if too_big:
                raise ValueError(
                    f"SHARD_IDS has shards {too_big} but SHARD_COUNT is {self.SHARD_COUNT} (0-based)"
                )
            if len(self.shard_ids or []) < self.SHARD_COUNT and self.DATABASE_URL is None:
                raise ValueError(
                    "SHARD_IDS runs only some shards, so other processes run the rest: they must share "
                    "a PostgreSQL database (DATABASE_URL); SQLite serves one process"
                )
        return self

    @property
    def shard_ids(self) -> list[int] | None:
        """The shards this process runs: SHARD_IDS, else all of SHARD_COUNT, else None (no sharding)."""
        if self.SHARD_IDS is not None:
            return [int(part) for part in self.SHARD_IDS.split(",")]
        return list(range(self.SHARD_COUNT)) if self.SHARD_COUNT else None

    @field_validator("DEFAULT_MODEL", mode="before")
    @classmethod
    def _model_alias(cls, value: object) -> object:
        # The same names `/video model:` accepts, aliases included (e.g. kling-video-o1).
        if isinstance(value, str):
            try:
                return parse_model(value)
            except ValueError:
                known = ", ".join(m.value for m in Model)
                raise ValueError(f"must be one of {known}") from None
        return value

    @field_validator("LOG_LEVEL")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def acedata_base_url(self) -> str:
        return str(self.ACEDATA_BASE_URL).rstrip("/")

    def spending_warnings(self) -> list[str]:
        """What an operator must hear at start-up and in `check` about uncapped spending."""
        warnings = [
            f"{name}=none: this cap is removed" for name in CREDIT_CAP_SETTINGS if getattr(self, name) is None
        ]
        if self.GLOBAL_DAILY_CREDITS is None and self.GLOBAL_MONTHLY_CREDITS is None:
            if self.SERVER_DAILY_CREDITS is None and self.SERVER_MONTHLY_CREDITS is None:
                warnings.append(
                    "SPENDING IS UNLIMITED: no global and no per-server credit cap is set, so every server "
                    "the bot is in can spend your AceData balance without limit"
                )
            else:
                warnings.append(
                    "TOTAL SPENDING IS UNLIMITED: no global credit cap is set, so the total grows with "
                    "every server the bot is in"
                )
        if not self.ALLOWED_GUILD_IDS:
            warnings.append(
                "ALLOWED_GUILD_IDS is empty: any server that adds the bot can spend credits "
                '(turn off "Public Bot" in the Developer Portal, or list your servers)'
            )
        return warnings

    @property
    def uncapped_spending(self) -> list[str]:
        """The credit caps the operator removed (`none`), by setting name."""
        return [name for name in CREDIT_CAP_SETTINGS if getattr(self, name) is None]

    @property
    def database_url(self) -> str | None:
        return self.DATABASE_URL.get_secret_value() if self.DATABASE_URL else None

    @property
    def database_password(self) -> str | None:
        """The password inside DATABASE_URL, for the log redaction list."""
        from urllib.parse import urlsplit

        return urlsplit(self.database_url).password if self.database_url else None

    @property
    def database_label(self) -> str:
        """Where the data lives, for messages: the SQLite path or the server URL without its password."""
        if self.DATABASE_URL is None:
            return str(self.DATABASE_PATH)
        from bot.storage.postgres import redact_url

        return redact_url(self.DATABASE_URL.get_secret_value())

    @property
    def callback_public_url(self) -> str | None:
        return str(self.CALLBACK_PUBLIC_URL).rstrip("/") if self.CALLBACK_PUBLIC_URL else None

    @property
    def discord_api_base(self) -> str | None:
        return str(self.DISCORD_API_BASE).rstrip("/") if self.DISCORD_API_BASE else None


def load_settings(**overrides: Any) -> Settings:
    """Build the settings or raise ConfigError naming every bad variable (never a value)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            if error["type"] == "missing":
                problems.append(f"{name} is required but not set")
            else:
                problems.append(f"{name}: {error['msg']}")
        raise ConfigError("; ".join(problems)) from None
