"""Every rule of a HybridConnectivity, as pure functions returning problems.

Called by :class:`~components.hybrid_connectivity.HybridConnectivity` before it registers
anything, and by a stack loader gathering the checks of a whole stack. Each rule is written
once, here; ``settings.py`` keeps only the format of single fields.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping

import pulumi

from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, one
from ..core.onprem import ON_PREM_NAME, on_prem_problems
from ..core.problems import Problem, at
from ..core.settings import StackContext
from ..secure_vpc.network import NetworkPlan
from ..secure_vpc.plan import STAGING_SLOT
from .settings import TUNNELS, HybridConnectivitySettings, check_preshared_key

PreSharedKeys = Mapping[str, tuple[pulumi.Input[str], pulumi.Input[str]]]

PROD_RULES: tuple[EnvRule[HybridConnectivitySettings], ...] = (
    one(
        "direct_connect.enabled",
        "prod reaches on-prem over Direct Connect or two VPN connections",
        lambda s: (
            not s.customer_gateways or s.direct_connect.enabled or len(s.customer_gateways) >= 2
        ),
    ),
    one(
        "customer_gateways",
        "prod with on-prem ranges keeps at least one Site-to-Site VPN (a pair of tunnels)",
        lambda s: not s.on_prem_networks or len(s.customer_gateways) >= 1,
    ),
    one(
        "tunnel_log_retention_days",
        f"prod keeps VPN tunnel logs >= 365 days {PCI_RETENTION}",
        lambda s: s.tunnel_log_retention_days >= 365,
    ),
)


def check_on_prem(settings: HybridConnectivitySettings) -> list[Problem]:
    """The on-prem ranges: DNS-like names, one NACL slot each, no two overlapping (the same
    rule SecureVpc applies to the ranges it is given)."""
    return [
        Problem(at("on_prem_networks", name), text)
        for name, text in on_prem_problems(settings.on_prem_networks)
    ]


def check_gateways(settings: HybridConnectivitySettings) -> list[Problem]:
    """Customer gateways: usable names, their own ASN, IP and tunnel inside /30s."""
    problems: list[Problem] = []
    public_ips: dict[str, str] = {}
    inside: dict[ipaddress.IPv4Network, str] = {}
    for gw_name, gw in settings.customer_gateways.items():
        if not ON_PREM_NAME.match(gw_name):
            problems.append(
                Problem(
                    at("customer_gateways", gw_name),
                    "the name must be 1-31 lowercase letters, digits and '-' starting with a "
                    "letter or digit; it becomes part of resource names",
                )
            )
        if gw.bgp_asn == settings.amazon_side_asn:
            problems.append(
                Problem(
                    at("customer_gateways", gw_name, "bgp_asn"),
                    f"{gw.bgp_asn} equals `amazon_side_asn`; the customer gateway and the "
                    "virtual private gateway need different ASNs",
                )
            )
        if gw.public_ip in public_ips:
            problems.append(
                Problem(
                    at("customer_gateways", gw_name, "public_ip"),
                    f"{gw.public_ip} is already used by "
                    f"`customer_gateways.{public_ips[gw.public_ip]}.public_ip`; each device "
                    "has its own IP",
                )
            )
        public_ips.setdefault(gw.public_ip, gw_name)
        if gw.routing == "static" and not settings.on_prem_networks:
            problems.append(
                Problem(
                    at("customer_gateways", gw_name, "routing"),
                    "is static but `on_prem_networks` is empty; static VPN routes come from "
                    "`on_prem_networks`: declare the ranges or use bgp",
                )
            )
        for tunnel in TUNNELS:
            field = f"{tunnel}_inside_cidr"
            cidr = ipaddress.IPv4Network(getattr(gw, field))
            if cidr in inside:
                problems.append(
                    Problem(
                        at("customer_gateways", gw_name, field),
                        f"{cidr} is already used by `{inside[cidr]}`; every tunnel on the "
                        "virtual private gateway needs its own inside /30",
                    )
                )
            inside.setdefault(cidr, f"customer_gateways.{gw_name}.{field}")
    return problems


def check_direct_connect(settings: HybridConnectivitySettings) -> list[Problem]:
    """The private VIF's BGP peers and circuit: distinct ASNs, a VLAN with the circuit, and
    peer addresses given together in one subnet."""
    dx = settings.direct_connect
    problems: list[Problem] = []
    if dx.amazon_side_asn == dx.customer_bgp_asn:
        problems.append(
            Problem(
                at("direct_connect", "customer_bgp_asn"),
                f"{dx.customer_bgp_asn} equals `direct_connect.amazon_side_asn`; the two BGP "
                "peers need different ASNs",
            )
        )
    if dx.connection_id is not None and not dx.enabled:
        problems.append(
            Problem(
                at("direct_connect", "connection_id"),
                "is set but `direct_connect.enabled` is false; enable Direct Connect or remove "
                "the connection id",
            )
        )
    if dx.connection_id is not None and dx.vlan is None:
        problems.append(
            Problem(
                at("direct_connect", "vlan"),
                "is required with `direct_connect.connection_id`: give the 802.1Q VLAN the "
                "circuit's provider assigned to the private virtual interface",
            )
        )
    if dx.amazon_address is None and dx.customer_address is not None:
        problems.append(_peer_pair_problem("amazon_address", "customer_address"))
    elif dx.customer_address is None and dx.amazon_address is not None:
        problems.append(_peer_pair_problem("customer_address", "amazon_address"))
    elif dx.amazon_address is not None and dx.customer_address is not None:
        amazon = ipaddress.IPv4Interface(dx.amazon_address)
        customer = ipaddress.IPv4Interface(dx.customer_address)
        if amazon.network != customer.network or amazon.ip == customer.ip:
            problems.append(
                Problem(
                    at("direct_connect", "customer_address"),
                    f"{customer} must be another address of the subnet of "
                    f"`direct_connect.amazon_address` ({amazon}): the BGP peers share one "
                    "subnet",
                )
            )
    return problems


def _peer_pair_problem(missing: str, given: str) -> Problem:
    return Problem(
        at("direct_connect", missing),
        f"is required with `direct_connect.{given}`: set both or neither (AWS then assigns a "
        "169.254.0.0/16 pair)",
    )


def check_wiring(settings: HybridConnectivitySettings, network: NetworkPlan) -> list[Problem]:
    """The network was built with the same on-prem ranges, and has the tiers to route to."""
    problems: list[Problem] = []
    declared = {n: net.cidr for n, net in settings.on_prem_networks.items()}
    if network.on_prem_cidrs != declared:
        problems.append(
            Problem(
                at("on_prem_networks"),
                "differs from the ranges the network was built with; pass the same "
                "`on_prem_networks` to SecureVpc(on_prem=...) so NACLs and VPN routes read "
                "one list",
            )
        )
    private = [t for t in network.tiers if t not in ("public", "firewall")]
    for tier in settings.route_propagation_tiers:
        if tier not in network.tier_slots:
            problems.append(
                Problem(
                    at("route_propagation_tiers"),
                    f"the network has no tier {tier!r}; use one of {', '.join(sorted(private))}",
                )
            )
    return problems


def check_keys(settings: HybridConnectivitySettings, keys: object) -> list[Problem]:
    """Keys given for known gateways, a pair each, each as AWS accepts it (never shown; a key
    given as an Output is checked when it resolves)."""
    if not isinstance(keys, Mapping):
        return [
            Problem(
                ("pre_shared_keys",),
                "expected a mapping of customer gateway name to (tunnel1 key, tunnel2 key)",
            )
        ]
    problems: list[Problem] = []
    for gw_name, pair in keys.items():
        where = ("pre_shared_keys", gw_name)
        if gw_name not in settings.customer_gateways:
            known = ", ".join(sorted(settings.customer_gateways)) or "none"
            problems.append(
                Problem(where, f"there is no customer gateway {gw_name!r} (gateways: {known})")
            )
            continue
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            problems.append(Problem(where, "must be a pair (tunnel1 key, tunnel2 key)"))
            continue
        for tunnel, value in zip(TUNNELS, pair, strict=True):
            if isinstance(value, str):
                try:
                    check_preshared_key(value)
                except ValueError as err:
                    problems.append(Problem(where, f"{tunnel}: {err}"))
    return problems


def migration_sources(settings: HybridConnectivitySettings) -> dict[str, str]:
    """The on-prem ranges (name -> CIDR) whose servers replicate to the staging area."""
    migration = settings.migration
    if migration is None:
        return {}
    names = migration.source_networks or sorted(settings.on_prem_networks)
    return {n: settings.on_prem_networks[n].cidr for n in names if n in settings.on_prem_networks}


def check_migration(
    settings: HybridConnectivitySettings,
    *,
    context: StackContext,
    network: NetworkPlan | None,
    apps: Collection[str] | None,
) -> list[Problem]:
    """The rehost landing area: its sources are declared on-prem ranges reached over VPN or
    DX, its tier slot is free, its waves land in apps that exist, and someone may install
    the agents. ``apps`` None: the caller passed no apps, and waves cannot be checked."""
    migration = settings.migration
    if migration is None:
        return []
    problems: list[Problem] = []
    known = ", ".join(sorted(settings.on_prem_networks)) or "none"
    if not settings.on_prem_networks:
        problems.append(
            Problem(
                at("migration"),
                "needs `on_prem_networks`: the staging area admits replication only from "
                "declared on-prem ranges; declare them first",
            )
        )
    for source in migration.source_networks or []:
        if source not in settings.on_prem_networks:
            problems.append(
                Problem(
                    at("migration", "source_networks"),
                    f"{source!r} is not in `on_prem_networks` (declared: {known})",
                )
            )
    if not settings.customer_gateways and settings.direct_connect.connection_id is None:
        problems.append(
            Problem(
                at("migration"),
                "replication must travel over VPN or Direct Connect (MGN with private IPs): "
                "declare `customer_gateways` or `direct_connect.connection_id` first",
            )
        )
    if not migration.agent_installers and not context.administrators:
        problems.append(
            Problem(
                at("migration", "agent_installers"),
                "is empty and the stack names no administrators: name the IAM roles that may "
                "assume the agent-installation role",
            )
        )
    placed: dict[str, str] = {}
    for wave_name, wave in migration.waves.items():
        if apps is not None and wave.app not in apps:
            choices = ", ".join(sorted(apps)) or "none"
            problems.append(
                Problem(
                    at("migration", "waves", wave_name, "app"),
                    f"there is no app {wave.app!r} (apps: {choices}); a wave lands in one of "
                    "the stack's apps",
                )
            )
        for server in wave.source_servers:
            if server in placed:
                problems.append(
                    Problem(
                        at("migration", "waves", wave_name, "source_servers"),
                        f"{server} is already in wave {placed[server]!r}; a server is cut "
                        "over once",
                    )
                )
            placed.setdefault(server, wave_name)
    if apps is None and migration.waves:
        problems.append(
            Problem(
                ("apps",),
                "the migration's waves land in apps: pass apps={name: app.ref, ...}",
            )
        )
    if network is not None:
        problems += _migration_network(settings, network)
    return problems


def _migration_network(settings: HybridConnectivitySettings, network: NetworkPlan) -> list[Problem]:
    migration = settings.migration
    assert migration is not None
    problems: list[Problem] = []
    taken = [t for t, slot in network.tier_slots.items() if slot == STAGING_SLOT]
    if taken:
        problems.append(
            Problem(
                at("migration"),
                f"the staging area takes tier block {STAGING_SLOT}, which the network's tier "
                f"{taken[0]!r} holds; give that extra tier another slot (3-5) or remove it",
            )
        )
    azs = network.availability_zones
    if migration.staging_az is not None and migration.staging_az not in azs:
        problems.append(
            Problem(
                at("migration", "staging_az"),
                f"{migration.staging_az!r} is not an AZ of the network ({', '.join(azs)})",
            )
        )
    return problems


def check(
    name: str,
    settings: HybridConnectivitySettings,
    *,
    context: StackContext,
    network: NetworkPlan | None,
    pre_shared_keys: PreSharedKeys,
    apps: Collection[str] | None = None,
) -> list[Problem]:
    """Every problem of the link to on-prem. ``settings`` are the environment's
    (``settings.for_environment(...)``); without ``network`` (the caller passed no
    ``vpc.ref``) the rules about the network are skipped."""
    problems = (
        check_on_prem(settings)
        + check_gateways(settings)
        + check_direct_connect(settings)
        + check_keys(settings, pre_shared_keys)
        + check_migration(settings, context=context, network=network, apps=apps)
    )
    if network is not None:
        problems += check_wiring(settings, network)
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    return problems
