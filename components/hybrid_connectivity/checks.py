"""Every rule of a HybridConnectivity, as pure functions returning problems.

Called by :class:`~components.hybrid_connectivity.HybridConnectivity` before it registers
anything, and by a stack loader gathering the checks of a whole stack. Each rule is written
once, here.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from ..core.environment import PCI_RETENTION, EnvRule, broken_rules, one
from ..core.problems import Problem, at
from ..core.settings import StackContext
from ..secure_vpc.plan import NetworkPlan
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
    private = [t for t in network.tiers if t != "public"]
    for tier in settings.route_propagation_tiers:
        if tier not in network.tier_slots:
            problems.append(
                Problem(
                    at("route_propagation_tiers"),
                    f"the network has no tier {tier!r}; use one of {', '.join(sorted(private))}",
                )
            )
    return problems


def check_keys(settings: HybridConnectivitySettings, keys: PreSharedKeys) -> list[Problem]:
    """Keys given for known gateways, a pair each, each as AWS accepts (never shown)."""
    problems: list[Problem] = []
    for gw_name, pair in keys.items():
        where = ("pre_shared_keys", gw_name)
        if gw_name not in settings.customer_gateways:
            problems.append(Problem(where, f"there is no customer gateway {gw_name!r}"))
            continue
        if len(pair) != 2:
            problems.append(Problem(where, "must be (tunnel1 key, tunnel2 key)"))
            continue
        for tunnel, value in zip(TUNNELS, pair, strict=True):
            if isinstance(value, str):
                try:
                    check_preshared_key(tunnel, value)
                except ValueError as err:
                    problems.append(Problem(where, str(err)))
    return problems


def check(
    name: str,
    settings: HybridConnectivitySettings,
    *,
    context: StackContext,
    network: NetworkPlan,
    pre_shared_keys: PreSharedKeys,
) -> list[Problem]:
    """Every problem of the link to on-prem. ``settings`` are the environment's
    (``settings.for_environment(...)``)."""
    problems = check_wiring(settings, network) + check_keys(settings, pre_shared_keys)
    if context.is_prod:
        problems += broken_rules(PROD_RULES, settings)
    return problems
