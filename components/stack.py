"""Load a stack: settings, secrets, and every component's wiring checked before any resource.

``load_stack()`` is the first thing ``__main__.py`` does. Everything that can be wrong with a
stack file (a key, a rule, a store naming an app that does not exist, an ALB in a one-AZ
network) raises :class:`ConfigError` here, so a bad config registers nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi

from . import ha_app_tier, hybrid_connectivity, managed_data_tier
from .config import NAMESPACE, ConfigError, StackSettings, load_stack_settings
from .secure_vpc import NetworkRef, parse_port_range

PreSharedKeys = Mapping[str, tuple[pulumi.Output[str], pulumi.Output[str]]]


@dataclass(frozen=True)
class Stack:
    """What the program is built from."""

    settings: StackSettings
    pre_shared_keys: PreSharedKeys

    def app_on_prem_cidrs(self) -> dict[str, str]:
        """On-prem ranges an internal ALB admits: only when the network lets on-prem reach
        the app tier (otherwise the NACL drops that traffic anyway)."""
        if "app" not in self.settings.network.on_prem_access:
            return {}
        return {n: o.cidr for n, o in self.settings.hybrid.on_prem_networks.items()}


def _checked(section: str, check: Callable[[], None]) -> list[str]:
    """Run one component's wiring check; name the key under the namespace."""
    try:
        check()
    except ValueError as err:
        message = str(err)
        if not message.startswith(f"{section}."):
            message = f"{section}.{message}"
        return [f"{NAMESPACE}:{message}"]
    return []


def preflight(stack: Stack) -> None:
    """Every component's own wiring checks, against the network the stack will build."""
    settings = stack.settings
    network: NetworkRef = settings.network.planned_ref(settings.hybrid.on_prem_networks)
    app_ports = parse_port_range(settings.network.app_ports)
    problems: list[str] = []
    for name, app in settings.apps.items():
        problems += _checked(
            "apps",
            lambda name=name, app=app: ha_app_tier.check_wiring(  # type: ignore[misc]
                name,
                app,
                network,
                tuple(settings.app_data_services(name)),
                stack.app_on_prem_cidrs(),
                app_ports,
            ),
        )
    problems += _checked(
        "dataTier",
        lambda: managed_data_tier.check_wiring(
            settings.environment,
            settings.data_tier,
            environment=settings.environment,
            network=network,
            app_names=list(settings.apps),
            on_prem_cidrs=network.on_prem_cidrs,
        ),
    )
    problems += _checked(
        "hybrid",
        lambda: hybrid_connectivity.check_wiring(settings.hybrid, network, stack.pre_shared_keys),
    )
    if problems:
        raise ConfigError(problems)


def load_stack() -> Stack:
    """Read and check the running stack's config; raise ConfigError listing every problem."""
    settings = load_stack_settings()
    try:
        keys = hybrid_connectivity.preshared_keys_from_config(settings.hybrid)
    except ValueError as err:
        raise ConfigError([str(err)]) from None
    stack = Stack(settings=settings, pre_shared_keys=keys)
    preflight(stack)
    return stack
