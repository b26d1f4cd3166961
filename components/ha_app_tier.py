"""HaAppTier: one application re-hosted on EC2 behind its own ALB, across every AZ.

The LOYALTY case study: "3 instances in 2 different Availability Zones, so if any instance
fails, others in other AZs pick up the workload", load-balanced, auto-scaling, auto-healing.

One HaAppTier per application (stack key `payments-platform:apps`, app name -> settings).
Every child's logical name starts with the component's name, so adding an application adds
resources and changes none of the others'.

Fixes the top complaints against the anchors (terraform-aws-modules autoscaling/alb):
- `pulumi up` never resets the desired capacity that scaling set (TFM asg #44, #72);
- the ASG pins the launch template's explicit latest version, so instance refresh fires on
  every launch-template change ($Latest does not trigger it: TFM asg #143, #155).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from . import network_plan as plan
from .aws_env import AwsEnv, aws_env, policy_json
from .base import SettingsModel, StackContext, child_opts
from .kms import account_administers_key, customer_managed_key
from .observability import Widget, metric_alarm, metric_widget
from .s3 import private_bucket
from .secure_vpc import NetworkRef
from .security_groups import FORBIDDEN_PORTS, OPEN_CIDRS, Rule, restricted_security_group

COMPONENT = "ha-app-tier"

#: Amazon Linux 2023 AMI ids are published as public SSM parameters, per architecture.
AL2023_AMI_PARAMETERS: Mapping[str, str] = {
    "x86_64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "arm64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
}

#: TLS 1.2+ listener policies (PCI DSS 4.2.1: strong cryptography in transit).
TlsPolicy = Literal[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
]
DEFAULT_TLS_POLICY: TlsPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

#: Regions launched before August 2022 deliver ALB access logs as a regional ELB account;
#: newer regions use the logdelivery.elasticloadbalancing.amazonaws.com service principal.
ELB_LOG_DELIVERY_ACCOUNTS: Mapping[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
ACCESS_LOG_PREFIX = "alb"

#: AWS managed rule groups on every web ACL, each with a fixed priority (identity by name:
#: adding a group never renumbers the others).
WAF_MANAGED_RULE_GROUPS: Mapping[str, int] = {
    "AWSManagedRulesAmazonIpReputationList": 10,
    "AWSManagedRulesCommonRuleSet": 20,
    "AWSManagedRulesKnownBadInputsRuleSet": 30,
    "AWSManagedRulesSQLiRuleSet": 40,
}
WAF_RATE_RULE_PRIORITY = 1

#: ASG metrics collected (1-minute granularity) for alarms and the dashboard.
GROUP_METRICS: tuple[aws.autoscaling.Metric, ...] = tuple(
    aws.autoscaling.Metric(m)
    for m in (
        "GroupMinSize",
        "GroupMaxSize",
        "GroupDesiredCapacity",
        "GroupInServiceInstances",
        "GroupPendingInstances",
        "GroupTerminatingInstances",
        "GroupTotalInstances",
    )
)

_INSTANCE_TYPE = re.compile(
    r"^[a-z]+-?[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$"
)
#: Graviton families: a1, and <letters><generation>g<attributes> (m7g, c7gn, t4g, g5g).
_GRAVITON = re.compile(r"^(a1|[a-z]+[0-9]+g[a-z]*)\.")
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8,17}$")
_ACM_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:acm:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:certificate/[0-9a-f-]{36}$"
)
_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_CIDR_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
#: AWS: user data is limited to 16 KB before base64 encoding.
MAX_USER_DATA_BYTES = 16 * 1024


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
        default=5, ge=2, le=120, description="Seconds without a reply that fail a check (2-120)."
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
        if not value.startswith("/") or len(value) > 1024:
            raise ValueError(f"healthCheck.path {value!r} must start with '/' (max 1024 chars)")
        return value

    @field_validator("matcher")
    @classmethod
    def _matcher(cls, value: str) -> str:
        if not re.match(
            r"^[1-5][0-9]{2}(-[1-5][0-9]{2})?(,[1-5][0-9]{2}(-[1-5][0-9]{2})?)*$", value
        ):
            raise ValueError(
                f"healthCheck.matcher {value!r} is not an HTTP code list like 200 or 200-299"
            )
        return value

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheckSettings:
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                "healthCheck.timeoutSeconds must be less than healthCheck.intervalSeconds "
                f"(got {self.timeout_seconds} >= {self.interval_seconds})"
            )
        return self


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


class HaAppTierSettings(SettingsModel):
    """One application (stack key `payments-platform:apps.<app>`)."""

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
        description="Root device of the AMI (`/dev/xvda` on Amazon Linux) to encrypt and size.",
    )
    root_volume_size_gib: int = Field(
        default=20, ge=8, le=16384, description="Size of the encrypted gp3 root volume (GiB)."
    )
    user_data_file: str | None = Field(
        default=None,
        description="File with the instances' user data, relative to the project directory.",
    )
    min_size: int = Field(default=3, ge=0, description="Fewest instances the ASG runs.")
    desired_capacity: int = Field(
        default=3,
        ge=0,
        description="Instances at creation; later owned by scaling (never reset by pulumi up).",
    )
    max_size: int = Field(default=9, ge=1, description="Most instances scaling may launch.")
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
    certificate_arn: str | None = Field(
        default=None,
        description="ACM certificate ARN of the HTTPS listener (required: the ALB is HTTPS-only).",
    )
    tls_policy: TlsPolicy = Field(
        default=DEFAULT_TLS_POLICY,
        description="ALB security policy (TLS 1.2+ only).",
    )
    allowed_cidrs: dict[str, str] | None = Field(
        default=None,
        description=(
            "Client ranges by name allowed to reach the ALB on 443 (and 80, redirected). Default: "
            "internet-facing `{internet: 0.0.0.0/0}`; internal: none beyond the VPC and on-prem."
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
        description="Seconds a new instance needs before its metrics count for scaling/refresh.",
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
        default=None,
        ge=1,
        le=365,
        description="Replace instances older than this many days (1-365); default never.",
    )
    access_log_retention_days: int = Field(
        default=365,
        ge=1,
        description="Days to keep ALB access logs (PCI DSS 10.5.1: at least 365 in prod).",
    )
    scaling: ScalingSettings = Field(
        default_factory=ScalingSettings, description="Target-tracking scaling."
    )
    waf: WafSettings = Field(default_factory=WafSettings, description="AWS WAF web ACL.")
    alarms: AlarmSettings = Field(default_factory=AlarmSettings, description="Alarm thresholds.")

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not _INSTANCE_TYPE.match(value):
            raise ValueError(
                f"instanceType {value!r} is not an EC2 instance type like m6i.large or c7g.xlarge"
            )
        return value

    @field_validator("ami_id")
    @classmethod
    def _ami(cls, value: str | None) -> str | None:
        if value is not None and not _AMI_ID.match(value):
            raise ValueError(f"amiId {value!r} is not an AMI id like ami-0123456789abcdef0")
        return value

    @field_validator("root_device_name")
    @classmethod
    def _root_device(cls, value: str) -> str:
        if not re.match(r"^/dev/(xvd[a-z]|sd[a-z][0-9]*|nvme0n1)$", value):
            raise ValueError(
                f"rootDeviceName {value!r} is not a device name like /dev/xvda or /dev/sda1"
            )
        return value

    @field_validator("app_port")
    @classmethod
    def _app_port(cls, value: int) -> int:
        if value in FORBIDDEN_PORTS:
            raise ValueError(
                f"appPort {value} is an administration port that is never opened; "
                "pick the application's own port (e.g. 8080); shell access is via SSM"
            )
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        if value is not None and not _ACM_ARN.match(value):
            raise ValueError(
                f"certificateArn {value!r} is not an ACM certificate ARN like "
                "arn:aws:acm:ap-southeast-1:123456789012:certificate/<uuid>"
            )
        return value

    @field_validator("allowed_cidrs")
    @classmethod
    def _allowed_cidrs(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, cidr in (value or {}).items():
            if not _CIDR_NAME.match(name):
                raise ValueError(
                    f"allowedCidrs key {name!r} must be lowercase letters, digits and '-'"
                )
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(
                    f"allowedCidrs.{name}: {cidr!r} is not a CIDR with host bits zero"
                ) from exc
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> HaAppTierSettings:
        if self.min_size > self.max_size:
            raise ValueError(
                f"minSize {self.min_size} is greater than maxSize {self.max_size}; "
                "raise maxSize or lower minSize"
            )
        if not self.min_size <= self.desired_capacity <= self.max_size:
            raise ValueError(
                f"desiredCapacity {self.desired_capacity} must be between minSize "
                f"{self.min_size} and maxSize {self.max_size}"
            )
        if self.certificate_arn is None:
            where = "an internet-facing" if self.internet_facing else "an internal"
            raise ValueError(
                f"certificateArn is required: {where} ALB serves HTTPS only (PCI DSS 4.2.1); "
                "request an ACM certificate for the app's DNS name in the stack's region"
            )
        if not self.internet_facing:
            open_ = [n for n, c in (self.allowed_cidrs or {}).items() if c in OPEN_CIDRS]
            if open_:
                raise ValueError(
                    f"allowedCidrs.{open_[0]}: an internal ALB is never open to 0.0.0.0/0; "
                    "name the client ranges, or set internetFacing: true"
                )
        if self.ami_id is None and self.root_device_name != "/dev/xvda":
            raise ValueError(
                "rootDeviceName: Amazon Linux 2023 (the default AMI) boots from /dev/xvda; "
                "set amiId too if your AMI uses another root device"
            )
        return self

    @property
    def client_cidrs(self) -> dict[str, str]:
        """Named client ranges the ALB admits (besides the VPC and on-prem when internal)."""
        if self.allowed_cidrs is not None:
            return dict(self.allowed_cidrs)
        return {"internet": plan.ANYWHERE} if self.internet_facing else {}

    @property
    def architecture(self) -> str:
        return "arm64" if is_graviton(self.instance_type) else "x86_64"


def read_user_data(path: str | None, base_dir: Path | None = None) -> str | None:
    """The user data file's content, base64-encoded as launch templates require."""
    if path is None:
        return None
    file = Path(path)
    if not file.is_absolute():
        # Pulumi runs the program with the project directory (Pulumi.yaml) as working dir.
        file = (base_dir or Path.cwd()) / file
    if not file.is_file():
        raise ValueError(
            f"userDataFile: {path!r} not found (looked at {file}); paths are relative to the "
            "project directory"
        )
    raw = file.read_bytes()
    if len(raw) > MAX_USER_DATA_BYTES:
        raise ValueError(
            f"userDataFile: {path!r} is {len(raw)} bytes; EC2 accepts at most 16 KB of user "
            "data, so fetch larger scripts from S3 or SSM at boot"
        )
    return base64.b64encode(raw).decode("ascii")


