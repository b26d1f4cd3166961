"""On-premises address ranges: declared once (in HybridConnectivity's settings) and consumed
by SecureVpc's NACLs and by every security group that admits on-prem clients or DMS sources."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator

from .base import SettingsModel
from .network_plan import MAX_ON_PREM_SLOT

ON_PREM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")


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


def check_on_prem_networks(networks: dict[str, OnPremNetwork]) -> None:
    """Names are DNS-like, slots are unique, ranges do not overlap each other."""
    for name in networks:
        if not ON_PREM_NAME.match(name):
            raise ValueError(
                f"on-prem range name {name!r} must be lowercase letters, digits and '-' "
                "(it becomes part of resource names)"
            )
    slots: dict[int, str] = {}
    for name, net in networks.items():
        if net.nacl_slot in slots:
            raise ValueError(
                f"{name}.naclSlot {net.nacl_slot} is already used by {slots[net.nacl_slot]}; "
                "give each range its own slot"
            )
        slots[net.nacl_slot] = name
    items = list(networks.items())
    for i, (a_name, a) in enumerate(items):
        for b_name, b in items[i + 1 :]:
            if ipaddress.ip_network(a.cidr).overlaps(ipaddress.ip_network(b.cidr)):
                raise ValueError(
                    f"{a_name} ({a.cidr}) overlaps {b_name} ({b.cidr}); on-prem ranges must be "
                    "specific and non-overlapping"
                )
