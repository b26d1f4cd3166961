"""Shared building blocks for every component: settings base model, stack context, tags.

Everything here is plain data or tiny helpers so that an application team can reuse one
component in its own program without adopting the whole platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

import pulumi
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    InstanceOf,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from .environment import apply_defaults

Environment = Literal["prod", "nonprod"]
#: PCI DSS scope: stores, processes or transmits card data; connected to the CDE; neither.
DataClassification = Literal["cde", "connected", "out-of-scope"]

PROJECT_TAG = "payments-platform"


#: CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


def check_log_retention(days: int) -> int:
    """``days`` if CloudWatch Logs accepts it as a retention; otherwise a ValueError."""
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"{days} is not a CloudWatch Logs retention; use one of {LOG_RETENTION_DAYS} "
            "(PCI DSS 10.5.1 asks for at least 365)"
        )
    return days


class SettingsModel(BaseModel):
    """Base for every settings model: immutable, no unknown keys, camelCase keys as in YAML.

    Built from Python, fields take their Python names (``engine_version=...``) and errors
    name them so; read from a stack file, the camelCase aliases (``engineVersion``) apply.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=False,
        # error locations in Python names; the stack loader shows them as stack-file keys
        loc_by_alias=False,
        arbitrary_types_allowed=True,
    )

    #: Cheaper values for nonprod wherever the caller is silent (Python field names; see
    #: components.core.environment). Empty: the same defaults in every environment.
    NONPROD_DEFAULTS: ClassVar[Mapping[str, Any]] = {}

    def for_environment(self, environment: str) -> Self:
        """These settings with the environment's defaults filled in where the caller was
        silent; unchanged in prod (the model defaults are the prod values)."""
        if environment != "nonprod" or not self.NONPROD_DEFAULTS:
            return self
        explicit = self.model_dump(exclude_unset=True)
        return self.model_validate(apply_defaults(explicit, self.NONPROD_DEFAULTS))


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
    data_classification: DataClassification = Field(
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


#: A setting a stack file holds as a string, or a Pulumi Output another resource or stack
#: produces (a certificate created in the same program, a role read from another stack).
#: Annotate it with :class:`WhenKnown` for the check of its format.
StrInput = str | InstanceOf[pulumi.Output[Any]]


@dataclass(frozen=True)
class WhenKnown:
    """``Annotated[StrInput, WhenKnown(check, example)]``: a str is checked at once with
    ``check``; an Output passes, and the component checks it when it resolves
    (:func:`checked_input`). The stack file's JSON schema sees a string."""

    check: Callable[[str], str]
    example: str

    def _known(self, value: str | pulumi.Output[Any]) -> str | pulumi.Output[Any]:
        return self.check(value) if isinstance(value, str) else value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._known, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "examples": [self.example]}


def pattern_check(pattern: str, what: str, example: str) -> Callable[[str], str]:
    """A check for :class:`WhenKnown`: ``value`` must match ``pattern``."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"{value!r} is not {what} like {example}")
        return value

    return check


def checked_input(
    value: str | pulumi.Output[Any] | None, check: Callable[[str], str]
) -> pulumi.Input[str] | None:
    """``value`` as a resource input; an Output is checked with ``check`` when it resolves,
    so a wrong ARN from another stack fails the deploy with the same message."""
    if isinstance(value, pulumi.Output):
        return value.apply(lambda v: check(str(v)))
    return value


STANDARD_TAG_KEYS = (
    "environment",
    "project",
    "component",
    "data-classification",
    "owner",
    "managed-by",
)


def stateful_opts(
    parent: pulumi.Resource, context: StackContext, **kwargs: Any
) -> pulumi.ResourceOptions:
    """Options for stateful children (keys, log groups, databases): protected in prod.

    PCI DSS 10.5.1 and 3.x: audit logs and the keys that encrypt card data must not disappear
    through a mistaken `pulumi destroy` or a refactor that renames a resource.
    """
    return pulumi.ResourceOptions(parent=parent, protect=context.is_prod, **kwargs)
