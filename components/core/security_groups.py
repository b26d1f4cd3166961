"""Security groups whose every rule names its peer: another security group or a named CIDR.

PCI DSS 1.3/1.4: inbound traffic to the CDE is limited to what is necessary. The helper
refuses 0.0.0.0/0 (and ::/0) as a source, except for an internet-facing load balancer on
80/443, and refuses port 22 outright (administration goes through SSM Session Manager).
Each rule is its own resource named after its purpose and peer, so adding or removing a
peer never recreates the others (terraform-aws-modules security-group #245, #351).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .settings import StackContext

OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
INTERNET_WEB_PORTS = frozenset({80, 443})
FORBIDDEN_PORTS = frozenset({22, 3389})
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class SecurityGroupRuleError(ValueError):
    """A rule that would break the platform's network policy."""


@dataclass(frozen=True)
class Rule:
    """One allowed flow. Exactly one of ``security_groups``/``cidrs`` names the peers.

    ``security_groups`` and ``cidrs`` map a peer name (used in the rule's logical name) to a
    security group id or a CIDR.
    """

    name: str
    from_port: int
    to_port: int | None = None
    protocol: str = "tcp"
    security_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    cidrs: Mapping[str, str] = field(default_factory=dict)
    prefix_lists: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    description: str = ""

    @property
    def last_port(self) -> int:
        return self.from_port if self.to_port is None else self.to_port


def _check_rule(group: str, rule: Rule, *, internet_facing_web: bool, ingress: bool) -> None:
    where = f"security group '{group}', rule '{rule.name}'"
    if not _NAME.match(rule.name):
        raise SecurityGroupRuleError(f"{where}: rule names are lowercase letters, digits and '-'")
    if rule.protocol not in ("tcp", "udp"):
        raise SecurityGroupRuleError(
            f"{where}: protocol must be tcp or udp; all-protocol rules are not allowed"
        )
    if not 0 < rule.from_port <= rule.last_port <= 65535:
        raise SecurityGroupRuleError(f"{where}: ports must satisfy 1 <= from <= to <= 65535")
    ports = set(range(rule.from_port, rule.last_port + 1))
    if ingress and ports & FORBIDDEN_PORTS:
        raise SecurityGroupRuleError(
            f"{where}: ports {sorted(ports & FORBIDDEN_PORTS)} are never opened; "
            "use SSM Session Manager for shell access"
        )
    if not (rule.security_groups or rule.cidrs or rule.prefix_lists):
        raise SecurityGroupRuleError(
            f"{where}: names no peer (security group, CIDR or prefix list)"
        )
    for peer, cidr in rule.cidrs.items():
        try:
            net = ipaddress.ip_network(cidr)
        except ValueError as exc:
            raise SecurityGroupRuleError(
                f"{where}: peer '{peer}' has invalid CIDR {cidr!r}"
            ) from exc
        if (
            str(net) in OPEN_CIDRS
            and ingress
            and not (internet_facing_web and ports <= INTERNET_WEB_PORTS)
        ):
            raise SecurityGroupRuleError(
                f"{where}: {cidr} as a source is only allowed for an internet-facing "
                "load balancer on ports 80/443; name the client CIDRs instead"
            )


def restricted_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    description: str,
    context: StackContext,
    component: str,
    ingress: Sequence[Rule] = (),
    egress: Sequence[Rule] = (),
    internet_facing_web: bool = False,
    parent: pulumi.Resource,
) -> aws.ec2.SecurityGroup:
    """A security group with exactly the given rules (no default allow-all egress).

    Raises :class:`SecurityGroupRuleError` before registering anything if a rule breaks the
    policy above.
    """
    for rule in ingress:
        _check_rule(name, rule, internet_facing_web=internet_facing_web, ingress=True)
    for rule in egress:
        _check_rule(name, rule, internet_facing_web=internet_facing_web, ingress=False)
    _check_unique(name, [*ingress, *egress])

    group = aws.ec2.SecurityGroup(
        name,
        vpc_id=vpc_id,
        description=description,
        # the provider revokes AWS's default allow-all egress when no egress block is given
        revoke_rules_on_delete=True,
        tags=context.tags(component, Name=name),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for direction, rules in (("in", ingress), ("out", egress)):
        for rule in rules:
            _register_rule(name, group, direction, rule, context, component, parent)
    return group


def _check_unique(group: str, rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise SecurityGroupRuleError(
                f"security group '{group}': rule name '{rule.name}' repeats"
            )
        seen.add(rule.name)


def _register_rule(
    group_name: str,
    group: aws.ec2.SecurityGroup,
    direction: str,
    rule: Rule,
    context: StackContext,
    component: str,
    parent: pulumi.Resource,
) -> None:
    cls = aws.vpc.SecurityGroupIngressRule if direction == "in" else aws.vpc.SecurityGroupEgressRule
    common: dict[str, Any] = {
        "security_group_id": group.id,
        "ip_protocol": rule.protocol,
        "from_port": rule.from_port,
        "to_port": rule.last_port,
        "description": rule.description or rule.name,
    }
    opts = pulumi.ResourceOptions(parent=parent)
    for peer, sg_id in rule.security_groups.items():
        cls(
            f"{group_name}-{direction}-{rule.name}-{peer}",
            referenced_security_group_id=sg_id,
            tags=context.tags(component),
            opts=opts,
            **common,
        )
    for peer, cidr in rule.cidrs.items():
        net = ipaddress.ip_network(cidr)
        cidr_arg: dict[str, Any] = (
            {"cidr_ipv6": str(net)} if net.version == 6 else {"cidr_ipv4": str(net)}
        )
        cls(
            f"{group_name}-{direction}-{rule.name}-{peer}",
            tags=context.tags(component),
            opts=opts,
            **cidr_arg,
            **common,
        )
    for peer, prefix_list in rule.prefix_lists.items():
        cls(
            f"{group_name}-{direction}-{rule.name}-{peer}",
            prefix_list_id=prefix_list,
            tags=context.tags(component),
            opts=opts,
            **common,
        )
