"""On-premises address ranges: declared once (in HybridConnectivity's settings) and consumed
by SecureVpc's NACLs and by every security group that admits on-prem clients or DMS sources."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from pydantic import Field, field_validator

from .settings import SettingsModel

ON_PREM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")

#: NACL rule numbers of an on-prem range: (ON_PREM_PEER_BASE + naclSlot) * 100 + port slot.
ON_PREM_PEER_BASE = 20
#: The largest slot that keeps rule numbers below 10000.
MAX_ON_PREM_SLOT = 99 - ON_PREM_PEER_BASE


class OnPremNetwork(SettingsModel):
    """One specific on-prem range allowed into the VPC."""

    cidr: str = Field(description="The on-prem IPv4 range, e.g. 172.16.10.0/24.")
    nacl_slot: int = Field(
        ge=1,
        le=MAX_ON_PREM_SLOT,
        description=(
            "Fixed position of this range in every NACL's rule numbers (rule = (20+slot)*100 + "
            "port slot). Never reuse or change a slot; a new range takes a new slot, so no "
            "existing NACL rule is renumbered."
        ),
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not an IPv4 network in CIDR form with host bits zero "
                f"(e.g. 172.16.0.0/20): {exc}"
            ) from exc
        if net.prefixlen == 0:
            raise ValueError("0.0.0.0/0 is not a specific on-prem range; list the real ranges")
        return str(net)


def on_prem_problems(networks: Mapping[str, OnPremNetwork]) -> list[tuple[str, str]]:
    """(range name, problem) for names that are not DNS-like, slots used twice and ranges
    that overlap each other."""
    problems: list[tuple[str, str]] = []
    for name in networks:
        if not ON_PREM_NAME.match(name):
            problems.append(
                (
                    name,
                    f"on-prem range name {name!r} must be lowercase letters, digits and '-' "
                    "(it becomes part of resource names)",
                )
            )
    slots: dict[int, str] = {}
    for name, net in networks.items():
        if net.nacl_slot in slots:
            problems.append(
                (
                    name,
                    f"naclSlot {net.nacl_slot} is already used by {slots[net.nacl_slot]}; "
                    "give each range its own slot",
                )
            )
        slots.setdefault(net.nacl_slot, name)
    items = list(networks.items())
    for i, (a_name, a) in enumerate(items):
        for b_name, b in items[i + 1 :]:
            if ipaddress.ip_network(a.cidr).overlaps(ipaddress.ip_network(b.cidr)):
                problems.append(
                    (
                        a_name,
                        f"{a.cidr} overlaps {b_name} ({b.cidr}); on-prem ranges must be "
                        "specific and non-overlapping",
                    )
                )
    return problems
