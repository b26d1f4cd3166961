"""HybridConnectivity settings: the on-prem ranges, declared once for the whole stack."""

from __future__ import annotations

from pydantic import Field, field_validator

from .base import SettingsModel
from .onprem import OnPremNetwork, check_on_prem_networks


class HybridConnectivitySettings(SettingsModel):
    """Settings of the link to the data centres (stack key `payments-platform:hybrid`)."""

    on_prem_networks: dict[str, OnPremNetwork] = Field(
        default_factory=dict,
        description=(
            "Specific on-prem ranges by name, e.g. `hcm-dc-apps: {cidr: 172.16.0.0/20, "
            "naclSlot: 1}`. The only place on-prem CIDRs are declared: NACLs, security groups "
            "and VPN routes all read them from here."
        ),
    )

    @field_validator("on_prem_networks")
    @classmethod
    def _networks(cls, value: dict[str, OnPremNetwork]) -> dict[str, OnPremNetwork]:
        check_on_prem_networks(value)
        return value
