"""Shared building blocks for every component: settings base model, stack context, tags.

Everything here is plain data or tiny helpers so that an application team can reuse one
component in its own program without adopting the whole platform.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Self

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    InstanceOf,
    ValidationInfo,
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


#: Whitespace a multi-line setting (a JSON document, a script) may hold; every other control
#: character is refused everywhere.
MULTILINE_WHITESPACE = frozenset("\n\r\t")


def control_character(value: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """Where ``value`` holds a control character (Unicode category Cc: C0, DEL, C1) other
    than ``allowed``, e.g. ``U+000A at position 7``; None when it holds none."""
    for position, char in enumerate(value):
        if char not in allowed and unicodedata.category(char) == "Cc":
            return f"U+{ord(char):04X} at position {position}"
    return None


def _refuse_control_characters(value: Any, allowed: frozenset[str]) -> None:
    """Strings, list items and mapping keys and string values of a raw setting; nested
    settings models (mappings of mappings) check their own fields."""
    if isinstance(value, str):
        texts = [("", value)]
    elif isinstance(value, Mapping):
        texts = [(f"key {k!r}: ", k) for k in value if isinstance(k, str)]
        texts += [(f"{k!r}: ", v) for k, v in value.items() if isinstance(v, str)]
    elif isinstance(value, (list, tuple)):
        texts = [(f"item {i}: ", v) for i, v in enumerate(value) if isinstance(v, str)]
    else:
        return
    for where, text in texts:
        found = control_character(text, allowed)
        if found:
            raise ValueError(
                f"{where}contains a control character ({found}); AWS refuses control "
                "characters in names, tags, paths and descriptions (or stores them and "
                "breaks what reads them): remove it"
            )


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
    #: Fields that may span lines (newlines and tabs allowed; no other control character).
    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        """One rule for every string setting of every component: no control characters (a
        newline pasted into a tag, a NUL in a name). AWS refuses them in tag values, names
        and paths, or stores them where logs, consoles and policies then misread them."""
        multiline = info.field_name in cls.MULTILINE_FIELDS
        _refuse_control_characters(value, MULTILINE_WHITESPACE if multiline else frozenset())
        return value

    def for_environment(self, environment: str) -> Self:
        """These settings with the environment's defaults filled in where the caller was
        silent; unchanged in prod (the model defaults are the prod values)."""
        if environment != "nonprod" or not self.NONPROD_DEFAULTS:
            return self
        explicit = self.model_dump(exclude_unset=True)
        return self.model_validate(apply_defaults(explicit, self.NONPROD_DEFAULTS))


# --- AWS tags ---------------------------------------------------------------------------------
# https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html ("Tag naming limits and
# requirements"): keys 1-128 and values 0-256 Unicode characters, of letters, digits, spaces
# and _ . : / = + - @; the `aws:` prefix is reserved for AWS; at most 50 tags per resource.
# Services with looser rules exist (EC2); these are the rules every taggable service accepts.

STANDARD_TAG_KEYS = (
    "environment",
    "project",
    "component",
    "data-classification",
    "owner",
    "managed-by",
)

TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
MAX_TAGS_PER_RESOURCE = 50
#: Tags a component adds to some of its resources besides the standard ones and a Name: an
#: HaAppTier's `app` tag, and on its instances `ssm-managed-by`, `PatchGroup` and
#: `GuardDutyManaged` (EC2 refuses a launch whose instance would carry more than 50).
COMPONENT_TAG_ROOM = 4
#: Room left for extra tags on a resource that has the standard tags, a Name and the tags a
#: component adds.
MAX_EXTRA_TAGS = MAX_TAGS_PER_RESOURCE - len(STANDARD_TAG_KEYS) - 1 - COMPONENT_TAG_ROOM
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$")


def check_tag_key(key: str) -> str:
    """``key`` if every AWS service accepts it as a tag key; otherwise a ValueError."""
    if not 1 <= len(key) <= TAG_KEY_MAX:
        raise ValueError(f"tag key {key[:40]!r}... must be 1-{TAG_KEY_MAX} characters")
    if key.lower().startswith("aws:"):
        raise ValueError(f"tag key {key!r}: the aws: prefix is reserved for AWS; drop it")
    if not _TAG_TEXT.match(key):
        raise ValueError(
            f"tag key {key!r} may hold only letters, digits, spaces and _ . : / = + - @"
        )
    return key


def check_tag_value(value: str) -> str:
    """``value`` if every AWS service accepts it as a tag value; otherwise a ValueError."""
    if len(value) > TAG_VALUE_MAX:
        raise ValueError(
            f"a tag value is at most {TAG_VALUE_MAX} characters (this one has {len(value)})"
        )
    if not _TAG_TEXT.match(value):
        raise ValueError(
            f"tag value {value!r} may hold only letters, digits, spaces and _ . : / = + - @"
        )
    return value


def check_extra_tags(value: Mapping[str, str]) -> dict[str, str]:
    """Extra tags: not the standard ones, and few enough to fit AWS's 50 per resource."""
    reserved = set(STANDARD_TAG_KEYS) & set(value)
    if reserved:
        raise ValueError(
            f"extraTags may not redefine the standard tags {sorted(reserved)}; "
            "set environment/owner/dataClassification instead"
        )
    if len(value) > MAX_EXTRA_TAGS:
        raise ValueError(
            f"{len(value)} extra tags: AWS allows {MAX_TAGS_PER_RESOURCE} tags per resource "
            f"and the standard tags and Name take {MAX_TAGS_PER_RESOURCE - MAX_EXTRA_TAGS}; "
            f"keep at most {MAX_EXTRA_TAGS}"
        )
    return dict(value)


