"""Shared building blocks for every component: settings base model, stack context, tags.

Everything here is plain data or tiny helpers so that an application team can reuse one
component in its own program without adopting the whole platform.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

Environment = Literal["prod", "nonprod"]

PROJECT_TAG = "payments-platform"


#: CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


def check_log_retention(key: str, days: int) -> int:
    """``days`` if CloudWatch Logs accepts it as a retention; otherwise an error naming ``key``."""
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"{key}: {days} is not a CloudWatch Logs retention; use one of {LOG_RETENTION_DAYS} "
            "(PCI DSS 10.5.1 asks for at least 365)"
        )
    return days


class SettingsModel(BaseModel):
    """Base for every settings model: immutable, no unknown keys, camelCase keys as in YAML."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=False,
    )


class StackContext(SettingsModel):
    """Who owns what a component creates, and how carefully it must be kept.

    Passed to every component as ``context=``; it drives the standard tags and whether
    stateful resources are protected from deletion (prod).
    """

    environment: Environment = Field(
        default="prod",
        description="prod or nonprod. Prod protects stateful resources from deletion.",
    )
    project: str = Field(default=PROJECT_TAG, description="Project tag value.")
    owner: str = Field(
        default="platform-team",
        description="Team accountable for the resources (tag `owner`).",
        min_length=1,
    )
    data_classification: Literal["cde", "connected", "out-of-scope"] = Field(
        default="cde",
        description=(
            "PCI DSS scope of the stack: `cde` (stores, processes or transmits card data), "
            "`connected` (connected to the CDE), or `out-of-scope`."
        ),
    )
    extra_tags: dict[str, str] = Field(
        default_factory=dict,
        description="Additional tags put on every taggable resource (e.g. cost-centre).",
    )

    @field_validator("extra_tags")
    @classmethod
    def _no_reserved_tags(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = set(STANDARD_TAG_KEYS) & set(value)
        if reserved:
            raise ValueError(
                f"extraTags may not redefine the standard tags {sorted(reserved)}; "
                "set environment/owner/dataClassification instead"
            )
        return value

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    def tags(self, component: str, **extra: str) -> dict[str, str]:
        """The standard tag set for a resource of ``component`` (plus a Name, if given)."""
        tags = {
            "environment": self.environment,
            "project": self.project,
            "component": component,
            "data-classification": self.data_classification,
            "owner": self.owner,
            "managed-by": "pulumi",
            **self.extra_tags,
        }
        tags.update(extra)
        return tags


STANDARD_TAG_KEYS = (
    "environment",
    "project",
    "component",
    "data-classification",
    "owner",
    "managed-by",
)


def child_opts(
    parent: pulumi.Resource,
    *,
    protect: bool = False,
    depends_on: list[pulumi.Resource] | None = None,
    **kwargs: Any,
) -> pulumi.ResourceOptions:
    """Options for a component's child: always parented, optionally protected."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=depends_on, **kwargs)


def stateful_opts(
    parent: pulumi.Resource, context: StackContext, **kwargs: Any
) -> pulumi.ResourceOptions:
    """Options for stateful children (keys, log groups, databases): protected in prod.

    PCI DSS 10.5.1 and 3.x: audit logs and the keys that encrypt card data must not disappear
    through a mistaken `pulumi destroy` or a refactor that renames a resource.
    """
    return child_opts(parent, protect=context.is_prod, **kwargs)
