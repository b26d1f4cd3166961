"""How every component builds its children.

A component's ``__init__`` checks its arguments, registers itself, makes a :class:`Scope`
and then calls one step function per group of children, each taking the scope first:

    scope = Scope(self, name, context, COMPONENT, aws_env(self))
    vpc = build_vpc(scope, settings)
    subnets = build_subnets(scope, plan, vpc)

The scope carries what every child needs (its parent, the name its logical name starts
with, the standard tags, whether it is protected), so no step repeats that wiring and every
child is parented, tagged and protected the same way. A component with more to share (the
data tier's key, its alarm topic) extends it with a frozen dataclass of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from .aws_env import AwsEnv
from .settings import StackContext, stateful_opts


@dataclass(frozen=True)
class Scope:
    """What every child of one component shares."""

    parent: pulumi.Resource  # the component: parent of every child
    name: str  # the component's name; children are f"{name}-<role>"
    context: StackContext
    component: str  # the `component` tag value
    env: AwsEnv  # account, partition and region of the component's provider
    #: tags added to every child's standard tags (e.g. the app an HaAppTier runs)
    extra_tags: Mapping[str, str] = field(default_factory=dict)

    def tags(self, **extra: str) -> dict[str, str]:
        """The standard tag set (plus a Name, if given)."""
        return self.context.tags(self.component, **self.extra_tags, **extra)

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options of a child: always parented to the component."""
        return pulumi.ResourceOptions(parent=self.parent, **kwargs)

    def stateful_opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options of a stateful child (key, log group, database, bucket): protected in prod.

        PCI DSS 10.5.1 and 3.x: audit logs and the keys that encrypt card data must not
        disappear through a mistaken `pulumi destroy` or a refactor that renames a resource.
        """
        return stateful_opts(self.parent, self.context, **kwargs)

    def invoke_opts(self) -> pulumi.InvokeOutputOptions:
        """Options of an invoke: resolved with the component's provider."""
        return pulumi.InvokeOutputOptions(parent=self.parent)
