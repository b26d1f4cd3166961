"""Lookups for the AWS-fidelity tests: the policy documents that govern what a plan builds.

The tests that use them check what mocks cannot: that each delivery from a service to a
bucket, key, topic or log group has the permission the service really uses, that services
have the roles they need, that alarms compare a metric within its real range. Each such test
cites the AWS rule it encodes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.iam_check import Request, allows
from components.testing import Plan, PlatformMocks, Registered

__all__ = [
    "LOGS_KMS_ACTIONS",
    "METRIC_RANGES",
    "MetricRange",
    "Request",
    "alarm_fires",
    "allows",
    "bucket_policy",
    "deployed_mocks",
    "key_policy",
    "log_resource_policies",
    "logs_key_denials",
    "metric_range",
    "role_allows",
    "role_of",
    "role_policies",
    "topic_policy",
]


def _doc(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def bucket_policy(plan: Plan, bucket: Registered) -> dict[str, Any]:
    """The bucket policy of ``bucket`` (exactly one)."""
    (policy,) = [
        p
        for p in plan.every("aws:s3/bucketPolicy:BucketPolicy")
        if p.inputs["bucket"] == bucket.outputs["id"]
    ]
    return _doc(policy.inputs["policy"])


def key_policy(plan: Plan, key_arn: str) -> dict[str, Any]:
    """The key policy of the KMS key with ARN (or id) ``key_arn``."""
    (key,) = [
        k for k in plan.every("aws:kms/key:Key") if key_arn in (k.outputs["arn"], k.outputs["id"])
    ]
    return _doc(key.inputs["policy"])


def topic_policy(plan: Plan, topic_arn: str) -> dict[str, Any]:
    """The access policy of the SNS topic ``topic_arn``."""
    (policy,) = [
        p for p in plan.every("aws:sns/topicPolicy:TopicPolicy") if p.inputs["arn"] == topic_arn
    ]
    return _doc(policy.inputs["policy"])


def role_of(plan: Plan, arn: str) -> Registered:
    """The IAM role (or service-linked role) with ARN ``arn``."""
    found = [
        r
        for r in plan.resources
        if r.type in ("aws:iam/role:Role", "aws:iam/serviceLinkedRole:ServiceLinkedRole")
        and r.outputs.get("arn") == arn
    ]
    assert len(found) == 1, f"no role {arn} in the plan"
    return found[0]


def role_policies(plan: Plan, role: Registered) -> list[dict[str, Any]]:
    """The inline policies of ``role`` (AWS managed policies attached to it are not
    evaluated here: a test that relies on one names it and what it grants)."""
    name = role.outputs.get("name")
    return [
        _doc(p.inputs["policy"])
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] in (name, role.outputs["id"])
    ]


def role_allows(plan: Plan, role: Registered, request: Request) -> bool:
    """Whether an inline policy of ``role`` allows ``request`` (identity-based)."""
    return any(allows(doc, request) for doc in role_policies(plan, role))


# --- CloudWatch alarms against the metric's real range ----------------------------------------


@dataclass(frozen=True)
class MetricRange:
    """What a metric reads at one set of dimensions, as the service's metrics page says."""

    low: float
    high: float
    #: the values that mean something (e.g. 0, 0.5 and 1 tunnels of two up)
    meaningful: tuple[float, ...]
    source: str


#: (namespace, metric, dimension names) -> the metric's documented range there.
METRIC_RANGES: dict[tuple[str, str, frozenset[str]], MetricRange] = {
    # "TunnelState: The state of the tunnels. For static VPNs, 0 indicates DOWN and 1
    # indicates UP. For BGP VPNs, 1 indicates ESTABLISHED and 0 is used for all other states.
    # For both types of VPNs, values between 0 and 1 indicate at least one tunnel is not UP.
    # Units: Fractional value between 0 and 1" -- at the VpnId dimension the value is the
    # share of the connection's two tunnels that are up: 0.5 is one of two.
    ("AWS/VPN", "TunnelState", frozenset({"VpnId"})): MetricRange(
        0.0,
        1.0,
        (0.0, 0.5, 1.0),
        "https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-cloudwatch-vpn.html",
    ),
    ("AWS/VPN", "TunnelState", frozenset({"VpnId", "TunnelIpAddress"})): MetricRange(
        0.0,
        1.0,
        (0.0, 1.0),
        "https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-cloudwatch-vpn.html",
    ),
    # "ConnectionState: The state of the connection. 1 indicates up and 0 indicates down."
    ("AWS/DX", "ConnectionState", frozenset({"ConnectionId"})): MetricRange(
        0.0,
        1.0,
        (0.0, 1.0),
        "https://docs.aws.amazon.com/directconnect/latest/UserGuide/monitoring-cloudwatch.html",
    ),
}


