"""Lookups over an offline plan that every part of the report shares.

A plan (``components.testing.Plan``) holds each resource's inputs as the engine receives
them: a reference to another resource is the id or ARN the mocks returned for it
(``sg-...``, ``arn:aws:kms:...:key/...``). :class:`PlanIndex` turns those values back into
the resources they name, so the diagrams, the inventory and the cost estimate follow the
same references AWS would, and every fact they show carries the URNs it came from.

Nothing here knows this platform's components: it reads AWS resource types and their
documented inputs, so it works for any program ``components.plan`` can plan, and a type it
does not know is still listed (inventoried, "not priced").
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..testing import Plan, Registered

#: Tag that carries a resource's data classification (the platform's standard tag set).
CLASSIFICATION_TAG = "data-classification"
INTERNET = ipaddress.ip_network("0.0.0.0/0")

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def short_type(type_: str) -> str:
    """``aws:ec2/subnet:Subnet`` -> ``ec2/Subnet``; other providers keep their token."""
    if type_.startswith("aws:"):
        module, _, name = type_[4:].partition(":")
        return f"{module.split('/')[0]}/{name}"
    return type_


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def number(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def ports(rule: Mapping[str, Any]) -> str:
    """``tcp 443`` / ``tcp 1024-65535`` / ``all`` from a rule's protocol and port inputs."""
    proto = str(rule.get("ipProtocol") or rule.get("protocol") or "")
    if proto in ("-1", "all", ""):
        return "all traffic"
    low, high = rule.get("fromPort"), rule.get("toPort")
    if low is None:
        return proto
    lo, hi = int(number(low)), int(number(high, number(low)))
    return f"{proto} {lo}" if lo == hi else f"{proto} {lo}-{hi}"


@dataclass(frozen=True)
class Admission:
    """One ingress rule of a security group: who it admits, on what."""

    rule: Registered
    group: Registered
    source_cidr: str | None
    source_group: Registered | None
    ports: str


