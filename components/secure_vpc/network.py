"""The plan of one VPC: every fact of a SecureVpc known before it exists.

``plan_network`` turns the settings and what the VPC must admit (on-prem ranges, the data
tier's services, DMS source engines) into a :class:`NetworkPlan`: its subnets, NAT gateways
and the numbered NACL rules of every tier (``plan.py``'s tables). The stack loader and the
component plan with the same function; consumers read the plan from ``vpc.ref.plan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..core.onprem import OnPremNetwork
from .plan import (
    FIREWALL_SLOT,
    FIREWALL_TIER,
    STANDARD_TIER_SLOTS,
    NaclInputs,
    NaclRule,
    TierSpec,
    parse_port_range,
    plan_nacl_rules,
    subnet_cidr,
    tier_block,
)
from .settings import SecureVpcSettings


@dataclass(frozen=True)
class NetworkPlan:
    """Every fact of a SecureVpc that is known before it exists: what consumers read from
    ``vpc.ref`` and what every component's checks hold their needs against."""

    vpc_cidr: str
    availability_zones: tuple[str, ...]
    tier_slots: Mapping[str, int]
    nat_azs: tuple[str, ...]  # AZ letters with a NAT gateway
    nat_tiers: frozenset[str]  # tiers whose default route goes through NAT
    app_ports: tuple[int, int]  # the port range the app tier's NACLs admit
    on_prem: Mapping[str, OnPremNetwork] = field(default_factory=dict)
    on_prem_access: frozenset[str] = frozenset()  # tiers that admit the on-prem ranges
    data_services: tuple[str, ...] = ()  # services the data tier's NACLs admit
    dms_source_engines: tuple[str, ...] = ()  # on-prem engines the data tier may reach
    dms_target_services: tuple[str, ...] = ()  # stores DMS writes to, inside the data tier
    nacl_rules: tuple[NaclRule, ...] = ()
    #: AZ letters with an egress firewall endpoint (the NAT AZs, when the egress is
    #: filtered; empty otherwise): the firewall tier has subnets there only
    firewall_azs: tuple[str, ...] = ()
    #: interface endpoint services the VPC has (in the app tier, private DNS on)
    interface_endpoints: tuple[str, ...] = ()

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(self.tier_slots)

    @property
    def egress_firewall(self) -> bool:
        """Whether the NAT'd tiers reach the internet through an AWS Network Firewall."""
        return bool(self.firewall_azs)

    def tier_azs(self, tier: str) -> tuple[str, ...]:
        """The AZ letters where ``tier`` has subnets: every AZ, except the firewall tier
        (only where a firewall endpoint is)."""
        return self.firewall_azs if tier == FIREWALL_TIER else self.availability_zones

    def egress_az(self, az: str) -> str:
        """The AZ whose NAT gateway (and firewall endpoint) carries AZ ``az``'s egress: its
        own, or with a `Single` NAT the NAT's."""
        return az if az in self.nat_azs else min(self.nat_azs)

    @property
    def tier_cidrs(self) -> dict[str, str]:
        """Tier -> the tier's block (covers its subnets in every AZ, present and future)."""
        return {t: str(tier_block(self.vpc_cidr, slot)) for t, slot in self.tier_slots.items()}

    def subnet_cidrs(self) -> dict[tuple[str, str], str]:
        """(tier, AZ letter) -> CIDR, for every subnet of the VPC."""
        return {
            (tier, az): subnet_cidr(self.vpc_cidr, slot, az)
            for tier, slot in self.tier_slots.items()
            for az in self.tier_azs(tier)
        }

    @property
    def on_prem_cidrs(self) -> dict[str, str]:
        """Every declared on-prem range by name."""
        return {name: net.cidr for name, net in self.on_prem.items()}

    def on_prem_admitted(self, tier: str) -> dict[str, str]:
        """The on-prem ranges the tier's NACLs admit (none unless the tier is in onPremAccess)."""
        return self.on_prem_cidrs if tier in self.on_prem_access else {}


def plan_network(
    settings: SecureVpcSettings,
    *,
    on_prem: Mapping[str, OnPremNetwork],
    data_services: Iterable[str],
    dms_source_engines: Iterable[str],
    dms_target_services: Iterable[str] = (),
) -> NetworkPlan:
    """The plan of a VPC: subnets, NAT, and the numbered NACL rules of every tier.

    Expects arguments that passed the SecureVpc checks (known services and engines).
    """
    app_from, app_to = parse_port_range(settings.app_ports)
    services = tuple(sorted(set(data_services)))
    engines = tuple(sorted(set(dms_source_engines)))
    targets = tuple(sorted(set(dms_target_services)))
    nat_available = settings.nat_gateways != "None"
    firewall = nat_available and settings.egress_firewall.enabled
    tier_slots = {**STANDARD_TIER_SLOTS, **{n: t.slot for n, t in settings.extra_tiers.items()}}
    if firewall:
        tier_slots[FIREWALL_TIER] = FIREWALL_SLOT
    tiers: dict[str, TierSpec] = {}
    for tier, slot in tier_slots.items():
        extra = settings.extra_tiers.get(tier)
        ingress = parse_port_range(extra.ingress_ports) if extra and extra.ingress_ports else (0, 0)
        tiers[tier] = TierSpec(
            name=tier,
            slot=slot,
            cidr=str(tier_block(settings.vpc_cidr, slot)),
            nat_egress=bool(extra and extra.nat_egress),
            ingress_from=ingress[0],
            ingress_to=ingress[1],
        )
    rules = plan_nacl_rules(
        NaclInputs(
            vpc_cidr=settings.vpc_cidr,
            tiers=tiers,
            app_port_from=app_from,
            app_port_to=app_to,
            nat_available=nat_available,
            on_prem={n: (o.cidr, o.nacl_slot) for n, o in on_prem.items()},
            on_prem_to_app="app" in settings.on_prem_access,
            on_prem_to_data="data" in settings.on_prem_access,
            data_services=services,
            dms_source_engines=engines,
            dms_target_services=targets,
            firewall=firewall,
        )
    )
    azs = tuple(settings.availability_zones)
    if settings.nat_gateways == "OnePerAz":
        nat_azs = azs
    elif settings.nat_gateways == "Single":
        nat_azs = (sorted(azs)[0],)
    else:
        nat_azs = ()
    nat_tiers = {t for t, spec in tiers.items() if spec.nat_egress}
    if nat_available:
        nat_tiers.add("app")
    return NetworkPlan(
        vpc_cidr=settings.vpc_cidr,
        availability_zones=azs,
        tier_slots=tier_slots,
        nat_azs=nat_azs,
        nat_tiers=frozenset(nat_tiers if nat_available else set()),
        app_ports=(app_from, app_to),
        on_prem=dict(on_prem),
        on_prem_access=frozenset(settings.on_prem_access),
        data_services=services,
        dms_source_engines=engines,
        dms_target_services=targets,
        nacl_rules=tuple(rules),
        firewall_azs=nat_azs if firewall else (),
        interface_endpoints=tuple(settings.interface_endpoints),
    )
