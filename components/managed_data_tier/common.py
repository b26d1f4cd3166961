"""What every data store of ManagedDataTier is built from, and what it gives back.

Each store module (rds, docdb, redis, rabbitmq, opensearch, dms) exposes a settings model
and a ``build_<store>(scope, settings) -> StoreResult`` function; ManagedDataTier builds the
shared pieces once (CMK, scope) and calls the builders of the stores the config enables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..aws_env import AwsEnv
from ..base import StackContext
from ..observability import Widget
from ..secure_vpc import NetworkRef
from ..security_groups import Rule, restricted_security_group

COMPONENT = "managed-data-tier"


@dataclass(frozen=True)
class DataTierScope:
    """Shared inputs of every store builder."""

    parent: pulumi.Resource  # the ManagedDataTier: parent of every child
    name: str  # the ManagedDataTier's name; children are f"{name}-<store>-<role>"
    context: StackContext
    env: AwsEnv
    network: NetworkRef
    kms_key: aws.kms.Key  # the data tier CMK (rotation on)
    alarm_topic_arn: pulumi.Input[str]
    #: app name -> that app's instance security group id (from HaAppTier)
    app_security_groups: Mapping[str, pulumi.Input[str]]
    #: security group of the DMS replication instance, when migration is on
    dms_security_group_id: pulumi.Input[str] | None = None

    @property
    def protect(self) -> bool:
        """Stateful resources are protected (and kept on delete) in prod."""
        return self.context.is_prod

    def stateful_opts(self, **kwargs: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent, protect=self.protect, **kwargs)  # type: ignore[arg-type]

    def opts(self, **kwargs: object) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent, **kwargs)  # type: ignore[arg-type]

    def tags(self, **extra: str) -> dict[str, str]:
        return self.context.tags(COMPONENT, **extra)


@dataclass(frozen=True)
class StoreResult:
    """What a store gives back to ManagedDataTier (and, through it, to the stack)."""

    endpoint: pulumi.Output[str]
    port: int
    security_group_id: pulumi.Output[str]
    #: ARN of the Secrets Manager secret with the credentials (never the value itself)
    secret_arn: pulumi.Output[str] | None = None
    #: resources other stores may need (e.g. the RDS instance for a DMS target endpoint)
    resources: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    widgets: list[Widget] = field(default_factory=list)


def store_security_group(
    scope: DataTierScope,
    store: str,
    *,
    port: int,
    clients: Sequence[str],
    description: str | None = None,
) -> aws.ec2.SecurityGroup:
    """The store's security group: its port, from exactly the declared apps (and DMS when a
    migration task writes to it). No egress: a data store never opens connections."""
    ingress: list[Rule] = []
    if clients:
        ingress.append(
            Rule(
                "clients",
                port,
                security_groups={app: scope.app_security_groups[app] for app in clients},
                description=f"{store} clients",
            )
        )
    if scope.dms_security_group_id is not None:
        ingress.append(
            Rule(
                "migration",
                port,
                security_groups={"dms": scope.dms_security_group_id},
                description=f"DMS replication into {store}",
            )
        )
    return restricted_security_group(
        f"{scope.name}-{store}-sg",
        vpc_id=scope.network.vpc_id,
        description=description or f"{store} of {scope.name}: its client apps only, port {port}",
        context=scope.context,
        component=COMPONENT,
        ingress=ingress,
        parent=scope.parent,
    )