def _inside(
    net: ipaddress.IPv4Network | ipaddress.IPv6Network,
    outer: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> bool:
    if isinstance(net, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return net.subnet_of(outer)
    if isinstance(net, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return net.subnet_of(outer)
    return False


class PlanIndex:
    """The custom resources of a plan with reference, tag and component lookups."""

    def __init__(self, plan: Plan, stack: str) -> None:
        self.plan = plan
        self.stack = stack
        # registration order varies between runs (the SDK registers concurrently): the
        # report sorts by URN so the same plan always gives the same text
        self.resources = sorted(
            (r for r in plan if r.custom and not r.type.startswith("pulumi:")), key=lambda r: r.urn
        )
        self._by_value: dict[str, Registered] = {}
        ambiguous: set[str] = set()
        for r in self.resources:
            echoed = {v for v in r.inputs.values() if isinstance(v, str)}
            for key, value in r.outputs.items():
                if not isinstance(value, str) or not value or value in echoed:
                    # an input echoed in the state names another resource (a logging
                    # configuration's id is its web ACL's ARN, a bucket logging's its bucket)
                    continue
                if key in ("id", "arn") or key.endswith("Arn"):
                    if value in self._by_value and self._by_value[value] is not r:
                        ambiguous.add(value)
                    self._by_value[value] = r
        for value in ambiguous:  # a value two resources share names neither
            del self._by_value[value]

    # --- references -------------------------------------------------------------------------

    def ref(self, value: Any) -> Registered | None:
        """The resource an input value (id or ARN) names, if the plan holds it."""
        return self._by_value.get(value) if isinstance(value, str) else None

    def refs(self, value: Any) -> list[Registered]:
        return [r for v in as_list(value) if (r := self.ref(v)) is not None]

    def of_type(self, *types: str) -> list[Registered]:
        return [r for r in self.resources if r.type in types]

    def named_urns(self, resources: Iterable[Registered]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.urn for r in resources))

    # --- components, tags -------------------------------------------------------------------

    def component_of(self, resource: Registered) -> str:
        """``<ComponentType> <name>`` of the nearest component ancestor, or ``(stack)``."""
        parent = resource.parent
        by_urn = {r.urn: r for r in self.plan}
        while parent and parent in by_urn:
            owner = by_urn[parent]
            if not owner.custom:
                return f"{owner.type.split(':')[-1]} {owner.name}"
            parent = owner.parent
        return "(stack)"

    @staticmethod
    def tags(resource: Registered) -> dict[str, str]:
        raw = resource.inputs.get("tags")
        if isinstance(raw, Mapping):
            return {str(k): str(v) for k, v in raw.items()}
        if isinstance(raw, list):  # Auto Scaling groups: [{key, value, propagateAtLaunch}]
            return {
                str(t["key"]): str(t.get("value", ""))
                for t in raw
                if isinstance(t, Mapping) and "key" in t
            }
        state = resource.inputs.get("desiredState")
        if resource.type == "aws:cloudcontrol/resource:Resource" and isinstance(state, str):
            # a CloudFormation type's tags: [{Key, Value}] in its desired state (MGN templates)
            cfn = json.loads(state).get("Tags")
            if isinstance(cfn, list):
                return {
                    str(t["Key"]): str(t.get("Value", ""))
                    for t in cfn
                    if isinstance(t, Mapping) and "Key" in t
                }
        return {}

    def classification(self, resource: Registered) -> str:
        return self.tags(resource).get(CLASSIFICATION_TAG, "")

    @cached_property
    def environment(self) -> str:
        """The stack's ``environment`` tag when its resources agree on one, else the stack."""
        found = {self.tags(r).get("environment") for r in self.resources} - {None, ""}
        return str(found.pop()) if len(found) == 1 else self.stack

    @cached_property
    def region(self) -> str:
        for r in self.resources:
            arn = r.outputs.get("arn")
            if isinstance(arn, str) and arn.count(":") >= 5 and arn.split(":")[3]:
                return arn.split(":")[3]
        return ""

    # --- networks ---------------------------------------------------------------------------

    @cached_property
    def vpc_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(str(v.inputs["cidrBlock"]))
            for v in self.of_type("aws:ec2/vpc:Vpc")
            if v.inputs.get("cidrBlock")
        ]

    @cached_property
    def hybrid(self) -> list[Registered]:
        """What links the VPC to on-premises networks: VPN connections, DX interfaces."""
        return self.of_type(
            "aws:ec2/vpnConnection:VpnConnection",
            "aws:directconnect/privateVirtualInterface:PrivateVirtualInterface",
            "aws:directconnect/transitVirtualInterface:TransitVirtualInterface",
        )

    def cidr_kind(self, cidr: str) -> str:
        """``internet``, ``vpc``, ``on-prem`` (a private range outside the VPC, reached over
        VPN or Direct Connect) or ``external`` (anything else)."""
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return "external"
        if net.prefixlen == 0:
            return "internet"
        if any(_inside(net, v) for v in self.vpc_networks):
            return "vpc"
        if net.is_private and self.hybrid:
            return "on-prem"
        return "external"

    # --- security groups --------------------------------------------------------------------

    @cached_property
    def admissions(self) -> dict[str, list[Admission]]:
        """Ingress rules by the URN of the security group they belong to."""
        found: dict[str, list[Admission]] = {}
        for rule in self.of_type(SG_INGRESS):
            group = self.ref(rule.inputs.get("securityGroupId"))
            if group is None:
                continue
            found.setdefault(group.urn, []).append(
                Admission(
                    rule=rule,
                    group=group,
                    source_cidr=rule.inputs.get("cidrIpv4") or rule.inputs.get("cidrIpv6"),
                    source_group=self.ref(rule.inputs.get("referencedSecurityGroupId")),
                    ports=ports(rule.inputs),
                )
            )
        for group in self.of_type(SG):  # inline rules of an aws.ec2.SecurityGroup
            for inline in as_list(group.inputs.get("ingress")):
                if not isinstance(inline, Mapping):
                    continue
                for cidr in as_list(inline.get("cidrBlocks")):
                    found.setdefault(group.urn, []).append(
                        Admission(group, group, str(cidr), None, ports(inline))
                    )
                for ref in self.refs(inline.get("securityGroups")):
                    found.setdefault(group.urn, []).append(
                        Admission(group, group, None, ref, ports(inline))
                    )
        return found

    @staticmethod
    def _group_ids(resource: Registered) -> list[Any]:
        inputs = resource.inputs
        ids: list[Any] = []
        for key in ("securityGroups", "vpcSecurityGroupIds", "securityGroupIds"):
            ids += as_list(inputs.get(key))
        vpc_options = inputs.get("vpcOptions")
        if isinstance(vpc_options, Mapping):
            ids += as_list(vpc_options.get("securityGroupIds"))
        for eni in as_list(inputs.get("networkInterfaces")):
            if isinstance(eni, Mapping):
                ids += as_list(eni.get("securityGroups"))
        state = inputs.get("desiredState")
        if resource.type == "aws:cloudcontrol/resource:Resource" and isinstance(state, str):
            # MGN's replication template places the replication servers MGN launches
            ids += as_list(json.loads(state).get("ReplicationServersSecurityGroupsIDs"))
        return ids

    def groups_of(self, resource: Registered) -> list[Registered]:
        """The security groups a resource (or its launch template) is placed in."""
        groups = [g for g in self.refs(self._group_ids(resource)) if g.type == SG]
        if resource.type == "aws:autoscaling/group:Group":
            template = resource.inputs.get("launchTemplate")
            if isinstance(template, Mapping):
                lt = self.ref(template.get("id"))
                if lt is not None:
                    groups += self.groups_of(lt)
        return list({g.urn: g for g in groups}.values())

    @cached_property
    def owners(self) -> dict[str, list[Registered]]:
        """Security group URN -> the resources placed in it (ASGs rather than templates)."""
        found: dict[str, list[Registered]] = {}
        for r in self.resources:
            if r.type in (SG, "aws:ec2/launchTemplate:LaunchTemplate"):
                continue
            for group in self.groups_of(r):
                found.setdefault(group.urn, []).append(r)
        return found

    def owner_names(self, group: Registered) -> str:
        owners = self.owners.get(group.urn, [])
        return ", ".join(o.name for o in owners) or group.name

    def reach(self) -> dict[str, dict[str, str]]:
        """Security group URN -> {``internet``/``on-prem``: how} for every group that admits
        the internet or an on-prem range, directly or through the groups it admits (a
        group admitting the ALB's group is reached from wherever the ALB is)."""
        reach: dict[str, dict[str, str]] = {}
        for urn, rules in self.admissions.items():
            for a in rules:
                if a.source_cidr:
                    kind = self.cidr_kind(a.source_cidr)
                    if kind in ("internet", "on-prem"):
                        reach.setdefault(urn, {}).setdefault(kind, f"{a.ports} direct")
        changed = True
        while changed:
            changed = False
            for urn, rules in self.admissions.items():
                for a in rules:
                    if a.source_group is None or a.source_group.urn not in reach:
                        continue
                    via = self.owner_names(a.source_group)
                    for kind in reach[a.source_group.urn]:
                        if kind not in reach.get(urn, {}):
                            reach.setdefault(urn, {})[kind] = f"via {via}"
                            changed = True
        return reach

    def __iter__(self) -> Iterator[Registered]:
        return iter(self.resources)
