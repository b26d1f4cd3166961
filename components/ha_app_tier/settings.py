"""Settings of one HaAppTier (stack key `payments-platform:apps.<app>`): plain data, each
field with its secure default and its own format check. Rules that relate fields, the
references or the environment are in ``checks.py``."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator

from .. import catalogue
from ..core.security_groups import FORBIDDEN_PORTS
from ..core.settings import (
    SettingsModel,
    StrInput,
    WhenKnown,
    check_log_retention,
    pattern_check,
)
from ..secure_vpc import plan

#: TLS 1.2+ listener policies (PCI DSS 4.2.1: strong cryptography in transit).
TlsPolicy = Literal[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
]
DEFAULT_TLS_POLICY: TlsPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

#: Graviton families: a1, and <letters><generation>g<attributes> (m7g, c7gn, t4g, g5g).
_GRAVITON = re.compile(r"^(a1|[a-z]+[0-9]+g[a-z]*)\.")
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8,17}$")
_CIDR_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
#: A health-check path is the path (and query) of the HTTP request line the ALB sends: RFC 3986
#: path characters, 1-1024 of them (ELB API CreateTargetGroup, HealthCheckPath).
_HTTP_PATH = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$")
MAX_HEALTH_CHECK_PATH = 1024
#: Instances the app's ASG may run: every one registers in the app's target group, and an ALB
#: target group takes at most 1,000 targets (Elastic Load Balancing quotas, "Targets per target
#: group per Region": https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html).
MAX_INSTANCES = 1000

CERTIFICATE_EXAMPLE = (
    "arn:aws:acm:ap-southeast-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
)
#: The format of an ACM certificate ARN: checked at once for a str, and when it resolves for
#: an Output (a certificate created in the same program or read from another stack).
check_certificate_arn = pattern_check(
    r"^arn:aws(-[a-z]+)*:acm:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:certificate/[0-9a-f-]{36}$",
    "an ACM certificate ARN",
    "arn:aws:acm:ap-southeast-1:123456789012:certificate/<uuid>",
)
CertificateArn = Annotated[StrInput, WhenKnown(check_certificate_arn, CERTIFICATE_EXAMPLE)]


#: A Systems Manager schedule (maintenance windows and State Manager associations): a cron
#: expression of six fields, or a rate (Systems Manager User Guide, "Reference: Cron and rate
#: expressions for Systems Manager"). Times are UTC.
_SSM_SCHEDULE = re.compile(
    r"^(cron\([^\s()]+( [^\s()]+){5}\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\))$"
)
#: A file (or glob) the CloudWatch agent tails: an absolute path of ordinary characters.
_LOG_FILE = re.compile(r"^/[A-Za-z0-9_.*?\[\]/-]+$")
#: Patch Manager approves a patch 0-360 days after its release (PatchRule.ApproveAfterDays).
MAX_APPROVE_AFTER_DAYS = 360


def check_ssm_schedule(value: str) -> str:
    """A Systems Manager cron (six fields) or rate expression."""
    if not _SSM_SCHEDULE.match(value):
        raise ValueError(
            f"{value!r} is not a Systems Manager schedule like cron(0 18 ? * SUN *) or "
            "rate(1 day) (six cron fields, UTC)"
        )
    return value


SsmSchedule = Annotated[str, AfterValidator(check_ssm_schedule)]


def schedule_interval_days(schedule: str) -> int:
    """At most how many days apart two runs of a Systems Manager ``schedule`` are: a rate's
    own interval (at least a day); a cron every day (day of month and of week both ``*`` or
    ``?``), weekly (days of the week), monthly (a day of the month, or ``#``/``L`` in the day
    of week) or yearly (a month)."""
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", schedule)
    if rate:
        per_day = {"minute": 24 * 60, "hour": 24, "day": 1}[rate.group(2)]
        return max(1, math.ceil(int(rate.group(1)) / per_day))
    fields = schedule.removeprefix("cron(").removesuffix(")").split()
    day_of_month, month, day_of_week = fields[2], fields[3], fields[4]
    every = ("*", "?")
    if month not in every:
        return 366
    if day_of_month in every and day_of_week in every:
        return 1
    if day_of_month in every and not re.search(r"[#L]", day_of_week):
        return 7
    return 31


def _client_range_name(name: str) -> str:
    if not _CIDR_NAME.match(name):
        raise ValueError(f"{name!r} must be 1-31 lowercase letters, digits and '-'")
    return name


def _client_cidr(cidr: str) -> str:
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(f"{cidr!r} is not a CIDR with host bits zero") from exc
    return cidr


ClientRangeName = Annotated[str, AfterValidator(_client_range_name)]
ClientCidr = Annotated[str, AfterValidator(_client_cidr)]


def is_graviton(instance_type: str) -> bool:
    return bool(_GRAVITON.match(instance_type))


class HealthCheckSettings(SettingsModel):
    """The target group's health check: what makes an instance healthy to the ALB (and so to
    the ASG, which replaces instances the ALB marks unhealthy)."""

    path: str = Field(default="/health", description="HTTP path the ALB requests on each target.")
    matcher: str = Field(
        default="200",
        description="HTTP codes that count as healthy, e.g. `200` or `200-299`.",
    )
    interval_seconds: int = Field(
        default=15, ge=5, le=300, description="Seconds between checks (5-300)."
    )
    timeout_seconds: int = Field(
        default=5,
        ge=2,
        le=120,
        description="Seconds without a reply that fail a check (2-120, below the interval).",
    )
    healthy_threshold: int = Field(
        default=3, ge=2, le=10, description="Consecutive passes before a target is healthy."
    )
    unhealthy_threshold: int = Field(
        default=3, ge=2, le=10, description="Consecutive failures before a target is unhealthy."
    )

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or len(value) > MAX_HEALTH_CHECK_PATH:
            raise ValueError(f"{value!r} must start with '/' (max {MAX_HEALTH_CHECK_PATH} chars)")
        if not _HTTP_PATH.match(value):
            raise ValueError(
                f"{value!r} is not an HTTP path: use letters, digits and - . _ ~ / and "
                "percent-encode anything else (a space is %20)"
            )
        return value

    @field_validator("matcher")
    @classmethod
    def _matcher(cls, value: str) -> str:
        if not re.match(
            r"^[1-5][0-9]{2}(-[1-5][0-9]{2})?(,[1-5][0-9]{2}(-[1-5][0-9]{2})?)*$", value
        ):
            raise ValueError(f"{value!r} is not an HTTP code list like 200 or 200-299")
        return value


class ScalingSettings(SettingsModel):
    """Target-tracking scaling: the ASG adds or removes instances to hold these targets."""

    cpu_target_percent: float = Field(
        default=50.0, gt=0, le=100, description="Average CPU utilisation of the group to hold."
    )
    requests_per_target: int = Field(
        default=1000,
        ge=1,
        description="ALB requests per instance per minute to hold (ALBRequestCountPerTarget).",
    )


class WafSettings(SettingsModel):
    """AWS WAF on an internet-facing ALB (PCI DSS 6.4.2: an automated technical solution that
    detects and prevents web-based attacks in front of public-facing web applications)."""

    enabled: bool = Field(
        default=True,
        description=(
            "Attach a REGIONAL web ACL (AWS managed rule groups: IP reputation, common, known "
            "bad inputs, SQLi; plus a per-IP rate limit). Only internet-facing ALBs get one."
        ),
    )
    rate_limit: int = Field(
        default=2000,
        ge=10,
        le=2_000_000_000,
        description="Requests per client IP per evaluation window before WAF blocks it (>= 10).",
    )
    rate_window_seconds: Literal[60, 120, 300, 600] = Field(
        default=300, description="Evaluation window of the rate limit: 60, 120, 300 or 600."
    )


class PatchingSettings(SettingsModel):
    """Patch Manager for the app's instances (PCI DSS 6.3.3: security patches installed within
    a month of release; 11.3.1: vulnerabilities found by scanning): an Amazon Linux 2023
    patch baseline of the app's own, a daily scan and a weekly install window."""

    scan_schedule: SsmSchedule = Field(
        default="cron(0 2 ? * * *)",
        description=(
            "When State Manager scans the instances for missing patches (Systems Manager cron "
            "or rate, UTC); a new instance is also scanned when it registers."
        ),
    )
    install_schedule: SsmSchedule = Field(
        default="cron(0 18 ? * SUN *)",
        description=(
            "When the maintenance window installs the approved patches, one instance at a time, "
            "rebooting when a patch needs it (Systems Manager cron or rate, UTC)."
        ),
    )
    approve_after_days: int = Field(
        default=7,
        ge=0,
        le=MAX_APPROVE_AFTER_DAYS,
        description=(
            "Days after release before a security update or a bug fix is approved for install "
            "(0-360; prod: at most 14)."
        ),
    )