def check_wiring(
    name: str,
    settings: HaAppTierSettings,
    network: NetworkRef,
    data_services: tuple[str, ...],
    on_prem_cidrs: Mapping[str, str],
    app_port_range: tuple[int, int] | None,
) -> None:
    """Everything about the wiring that can be wrong, checked before anything registers."""
    if not _APP_NAME.match(name):
        raise ValueError(
            f"HaAppTier name {name!r} must be 1-20 lowercase letters, digits or '-' starting "
            "with a letter (ALB and target group names are limited to 32 characters)"
        )
    unknown = [s for s in data_services if s not in plan.DATA_SERVICES]
    if unknown:
        raise ValueError(
            f"apps.{name}: data service(s) {unknown} unknown; use {list(plan.DATA_SERVICES)}"
        )
    if app_port_range is not None:
        low, high = app_port_range
        if not low <= settings.app_port <= high:
            raise ValueError(
                f"apps.{name}.appPort {settings.app_port} is outside network.appPorts "
                f"{low}-{high}: the app tier's NACLs would drop it; change appPort or "
                "network.appPorts"
            )
    tiers = ("public", "app") if settings.internet_facing else ("app",)
    for tier in tiers:
        azs = network.subnet_ids.get(tier, {})
        if len(azs) < 2:
            raise ValueError(
                f"apps.{name}: the network's {tier} tier spans {len(azs)} AZ(s); an ALB needs "
                "subnets in at least 2 AZs (network.availabilityZones)"
            )
    if "data" not in network.tier_cidrs and data_services:
        raise ValueError(f"apps.{name}: the network has no data tier for {list(data_services)}")
    for peer, cidr in on_prem_cidrs.items():
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"on-prem range {peer}: {cidr!r} is not a CIDR") from exc
        if str(net) in OPEN_CIDRS:
            raise ValueError(f"on-prem range {peer} may not be 0.0.0.0/0")
    alb_clients(settings, network.vpc_cidr, on_prem_cidrs, app=name)


