"""Formats every store's settings share: store names, backup and maintenance windows, the
ARNs a stack may pass as Pulumi Inputs, and the backup settings of RDS and DocumentDB."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from ...core.settings import (
    SettingsModel,
    StrInput,
    WhenKnown,
    check_log_retention,
    pattern_check,
)

#: Store, source and task names become parts of AWS identifiers (RDS, DocumentDB, DMS):
#: a letter first, letters/digits/single hyphens, no trailing hyphen.
STORE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_STORE_NAME = 20

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_BACKUP_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-"
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)
_DAY_MIN = 24 * 60
_WEEK_MIN = 7 * _DAY_MIN

# --- ARNs that may come from another resource or stack (Pulumi Inputs) ---------------------

SECRET_ARN_EXAMPLE = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:dms/loyalty-AbCdEf"
KMS_KEY_ARN_EXAMPLE = "arn:aws:kms:ap-southeast-1:111122223333:key/1234abcd-12ab-34cd-56ef"
DMS_CERT_ARN_EXAMPLE = "arn:aws:dms:ap-southeast-1:111122223333:cert:my-ca-certificate"
IAM_ROLE_ARN_EXAMPLE = "arn:aws:iam::111122223333:role/search-admin"

check_secret_arn = pattern_check(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$",
    "a Secrets Manager secret ARN",
    SECRET_ARN_EXAMPLE,
)
check_kms_key_arn = pattern_check(
    r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$", "a KMS key ARN", KMS_KEY_ARN_EXAMPLE
)
check_dms_certificate_arn = pattern_check(
    r"^arn:aws[a-z-]*:dms:[a-z0-9-]+:\d{12}:cert:.+$",
    "a DMS certificate ARN",
    DMS_CERT_ARN_EXAMPLE,
)
check_iam_role_arn = pattern_check(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$", "an IAM role ARN", IAM_ROLE_ARN_EXAMPLE
)

SecretArn = Annotated[StrInput, WhenKnown(check_secret_arn, SECRET_ARN_EXAMPLE)]
KmsKeyArn = Annotated[StrInput, WhenKnown(check_kms_key_arn, KMS_KEY_ARN_EXAMPLE)]
DmsCertificateArn = Annotated[StrInput, WhenKnown(check_dms_certificate_arn, DMS_CERT_ARN_EXAMPLE)]
IamRoleArn = Annotated[StrInput, WhenKnown(check_iam_role_arn, IAM_ROLE_ARN_EXAMPLE)]


def check_store_name(name: str) -> str:
    """``name`` if it can be part of an AWS identifier; otherwise a ValueError."""
    if not STORE_NAME.match(name) or len(name) > MAX_STORE_NAME:
        raise ValueError(
            f"name {name!r} must be lowercase letters, digits and single '-', start with a "
            f"letter and be at most {MAX_STORE_NAME} characters (it becomes part of AWS "
            "identifiers)"
        )
    return name


# --- windows ---------------------------------------------------------------------------------


def backup_window_minutes(value: str) -> tuple[int, int]:
    """`hh24:mi-hh24:mi` (UTC) -> (start, end) minutes of the day; end may wrap midnight."""
    match = _BACKUP_WINDOW.match(value)
    if not match:
        raise ValueError(f"{value!r} is not hh24:mi-hh24:mi in UTC, e.g. 17:00-17:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if (end - start) % _DAY_MIN < 30:
        raise ValueError(f"{value!r}: AWS requires a window of at least 30 minutes")
    return start, end


def maintenance_window_minutes(value: str) -> tuple[int, int]:
    """`ddd:hh24:mi-ddd:hh24:mi` (UTC) -> (start, end) minutes of the week."""
    match = _MAINTENANCE_WINDOW.match(value.lower())
    if not match:
        raise ValueError(
            f"{value!r} is not ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:18:00-sun:19:00"
        )
    d1, h1, m1, d2, h2, m2 = match.groups()
    start = _DAYS.index(d1) * _DAY_MIN + int(h1) * 60 + int(m1)
    end = _DAYS.index(d2) * _DAY_MIN + int(h2) * 60 + int(m2)
    if (end - start) % _WEEK_MIN < 30:
        raise ValueError(f"{value!r}: AWS requires a window of at least 30 minutes")
    return start, end


def _intervals(start: int, end: int, period: int) -> list[tuple[int, int]]:
    """A window as half-open intervals within [0, period), split where it wraps."""
    if end > start:
        return [(start, end)]
    return [(start, period), (0, end)]


def windows_overlap(backup: str, maintenance: str) -> bool:
    """Whether a daily backup window and a weekly maintenance window overlap (both valid)."""
    b_start, b_end = backup_window_minutes(backup)
    daily = _intervals(b_start, b_end, _DAY_MIN)
    backup_week = [
        (day * _DAY_MIN + lo, day * _DAY_MIN + hi) for day in range(7) for lo, hi in daily
    ]
    m_start, m_end = maintenance_window_minutes(maintenance)
    maint = _intervals(m_start, m_end, _WEEK_MIN)
    return any(b_lo < m_hi and m_lo < b_hi for b_lo, b_hi in backup_week for m_lo, m_hi in maint)


# --- what RDS and DocumentDB share -----------------------------------------------------------


class StoreBackupSettings(SettingsModel):
    """Backups, windows and deletion safety: the same rules for RDS and DocumentDB."""

    backup_retention_days: int = Field(
        default=14,
        description=(
            "Days of automated backups (point-in-time recovery). At least 7 so a problem "
            "found after a weekend can still be rolled back; AWS allows at most 35."
        ),
    )
    backup_window: str = Field(
        default="17:00-17:30",
        description="Daily backup window, `hh24:mi-hh24:mi` UTC (default 01:00 SGT), >= 30 min.",
    )
    maintenance_window: str = Field(
        default="sun:18:00-sun:19:00",
        description=(
            "Weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` UTC (default Mon 02:00 SGT); "
            "must not overlap the backup window."
        ),
    )
    deletion_protection: bool = Field(
        default=True, description="AWS deletion protection (prod must keep it on)."
    )
    log_retention_days: int = Field(
        default=365,
        description=(
            "Retention of the exported database logs (PCI DSS 10.5.1: one year); a value "
            "CloudWatch Logs accepts."
        ),
    )
    clients: list[str] = Field(
        default_factory=list,
        description=(
            "Apps (keys of the stack's app tiers) whose security group may connect; "
            "nobody else can."
        ),
    )

    master_secret_readers: list[str] = Field(
        default_factory=list,
        description=(
            "Client apps that may still read the master user's secret while they move to "
            "their own user (RDS: an IAM-authenticated database user named after the app; "
            "DocumentDB 5.0: the app's instance role in `$external`). Default none: an app "
            "never uses the administrator account (PCI DSS 7.2.5, 8.2.2)."
        ),
    )

    @field_validator("backup_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if not 7 <= value <= 35:
            raise ValueError(
                f"{value} is out of range: keep at least 7 days of backups (AWS allows at most 35)"
            )
        return value

    @field_validator("backup_window")
    @classmethod
    def _backup_window(cls, value: str) -> str:
        backup_window_minutes(value)
        return value

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_window(cls, value: str) -> str:
        maintenance_window_minutes(value)
        return value.lower()

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, value: int) -> int:
        return check_log_retention(value)

    @field_validator("clients", "master_secret_readers")
    @classmethod
    def _unique_clients(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("list each app once")
        return value
