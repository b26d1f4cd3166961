"""Load a stack: its settings, its secrets, and every component's own checks, before anything
is registered.

``load_stack()`` is the first thing ``__main__.py`` does. The loader holds no rule of a
component: it runs each component's ``checks`` with the references the stack will build
(the network planned once, the data services each app reaches) and shows every problem
under the stack-file key the caller wrote. What it adds spans the stack: the secrets in
config and the names it gives the components.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pydantic import BaseModel

from components import (
    HaAppTierSettings,
    HybridConnectivitySettings,
    LandingZoneSettings,
    ManagedDataTierSettings,
    NetworkPlan,
    SecureVpcSettings,
    ha_app_tier,
    hybrid_connectivity,
    landing_zone,
    managed_data_tier,
    secure_vpc,
)
from components.core.problems import Problem, at, config_line

from .settings import (
    NAMESPACE,
    ConfigError,
    StackSettings,
    load_stack_settings,
    stack_name_problems,
)

PreSharedKeys = Mapping[str, tuple[pulumi.Output[str], pulumi.Output[str]]]


@dataclass(frozen=True)
class Stack:
    """What the program is built from: checked settings, secrets and the planned network."""

    settings: StackSettings
    pre_shared_keys: PreSharedKeys
    network: NetworkPlan | None  # None in a management stack

    @property
    def name(self) -> str:
        """The name every workload component of the stack takes: its environment."""
        return self.settings.environment

    @property
    def landing_zone_name(self) -> str:
        return "management" if self.settings.stack_role == "management" else self.name

    def app_data_services(self, app: str) -> list[str]:
        """The data services app ``app`` is a client of: its instances' egress."""
        return self.settings.data_tier.services_of_client(app)


class _Report:
    """Problems of every component, each under the stack-file key of its settings."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, model: type[BaseModel], section: str, problems: Sequence[Problem]) -> None:
        prefix = f"{NAMESPACE}:{section}"
        self.lines += [config_line(p, model, prefix) for p in problems]


def preflight(settings: StackSettings, pre_shared_keys: PreSharedKeys) -> Stack:
    """Run every component's checks against the stack it will be part of."""
    report = _Report()
    context = settings.context
    env = settings.environment
    if settings.stack_role == "management":
        stack = Stack(settings, pre_shared_keys, None)
    else:
        data = settings.data_tier
        network, problems = secure_vpc.plan_and_check(
            env,
            settings.network,
            context=context,
            on_prem=settings.hybrid.on_prem_networks,
            data_services=data.data_services(),
            dms_source_engines=data.dms_source_engines(),
            dms_target_services=data.dms_target_services(),
            region=settings.region,
        )
        # the network's on-prem ranges are hybrid.onPremNetworks: shown under that key
        on_prem = [
            Problem(at("on_prem_networks", *p.key[1:]), p.message)
            for p in problems
            if p.argument == "on_prem"
        ]
        report.add(SecureVpcSettings, "network", [p for p in problems if p.argument != "on_prem"])
        report.add(HybridConnectivitySettings, "hybrid", on_prem)
        if network is None:
            raise ConfigError(report.lines)
        stack = Stack(settings, pre_shared_keys, network)
        for app_name, app in settings.apps.items():
            problems = ha_app_tier.check(
                app_name,
                app,
                context=context,
                network=network,
                data_services=stack.app_data_services(app_name),
                region=settings.region,
            )
            report.add(HaAppTierSettings, f"apps.{app_name}", problems)
        problems = managed_data_tier.check(
            env,
            data,
            context=context,
            network=network,
            apps={app_name: stack.app_data_services(app_name) for app_name in settings.apps},
            region=settings.region,
        )
        report.add(ManagedDataTierSettings, "dataTier", problems)
        problems = hybrid_connectivity.check(
            env,
            settings.hybrid,
            context=context,
            network=network,
            pre_shared_keys=pre_shared_keys,
            apps=list(settings.apps),
        )
        report.add(HybridConnectivitySettings, "hybrid", problems)
    problems = landing_zone.check(stack.landing_zone_name, settings.landing_zone, context=context)
    report.add(LandingZoneSettings, "landingZone", problems)
    if report.lines:
        raise ConfigError(report.lines)
    return stack


def load_stack() -> Stack:
    """Read and check the running stack's config; raise ConfigError listing every problem."""
    settings = load_stack_settings()
    named = stack_name_problems(pulumi.get_stack(), settings)
    if named:
        raise ConfigError(named)
    try:
        keys = hybrid_connectivity.preshared_keys_from_config(
            settings.hybrid, config=pulumi.Config(NAMESPACE)
        )
    except ValueError as err:
        raise ConfigError([str(err)]) from None
    return preflight(settings, keys)