def alb_clients(
    settings: HaAppTierSettings, vpc_cidr: str, on_prem: Mapping[str, str], *, app: str
) -> dict[str, str]:
    """Peer name -> CIDR of every client range the ALB admits on 443.

    Internal ALBs always admit the VPC and the on-prem ranges the stack passes (over VPN or
    Direct Connect). AWS rejects two identical rules in one group, so a range may appear once.
    """
    clients = dict(settings.client_cidrs)
    if not settings.internet_facing:
        reserved = [k for k in clients if k == "vpc" or k.startswith("onprem-")]
        if reserved:
            raise ValueError(
                f"apps.{app}.allowedCidrs.{reserved[0]}: the names vpc and onprem-* are "
                "reserved for the ranges an internal ALB always admits; rename it"
            )
        clients = {"vpc": vpc_cidr, **clients}
        clients.update({f"onprem-{peer}": cidr for peer, cidr in on_prem.items()})
    seen: dict[str, str] = {}
    for peer, cidr in clients.items():
        normal = str(ipaddress.ip_network(cidr))
        if normal in seen:
            raise ValueError(
                f"apps.{app}.allowedCidrs: {cidr} ({peer}) is already admitted as "
                f"{seen[normal]}; list each range once"
            )
        seen[normal] = peer
    return clients