#: A tag key / value every taggable AWS service accepts.
TagKey = Annotated[str, AfterValidator(check_tag_key)]
TagValue = Annotated[str, AfterValidator(check_tag_value)]


def check_organization_id(value: str | None) -> str | None:
    """``value`` if it is an AWS Organizations id (``o-`` and 10-32 lower-case letters or
    digits, the API's pattern); otherwise a ValueError."""
    if value is not None and not re.fullmatch(r"o-[a-z0-9]{10,32}", value):
        raise ValueError(
            f"{value!r} is not an AWS Organizations id like o-a1b2c3d4e5 (the management "
            "account shows it: aws organizations describe-organization)"
        )
    return value


class StackContext(SettingsModel):
    """Who owns what a component creates, and how carefully it must be kept.

    Passed to every component as ``context=``; it drives the standard tags and whether
    stateful resources are protected from deletion (prod).
    """

    environment: Environment = Field(
        default="prod",
        description="prod or nonprod. Prod protects stateful resources from deletion.",
    )
    project: TagValue = Field(
        default=PROJECT_TAG, min_length=1, description="Project tag value (AWS tag rules)."
    )
    owner: TagValue = Field(
        default="platform-team",
        description="Team accountable for the resources (tag `owner`; AWS tag rules).",
        min_length=1,
    )
    data_classification: DataClassification = Field(
        default="cde",
        description=(
            "PCI DSS scope of the stack: `cde` (stores, processes or transmits card data), "
            "`connected` (connected to the CDE), or `out-of-scope`."
        ),
    )
    extra_tags: dict[TagKey, TagValue] = Field(
        default_factory=dict,
        description=(
            "Additional tags put on every taggable resource (e.g. cost-centre): AWS tag rules, "
            f"at most {MAX_EXTRA_TAGS} (AWS allows {MAX_TAGS_PER_RESOURCE} per resource, "
            "the standard tags and Name take the rest)."
        ),
    )
    administrators: list[str] = Field(
        default_factory=list,
        description=(
            "IAM principal ARN patterns (e.g. the deploy role and the break-glass role) that "
            "administer what the stack protects: its KMS keys (schedule deletion, disable, "
            "change the key policy) and its audit logging. Everyone else is denied those "
            "actions by the key policies. Empty: the account's principals under IAM (no such "
            "deny)."
        ),
    )

    organization_id: str | None = Field(
        default=None,
        description=(
            "The AWS Organizations id (`o-` and 10-32 letters/digits) of the organization the "
            "stack's account belongs to: VPC endpoint policies admit only its principals and "
            "resources (aws:PrincipalOrgID, aws:ResourceOrgID). None: only the stack's own "
            "account (aws:PrincipalAccount, aws:ResourceAccount)."
        ),
    )

    @field_validator("organization_id")
    @classmethod
    def _organization_id(cls, value: str | None) -> str | None:
        return check_organization_id(value)

    @field_validator("administrators")
    @classmethod
    def _administrators(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not re.fullmatch(r"arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[\w+=,.@/*-]+", arn):
                raise ValueError(
                    f"{arn!r} is not an IAM principal ARN or pattern like "
                    "arn:aws:iam::123456789012:role/payments-platform-deployer"
                )
        return value

    @field_validator("extra_tags")
    @classmethod
    def _no_reserved_tags(cls, value: dict[str, str]) -> dict[str, str]:
        return check_extra_tags(value)

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


def stateful_opts(
    parent: pulumi.Resource, context: StackContext, **kwargs: Any
) -> pulumi.ResourceOptions:
    """Options for stateful children (keys, log groups, databases): protected in prod.

    PCI DSS 10.5.1 and 3.x: audit logs and the keys that encrypt card data must not disappear
    through a mistaken `pulumi destroy` or a refactor that renames a resource.
    """
    return pulumi.ResourceOptions(parent=parent, protect=context.is_prod, **kwargs)