class FileIntegritySettings(SettingsModel):
    """File-integrity monitoring of the instances (PCI DSS 11.5.2): AIDE, with its baseline
    taken at boot, compared on schedule by State Manager; a change alarms."""

    enabled: bool = Field(
        default=True,
        description=(
            "Install AIDE at boot, take the baseline after the app's user data, compare on "
            "`schedule` and alarm on any change (prod: always)."
        ),
    )
    schedule: SsmSchedule = Field(
        default="cron(0 3 ? * * *)",
        description=(
            "When State Manager compares the files with the baseline (Systems Manager cron or "
            "rate, UTC; prod: at least weekly, PCI DSS 11.5.2)."
        ),
    )

    @property
    def interval_days(self) -> int:
        """At most how many days apart two comparisons are."""
        return schedule_interval_days(self.schedule)


class AlarmSettings(SettingsModel):
    """Thresholds of the app's alarms (all notify the stack's alarm topic)."""

    p99_latency_seconds: float = Field(
        default=1.0, gt=0, description="Alarm when the targets' p99 response time exceeds this."
    )
    elb_5xx_per_5_minutes: int = Field(
        default=10,
        ge=1,
        alias="elb5xxPer5Minutes",
        description="Alarm when the ALB itself returns more 5xx than this in 5 minutes.",
    )
    target_5xx_per_5_minutes: int = Field(
        default=10,
        ge=1,
        alias="target5xxPer5Minutes",
        description="Alarm when the instances return more 5xx than this in 5 minutes.",
    )
    waf_blocked_per_5_minutes: int = Field(
        default=500,
        ge=1,
        alias="wafBlockedPer5Minutes",
        description=(
            "Alarm when the web ACL blocks more requests than this in 5 minutes (an attack, "
            "or a rule blocking real users)."
        ),
    )