class HaAppTier(pulumi.ComponentResource):
    """An application's launch template, Auto Scaling group, ALB (+ WAF, access logs),
    security groups, scaling policies, alarms and dashboard widgets."""

    alb_dns_name: pulumi.Output[str]
    alb_arn: pulumi.Output[str]
    alb_zone_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    asg_name: pulumi.Output[str]
    instance_security_group_id: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    access_log_bucket: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str] | None
    dashboard_widgets: list[Widget]

    def __init__(
        self,
        name: str,
        settings: HaAppTierSettings,
        *,
        context: StackContext,
        network: NetworkRef,
        alarm_topic_arn: pulumi.Input[str],
        data_services: Iterable[str] = (),
        on_prem_cidrs: Mapping[str, str] | None = None,
        app_port_range: tuple[int, int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        services = tuple(sorted(set(data_services)))
        on_prem = dict(on_prem_cidrs or {})
        check_wiring(name, settings, network, services, on_prem, app_port_range)
        user_data = read_user_data(settings.user_data_file)

        super().__init__("payments:index:HaAppTier", name, None, opts)
        self._name = name
        self._settings = settings
        self._context = context
        self._network = network
        self._env: AwsEnv = aws_env(self)

        self._alb_sg = self._alb_security_group(on_prem)
        self._instance_sg = self._instance_security_group(services)
        bucket = self._access_log_bucket()
        self._alb = self._load_balancer(bucket)
        self._tg = self._target_group()
        https = self._listeners()
        self.web_acl_arn = self._web_acl() if settings.internet_facing else None
        key = self._ebs_key()
        template = self._launch_template(key, user_data)
        self._asg = self._auto_scaling_group(template)
        self._scaling_policies(https)
        self._alarms(alarm_topic_arn)
        self.dashboard_widgets = self._widgets()

        self.alb_dns_name = self._alb.dns_name
        self.alb_arn = self._alb.arn
        self.alb_zone_id = self._alb.zone_id
        self.target_group_arn = self._tg.arn
        self.asg_name = self._asg.name
        self.instance_security_group_id = self._instance_sg.id
        self.alb_security_group_id = self._alb_sg.id
        self.access_log_bucket = bucket.bucket
        self.register_outputs(
            {
                "albDnsName": self.alb_dns_name,
                "albArn": self.alb_arn,
                "albZoneId": self.alb_zone_id,
                "targetGroupArn": self.target_group_arn,
                "asgName": self.asg_name,
                "instanceSecurityGroupId": self.instance_security_group_id,
                "albSecurityGroupId": self.alb_security_group_id,
                "accessLogBucket": self.access_log_bucket,
            }
        )

    # --- helpers -------------------------------------------------------------------------

    def _tags(self, **extra: str) -> dict[str, str]:
        return self._context.tags(COMPONENT, app=self._name, **extra)

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return child_opts(self, **kwargs)

    # --- security groups -----------------------------------------------------------------

    def _alb_security_group(self, on_prem: Mapping[str, str]) -> aws.ec2.SecurityGroup:
        s, n = self._settings, self._name
        clients = alb_clients(s, self._network.vpc_cidr, on_prem, app=n)
        ingress = [Rule("https", 443, cidrs=clients, description="HTTPS from clients")]
        if s.internet_facing:
            # Port 80 only ever answers with a 301 to HTTPS (see _listeners).
            ingress.append(Rule("http", 80, cidrs=clients, description="HTTP, redirected"))
        return restricted_security_group(
            f"{n}-alb",
            vpc_id=self._network.vpc_id,
            description=f"{n} ALB: HTTPS from clients, app port to the app tier",
            context=self._context,
            component=COMPONENT,
            ingress=ingress,
            # The ALB reaches targets (and health checks them) in the app tier only. A CIDR
            # rather than the instance SG keeps the two groups free of a creation cycle.
            egress=[
                Rule(
                    "app",
                    s.app_port,
                    cidrs={"app-tier": self._network.tier_cidrs["app"]},
                    description="to targets",
                )
            ],
            internet_facing_web=s.internet_facing,
            parent=self,
        )

    def _instance_security_group(self, services: tuple[str, ...]) -> aws.ec2.SecurityGroup:
        s, n = self._settings, self._name
        egress = [
            Rule(
                "https",
                443,
                # 443 out: package repositories and AWS APIs via the NAT gateway, and the
                # interface endpoints (SSM, KMS, logs ...) inside the VPC.
                cidrs={"internet": plan.ANYWHERE},
                security_groups={"endpoints": self._network.endpoint_security_group_id},
                description="HTTPS to AWS APIs and endpoints",
            )
        ]
        for service in services:
            svc = plan.SERVICES[service]
            egress.append(
                Rule(
                    service,
                    svc.from_port,
                    svc.to_port,
                    cidrs={"data-tier": self._network.tier_cidrs["data"]},
                    description=f"to the {service} data store",
                )
            )
        return restricted_security_group(
            f"{n}-instances",
            vpc_id=self._network.vpc_id,
            description=f"{n} instances: app port from the ALB only",
            context=self._context,
            component=COMPONENT,
            ingress=[
                Rule(
                    "app",
                    s.app_port,
                    security_groups={"alb": self._alb_sg.id},
                    description="from the ALB",
                )
            ],
            egress=egress,
            parent=self,
        )

    # --- access logs -----------------------------------------------------------------------

    def _access_log_bucket(self) -> aws.s3.Bucket:
        n, ctx = self._name, self._context
        bucket, pab = private_bucket(
            f"{n}-alb-logs",
            context=ctx,
            tags=self._tags(Name=f"{n}-alb-logs"),
            parent=self,
            # Nonprod may be torn down with its logs; prod logs are evidence (PCI DSS 10.5.1).
            force_destroy=not ctx.is_prod,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{n}-alb-logs",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    # ALB access logs support only SSE-S3: ELB cannot write to a bucket
                    # whose default encryption is SSE-KMS (ELB user guide, "Enable access
                    # logs"; aws-cdk #21947). The logs hold no card data (PCI DSS 10.3.x
                    # protects them through access control and retention instead).
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                )
            ],
            opts=self._opts(),
        )
        days = self._settings.access_log_retention_days
        aws.s3.BucketLifecycleConfiguration(
            f"{n}-alb-logs",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=self._opts(),
        )
        self._log_policy = aws.s3.BucketPolicy(
            f"{n}-alb-logs",
            bucket=bucket.id,
            policy=self._log_bucket_policy(bucket),
            # S3 rejects concurrent policy and public-access-block changes on one bucket.
            opts=self._opts(depends_on=[pab]),
        )
        return bucket

    def _log_bucket_policy(self, bucket: aws.s3.Bucket) -> pulumi.Output[str]:
        env = self._env
        principal = pulumi.Output.all(env.partition, env.region).apply(
            lambda p: (
                {"AWS": f"arn:{p[0]}:iam::{ELB_LOG_DELIVERY_ACCOUNTS[p[1]]}:root"}
                if p[1] in ELB_LOG_DELIVERY_ACCOUNTS
                else {"Service": ELB_LOG_DELIVERY_SERVICE}
            )
        )
        log_objects = pulumi.Output.concat(
            bucket.arn, f"/{ACCESS_LOG_PREFIX}/AWSLogs/", env.account_id, "/*"
        )
        return policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ElbDeliversAccessLogs",
                        "Effect": "Allow",
                        "Principal": principal,
                        "Action": "s3:PutObject",
                        "Resource": log_objects,
                    },
                    {
                        # PCI DSS 4.2.1: never read or write the logs over plain HTTP.
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            }
        )

    # --- load balancer -------------------------------------------------------------------

    def _load_balancer(self, bucket: aws.s3.Bucket) -> aws.lb.LoadBalancer:
        s, n = self._settings, self._name
        tier = "public" if s.internet_facing else "app"
        return aws.lb.LoadBalancer(
            f"{n}-alb",
            load_balancer_type="application",
            internal=not s.internet_facing,
            subnets=self._network.tier_subnet_ids(tier),
            security_groups=[self._alb_sg.id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=self._context.is_prod,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=bucket.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True
            ),
            tags=self._tags(Name=f"{n}-alb"),
            # ELB test-writes to the bucket when access logs are enabled: the policy first.
            opts=self._opts(depends_on=[self._log_policy]),
        )

    def _target_group(self) -> aws.lb.TargetGroup:
        s, n = self._settings, self._name
        hc = s.health_check
        return aws.lb.TargetGroup(
            f"{n}-tg",
            target_type="instance",
            port=s.app_port,
            protocol="HTTP",
            vpc_id=self._network.vpc_id,
            deregistration_delay=s.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=hc.path,
                matcher=hc.matcher,
                interval=hc.interval_seconds,
                timeout=hc.timeout_seconds,
                healthy_threshold=hc.healthy_threshold,
                unhealthy_threshold=hc.unhealthy_threshold,
            ),
            tags=self._tags(Name=f"{n}-tg"),
            opts=self._opts(),
        )

    def _listeners(self) -> aws.lb.Listener:
        s, n = self._settings, self._name
        https = aws.lb.Listener(
            f"{n}-https",
            load_balancer_arn=self._alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=s.tls_policy,
            certificate_arn=s.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self._tg.arn)
            ],
            tags=self._tags(),
            opts=self._opts(),
        )
        if s.internet_facing:
            # Browsers typing http:// land here; nothing is ever served in clear text.
            aws.lb.Listener(
                f"{n}-http",
                load_balancer_arn=self._alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            protocol="HTTPS", port="443", status_code="HTTP_301"
                        ),
                    )
                ],
                tags=self._tags(),
                opts=self._opts(),
            )
        return https

    def _web_acl(self) -> pulumi.Output[str] | None:
        waf, n = self._settings.waf, self._name
        if not waf.enabled:
            return None
        metric = re.sub(r"[^A-Za-z0-9]", "", n)

        def visibility(name: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
            return aws.wafv2.WebAclRuleVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=f"{metric}{name}",
                sampled_requests_enabled=True,
            )

        rules = [
            aws.wafv2.WebAclRuleArgs(
                name="rate-limit-per-ip",
                priority=WAF_RATE_RULE_PRIORITY,
                action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        limit=waf.rate_limit,
                        aggregate_key_type="IP",
                        evaluation_window_sec=waf.rate_window_seconds,
                    )
                ),
                visibility_config=visibility("RateLimit"),
            )
        ]
        for group, priority in WAF_MANAGED_RULE_GROUPS.items():
            rules.append(
                aws.wafv2.WebAclRuleArgs(
                    name=group,
                    priority=priority,
                    # Managed groups carry their own block actions; "none" keeps them.
                    override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                        none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]
                    ),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                            vendor_name="AWS", name=group
                        )
                    ),
                    visibility_config=visibility(group.removeprefix("AWSManagedRules")),
                )
            )
        acl = aws.wafv2.WebAcl(
            f"{n}-waf",
            scope="REGIONAL",
            description=f"{n} ALB: AWS managed rules and a per-IP rate limit",
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()
            ),
            rules=rules,
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=f"{metric}WebAcl",
                sampled_requests_enabled=True,
            ),
            tags=self._tags(Name=f"{n}-waf"),
            opts=self._opts(),
        )
        aws.wafv2.WebAclAssociation(
            f"{n}-waf",
            resource_arn=self._alb.arn,
            web_acl_arn=acl.arn,
            opts=self._opts(),
        )
        return acl.arn

    # --- compute -----------------------------------------------------------------------

    def _ebs_key(self) -> aws.kms.Key:
        n, env, ctx = self._name, self._env, self._context
        # A custom-suffix Auto Scaling service-linked role for this app: the key policy must
        # name an existing principal (a key policy naming the default
        # AWSServiceRoleForAutoScaling fails in an account that never used Auto Scaling),
        # and only this app's ASG can use the key.
        self._slr = aws.iam.ServiceLinkedRole(
            f"{n}-autoscaling",
            aws_service_name="autoscaling.amazonaws.com",
            custom_suffix=f"{ctx.environment}-{n}",
            description=f"EC2 Auto Scaling for {n} ({ctx.environment})",
            tags=self._tags(),
            opts=self._opts(),
        )
        policy = policy_json(
            {
                "Version": "2012-10-17",
                "Statement": [
                    account_administers_key(env),
                    {
                        # Without these, the ASG's launches fail with
                        # "Client.InternalError: Client error on launch" (EBS cannot
                        # encrypt the root volume with a CMK the role may not use).
                        "Sid": "AutoScalingUsesKey",
                        "Effect": "Allow",
                        "Principal": {"AWS": self._slr.arn},
                        "Action": [
                            "kms:Encrypt",
                            "kms:Decrypt",
                            "kms:ReEncrypt*",
                            "kms:GenerateDataKey*",
                            "kms:DescribeKey",
                        ],
                        "Resource": "*",
                    },
                    {
                        "Sid": "AutoScalingAttachesVolumes",
                        "Effect": "Allow",
                        "Principal": {"AWS": self._slr.arn},
                        "Action": "kms:CreateGrant",
                        "Resource": "*",
                        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                    },
                ],
            }
        )
        return customer_managed_key(
            f"{n}-ebs",
            description=f"{n} app tier EBS volumes",
            policy=policy,
            context=ctx,
            component=COMPONENT,
            parent=self,
        )

    def _instance_profile(self) -> aws.iam.InstanceProfile:
        n, env = self._name, self._env
        role = aws.iam.Role(
            f"{n}-instance-role",
            description=f"{n} instances: SSM Session Manager and the CloudWatch agent only",
            assume_role_policy=policy_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=self._tags(),
            opts=self._opts(),
        )
        # PCI DSS 7.2: least privilege. Shell access is SSM Session Manager (logged), never SSH.
        for role_name, policy in (
            ("ssm", "AmazonSSMManagedInstanceCore"),
            ("cloudwatch-agent", "CloudWatchAgentServerPolicy"),
        ):
            aws.iam.RolePolicyAttachment(
                f"{n}-instance-{role_name}",
                role=role.name,
                policy_arn=pulumi.Output.concat("arn:", env.partition, ":iam::aws:policy/", policy),
                opts=self._opts(),
            )
        return aws.iam.InstanceProfile(
            f"{n}-instance-profile",
            role=role.name,
            tags=self._tags(),
            opts=self._opts(),
        )

    def _image_id(self) -> pulumi.Input[str]:
        s = self._settings
        if s.ami_id is not None:
            return s.ami_id
        parameter = aws.ssm.get_parameter_output(
            name=AL2023_AMI_PARAMETERS[s.architecture],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        # insecure_value: an AMI id is not a secret; `value` would mark the template secret.
        return parameter.insecure_value

    def _launch_template(self, key: aws.kms.Key, user_data: str | None) -> aws.ec2.LaunchTemplate:
        s, n = self._settings, self._name
        profile = self._instance_profile()
        tag_specs = [
            aws.ec2.LaunchTemplateTagSpecificationArgs(
                resource_type=kind, tags=self._tags(Name=f"{n}-{kind}")
            )
            for kind in ("instance", "volume", "network-interface")
        ]
        return aws.ec2.LaunchTemplate(
            f"{n}-lt",
            description=f"{n} app tier instances",
            image_id=self._image_id(),
            instance_type=s.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            # IMDSv2 only, one hop: a container or proxy on the host cannot reach the
            # instance credentials (the SSRF path of the 2019 Capital One breach).
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    associate_public_ip_address="false",
                    delete_on_termination="true",
                    security_groups=[self._instance_sg.id],
                )
            ],
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=s.root_device_name,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_type="gp3",
                        volume_size=s.root_volume_size_gib,
                        encrypted="true",
                        kms_key_id=key.arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            user_data=user_data,
            update_default_version=True,
            tag_specifications=tag_specs,
            tags=self._tags(Name=f"{n}-lt"),
            opts=self._opts(),
        )

    def _auto_scaling_group(self, template: aws.ec2.LaunchTemplate) -> aws.autoscaling.Group:
        s, n = self._settings, self._name
        return aws.autoscaling.Group(
            f"{n}-asg",
            vpc_zone_identifiers=self._network.tier_subnet_ids("app"),
            min_size=s.min_size,
            max_size=s.max_size,
            desired_capacity=s.desired_capacity,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id,
                # The explicit version number: a new template version is then a change to
                # the group, which starts the instance refresh ($Latest never does).
                version=template.latest_version.apply(str),
            ),
            target_group_arns=[self._tg.arn],
            health_check_type="ELB",
            health_check_grace_period=s.health_check_grace_period_seconds,
            default_instance_warmup=s.instance_warmup_seconds,
            # On-demand only: capacity rebalancing is a Spot feature.
            capacity_rebalance=False,
            # Auto-healing launches the replacement before terminating the unhealthy
            # instance (min 100%), with room for about one extra instance (max 110%).
            instance_maintenance_policy=aws.autoscaling.GroupInstanceMaintenancePolicyArgs(
                min_healthy_percentage=100, max_healthy_percentage=110
            ),
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=s.instance_refresh_min_healthy_percentage,
                    max_healthy_percentage=110,
                    instance_warmup=str(s.instance_warmup_seconds),
                    skip_matching=True,
                ),
            ),
            max_instance_lifetime=(
                s.max_instance_lifetime_days * 86400 if s.max_instance_lifetime_days else None
            ),
            service_linked_role_arn=self._slr.arn,
            enabled_metrics=list(GROUP_METRICS),
            metrics_granularity="1Minute",
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
                for k, v in self._tags(Name=f"{n}-asg").items()
            ],
            # Scaling owns the desired capacity after creation (TFM asg #44, #72).
            opts=self._opts(ignore_changes=["desiredCapacity"]),
        )

    def _scaling_policies(self, https: aws.lb.Listener) -> None:
        s, n = self._settings, self._name
        aws.autoscaling.Policy(
            f"{n}-cpu",
            autoscaling_group_name=self._asg.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                target_value=s.scaling.cpu_target_percent,
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization"
                ),
            ),
            opts=self._opts(),
        )
        aws.autoscaling.Policy(
            f"{n}-requests",
            autoscaling_group_name=self._asg.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                target_value=float(s.scaling.requests_per_target),
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ALBRequestCountPerTarget",
                    resource_label=pulumi.Output.concat(
                        self._alb.arn_suffix, "/", self._tg.arn_suffix
                    ),
                ),
            ),
            # AWS rejects the resource label until the target group is behind the ALB.
            opts=self._opts(depends_on=[https]),
        )

    # --- monitoring ----------------------------------------------------------------------

    def _alarms(self, topic: pulumi.Input[str]) -> None:
        s, n = self._settings, self._name
        lb = {"LoadBalancer": self._alb.arn_suffix}
        tg = {"LoadBalancer": self._alb.arn_suffix, "TargetGroup": self._tg.arn_suffix}
        common: dict[str, Any] = {
            "parent": self,
            "context": self._context,
            "component": COMPONENT,
            "topic_arn": topic,
        }
        alb_ns = "AWS/ApplicationELB"
        metric_alarm(
            f"{n}-alb-5xx",
            description=f"{n}: the ALB returns 5xx (no healthy target, or ALB errors)",
            namespace=alb_ns,
            metric_name="HTTPCode_ELB_5XX_Count",
            dimensions=lb,
            statistic="Sum",
            threshold=s.alarms.elb_5xx_per_5_minutes,
            comparison="GreaterThanThreshold",
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            **common,
        )
        metric_alarm(
            f"{n}-target-5xx",
            description=f"{n}: the application returns 5xx",
            namespace=alb_ns,
            metric_name="HTTPCode_Target_5XX_Count",
            dimensions=tg,
            statistic="Sum",
            threshold=s.alarms.target_5xx_per_5_minutes,
            comparison="GreaterThanThreshold",
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            **common,
        )
        metric_alarm(
            f"{n}-unhealthy-hosts",
            description=f"{n}: at least one target fails its health check",
            namespace=alb_ns,
            metric_name="UnHealthyHostCount",
            dimensions=tg,
            statistic="Maximum",
            threshold=0,
            comparison="GreaterThanThreshold",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            **common,
        )
        metric_alarm(
            f"{n}-latency-p99",
            description=f"{n}: p99 response time above {s.alarms.p99_latency_seconds}s",
            namespace=alb_ns,
            metric_name="TargetResponseTime",
            dimensions=tg,
            extended_statistic="p99",
            threshold=s.alarms.p99_latency_seconds,
            comparison="GreaterThanThreshold",
            period=300,
            evaluation_periods=2,
            treat_missing_data="notBreaching",
            **common,
        )
        metric_alarm(
            f"{n}-in-service",
            description=f"{n}: fewer in-service instances than minSize ({s.min_size})",
            namespace="AWS/AutoScaling",
            metric_name="GroupInServiceInstances",
            dimensions={"AutoScalingGroupName": self._asg.name},
            statistic="Minimum",
            threshold=s.min_size,
            comparison="LessThanThreshold",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=5,
            # No data means the group is gone or metrics stopped: page someone.
            treat_missing_data="breaching",
            **common,
        )

    def _widgets(self) -> list[Widget]:
        n = self._name
        region = self._env.region
        alb: list[pulumi.Input[str]] = ["LoadBalancer", self._alb.arn_suffix]
        tg: list[pulumi.Input[str]] = [*alb, "TargetGroup", self._tg.arn_suffix]
        asg: list[pulumi.Input[str]] = ["AutoScalingGroupName", self._asg.name]
        ns = "AWS/ApplicationELB"
        return [
            metric_widget(f"{n} requests", [[ns, "RequestCount", *alb]], region=region, stat="Sum"),
            metric_widget(
                f"{n} 5xx",
                [[ns, "HTTPCode_ELB_5XX_Count", *alb], [ns, "HTTPCode_Target_5XX_Count", *tg]],
                region=region,
                stat="Sum",
            ),
            metric_widget(
                f"{n} latency p99", [[ns, "TargetResponseTime", *tg]], region=region, stat="p99"
            ),
            metric_widget(
                f"{n} healthy hosts",
                [[ns, "HealthyHostCount", *tg], [ns, "UnHealthyHostCount", *tg]],
                region=region,
                stat="Minimum",
            ),
            metric_widget(
                f"{n} in-service instances",
                [["AWS/AutoScaling", "GroupInServiceInstances", *asg]],
                region=region,
                stat="Minimum",
            ),
            metric_widget(
                f"{n} CPU", [["AWS/EC2", "CPUUtilization", *asg]], region=region, stat="Average"
            ),
        ]