def metric_range(alarm: Registered) -> MetricRange:
    """The documented range of the metric ``alarm`` watches, at the dimensions it uses."""
    key = (
        alarm.inputs["namespace"],
        alarm.inputs["metricName"],
        frozenset(alarm.inputs.get("dimensions") or {}),
    )
    assert key in METRIC_RANGES, f"{alarm.name}: no documented range for {key}"
    return METRIC_RANGES[key]


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def alarm_fires(alarm: Registered, value: float | None) -> bool:
    """Whether a single-metric ``alarm`` goes to ALARM when its metric reads ``value`` at
    every datapoint of its evaluation periods (whatever the statistic, a steady value is its
    own minimum, maximum and average); ``None`` is no data at all, which CloudWatch treats
    as ``treatMissingData`` says (``missing``/``ignore`` keep the alarm out of ALARM).
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    """
    inputs = alarm.inputs
    if value is None:
        return inputs.get("treatMissingData") == "breaching"
    return _COMPARE[inputs["comparisonOperator"]](value, float(inputs["threshold"]))


# --- what AWS holds after a plan was deployed -------------------------------------------------

NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
_PROTOCOL_NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1", "all": "-1"}


def deployed_mocks(deployed: Plan, **kwargs: Any) -> PlatformMocks:
    """Mocks that answer a read of a network ACL (``NetworkAcl.get``) with the entries
    ``deployed`` created in it, in the shape the provider reads them from AWS (protocol
    numbers, the default ``*`` rules left out): what a later deployment of the same stack
    finds. Other resources are answered as :class:`PlatformMocks` answers them."""
    entries: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for rule in deployed.of_type(NACL_RULE):
        i = rule.inputs
        direction = "egress" if i["egress"] else "ingress"
        acl = entries.setdefault(i["networkAclId"], {"ingress": [], "egress": []})
        acl[direction].append(
            {
                "ruleNo": i["ruleNumber"],
                "action": i["ruleAction"],
                "protocol": _PROTOCOL_NUMBERS.get(i["protocol"], i["protocol"]),
                "cidrBlock": i["cidrBlock"],
                "fromPort": i.get("fromPort", 0),
                "toPort": i.get("toPort", 0),
            }
        )

    class Deployed(PlatformMocks):
        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            resource_id, state = super().new_resource(args)
            if args.typ == NACL and args.resource_id:
                found = entries.get(args.resource_id, {"ingress": [], "egress": []})
                state = {**state, **found}
            return resource_id, state

    return Deployed(**kwargs)


# --- CloudWatch Logs and the keys of log groups ----------------------------------------------

#: the KMS operations CloudWatch Logs performs with a log group's key
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
LOGS_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey")


def logs_key_denials(plan: Plan, group: Registered) -> list[str]:
    """The KMS actions CloudWatch Logs (``logs.<region>.amazonaws.com``, with the encryption
    context ``aws:logs:arn`` of ``group``) is denied on the group's key; empty: all allowed."""
    region = group.outputs["arn"].split(":")[3]
    policy = key_policy(plan, group.inputs["kmsKeyId"])
    return [
        action
        for action in LOGS_KMS_ACTIONS
        if not allows(
            policy,
            Request(
                action,
                resource=group.inputs["kmsKeyId"],
                principal={"Service": f"logs.{region}.amazonaws.com"},
                context={"kms:EncryptionContext:aws:logs:arn": group.outputs["arn"]},
            ),
        )
    ]


def log_resource_policies(plan: Plan) -> list[dict[str, Any]]:
    """The account's CloudWatch Logs resource policies in the plan."""
    return [
        _doc(p.inputs["policyDocument"])
        for p in plan.of_type("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    ]