class HaAppTierSettings(SettingsModel):
    """One application (stack key `payments-platform:apps.<app>`)."""

    #: nonprod: a burstable type, 1-2 instances, 90 days of access and instance logs
    NONPROD_DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "instance_type": "t3.medium",
        "min_size": 1,
        "desired_capacity": 1,
        "max_size": 2,
        "access_log_retention_days": 90,
        "log_retention_days": 90,
    }

    instance_type: str = Field(
        default="m6i.large",
        description="EC2 instance type, e.g. `m6i.large` (Graviton types get the arm64 AMI).",
    )
    ami_id: str | None = Field(
        default=None,
        description=(
            "AMI to launch. Default: the latest Amazon Linux 2023 from the public SSM "
            "parameter, so each `pulumi up` after an AL2023 release rolls patched instances. "
            "Pin an id for change-controlled releases."
        ),
    )
    root_device_name: str = Field(
        default="/dev/xvda",
        description=(
            "Root device of the AMI (`/dev/xvda` on Amazon Linux) to encrypt and size; "
            "another device needs `amiId` too."
        ),
    )
    root_volume_size_gib: int = Field(
        default=20, ge=8, le=16384, description="Size of the encrypted gp3 root volume (GiB)."
    )
    user_data_file: str | None = Field(
        default=None,
        description="File with the instances' user data, relative to the project directory.",
    )
    min_size: int = Field(
        default=3,
        ge=0,
        le=MAX_INSTANCES,
        description="Fewest instances the ASG runs (prod: at least 2).",
    )
    desired_capacity: int = Field(
        default=3,
        ge=0,
        le=MAX_INSTANCES,
        description=(
            "Instances at creation, between minSize and maxSize; later owned by scaling "
            "(never reset by pulumi up)."
        ),
    )
    max_size: int = Field(
        default=9,
        ge=1,
        le=MAX_INSTANCES,
        description=(
            "Most instances scaling may launch (at least minSize; at most 1000, the targets "
            "an ALB target group takes)."
        ),
    )
    app_port: int = Field(
        default=8080,
        ge=1,
        le=65535,
        description="Port the application listens on; must be inside the network's appPorts.",
    )
    internet_facing: bool = Field(
        default=False,
        description="true: ALB in the public tier, reachable from allowedCidrs. false: internal.",
    )
    certificate_arn: CertificateArn | None = Field(
        default=None,
        description=(
            "ACM certificate ARN of the HTTPS listener, in the stack's region (required: the "
            "ALB is HTTPS-only). From Python also a Pulumi Output (a certificate created in "
            "the same program, or read from another stack), checked when it resolves."
        ),
    )
    tls_policy: TlsPolicy = Field(
        default=DEFAULT_TLS_POLICY,
        description="ALB security policy (TLS 1.2+ only).",
    )
    allowed_cidrs: dict[ClientRangeName, ClientCidr] | None = Field(
        default=None,
        description=(
            "Client ranges by name allowed to reach the ALB on 443 (and 80, redirected). Default: "
            "internet-facing `{internet: 0.0.0.0/0}`; internal: none beyond the VPC and on-prem "
            "(and never 0.0.0.0/0)."
        ),
    )
    health_check: HealthCheckSettings = Field(
        default_factory=HealthCheckSettings, description="Target group health check."
    )
    health_check_grace_period_seconds: int = Field(
        default=300,
        ge=0,
        le=7200,
        description="Seconds after launch before failed ELB health checks replace an instance.",
    )
    deregistration_delay_seconds: int = Field(
        default=60, ge=0, le=3600, description="Seconds in-flight requests may drain (0-3600)."
    )
    instance_warmup_seconds: int = Field(
        default=300,
        ge=0,
        # EC2 Auto Scaling takes a default instance warmup of 0-3600 s:
        # https://docs.aws.amazon.com/autoscaling/ec2/userguide/enable-default-instance-warmup.html
        le=3600,
        description=(
            "Seconds a new instance needs before its metrics count for scaling/refresh (0-3600)."
        ),
    )
    instance_refresh_min_healthy_percentage: int = Field(
        default=100,
        ge=10,
        le=100,
        description=(
            "Share of desired capacity kept in service during an instance refresh (10-100). "
            "100 with a 110% ceiling replaces instances launch-before-terminate."
        ),
    )
    max_instance_lifetime_days: int | None = Field(
        default=30,
        ge=1,
        # EC2 Auto Scaling: MaxInstanceLifetime is 0 or 86,400-31,536,000 seconds
        le=365,
        description=(
            "The Auto Scaling group replaces instances older than this many days (1-365), "
            "launch before terminate; null: never (prod: always set)."
        ),
    )
    access_log_retention_days: int = Field(
        default=365,
        ge=1,
        description=(
            "Days to keep ALB access logs and the S3 server access logs of their bucket "
            "(PCI DSS 10.5.1: at least 365 in prod)."
        ),
    )
    log_retention_days: int = Field(
        default=365,
        description=(
            "Days to keep the app's CloudWatch log groups: instance system and application "
            "logs, file-integrity reports, patch runs and WAF logs (a CloudWatch Logs "
            "retention; PCI DSS 10.5.1: at least 365 in prod)."
        ),
    )
    app_log_files: list[str] | None = Field(
        default=None,
        description=(
            "Files (globs allowed) the CloudWatch agent ships to the app's application log "
            "group. Default: `/var/log/<app>/*.log`."
        ),
    )
    scaling: ScalingSettings = Field(
        default_factory=ScalingSettings, description="Target-tracking scaling."
    )
    waf: WafSettings = Field(default_factory=WafSettings, description="AWS WAF web ACL.")
    patching: PatchingSettings = Field(
        default_factory=PatchingSettings,
        description="Patch Manager: baseline, scan and install window.",
    )
    file_integrity: FileIntegritySettings = Field(
        default_factory=FileIntegritySettings,
        description="File-integrity monitoring (AIDE) of the instances.",
    )
    alarms: AlarmSettings = Field(default_factory=AlarmSettings, description="Alarm thresholds.")

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        return catalogue.check_ec2_instance_type(value, "m6i.large or c7g.xlarge")

    @field_validator("ami_id")
    @classmethod
    def _ami(cls, value: str | None) -> str | None:
        if value is not None and not _AMI_ID.match(value):
            raise ValueError(f"{value!r} is not an AMI id like ami-0123456789abcdef0")
        return value

    @field_validator("root_device_name")
    @classmethod
    def _root_device(cls, value: str) -> str:
        if not re.match(r"^/dev/(xvd[a-z]|sd[a-z][0-9]*|nvme0n1)$", value):
            raise ValueError(f"{value!r} is not a device name like /dev/xvda or /dev/sda1")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, value: int) -> int:
        return check_log_retention(value)

    @field_validator("app_log_files")
    @classmethod
    def _app_log_files(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("name at least one file, or leave it out for /var/log/<app>/*.log")
        for path in value:
            if not _LOG_FILE.match(path) or "/../" in f"{path}/":
                raise ValueError(
                    f"{path!r} is not an absolute file path or glob like /var/log/orders/*.log"
                )
        if len(set(value)) != len(value):
            raise ValueError("a file is listed twice; list each once")
        return value

    @field_validator("app_port")
    @classmethod
    def _app_port(cls, value: int) -> int:
        if value in FORBIDDEN_PORTS:
            raise ValueError(
                f"{value} is an administration port that is never opened; "
                "pick the application's own port (e.g. 8080); shell access is via SSM"
            )
        return value

    @property
    def client_cidrs(self) -> dict[str, str]:
        """Named client ranges the ALB admits (besides the VPC and on-prem when internal)."""
        if self.allowed_cidrs is not None:
            return dict(self.allowed_cidrs)
        return {"internet": plan.ANYWHERE} if self.internet_facing else {}

    @property
    def architecture(self) -> str:
        return "arm64" if is_graviton(self.instance_type) else "x86_64"
