"""The inventory of system components (PCI DSS 12.5.1): every resource the plan would create.

Each row: type, logical name, component, data classification (tag), the KMS key that
encrypts it (by the key's logical name, "AWS owned/managed" when the service encrypts with
its own key, blank when the resource holds no data), whether the internet or an on-prem
range can reach it through its security groups (directly or through the groups it admits),
and whether Pulumi protects it from deletion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..testing import Registered
from .plan_index import PlanIndex, as_list, short_type

#: Inputs that name a KMS key, by resource (dotted paths into nested inputs).
KEY_PATHS = (
    "kmsKeyId",
    "kmsKeyArn",
    "kmsMasterKeyId",
    "performanceInsightsKmsKeyId",
    "encryptionAtRest.kmsKeyId",
    "encryptionOptions.kmsKeyId",
    "encryptionConfiguration.kmsKeyArn",
    "rule.applyServerSideEncryptionByDefault.kmsMasterKeyId",
    "rules.applyServerSideEncryptionByDefault.kmsMasterKeyId",
    "blockDeviceMappings.ebs.kmsKeyId",
    "tunnel1LogOptions.cloudwatchLogOptions.logGroupArn",
)

#: Types whose data AWS encrypts with its own key when no customer key is given.
AWS_KEY_BY_DEFAULT = {
    "aws:mq/broker:Broker": "AWS owned key",
    "aws:s3/bucket:Bucket": "SSE-S3 unless configured",
    "aws:sns/topic:Topic": "not encrypted unless configured",
}


@dataclass
class InventoryRow:
    type: str
    name: str
    component: str
    classification: str
    key: str
    reachable: str
    protect: bool
    urn: str


def _values(value: Any, path: list[str]) -> list[Any]:
    if not path:
        return as_list(value)
    found: list[Any] = []
    for item in as_list(value):
        if isinstance(item, Mapping):
            found += _values(item.get(path[0]), path[1:])
    return found


def encryption_key(idx: PlanIndex, r: Registered) -> str:
    names: list[str] = []
    for path in KEY_PATHS:
        if path.startswith("tunnel"):
            continue
        for value in _values(r.inputs, path.split(".")):
            key = idx.ref(value)
            if key is not None and key.type == "aws:kms/key:Key":
                names.append(key.name)
            elif isinstance(value, str) and value:
                names.append("alias/aws/*" if "alias/aws/" in value else value)
    if names:
        return ", ".join(dict.fromkeys(names))
    if r.type == "aws:s3/bucket:Bucket":
        for conf in idx.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        ):
            if conf.inputs.get("bucket") in (r.outputs.get("id"), r.outputs.get("bucket")):
                return encryption_key(idx, conf) or "SSE-S3 (AES256)"
    if r.type == "aws:mq/broker:Broker" and isinstance(r.inputs.get("encryptionOptions"), Mapping):
        return "AWS owned key" if r.inputs["encryptionOptions"].get("useAwsOwnedKey", True) else "?"
    return AWS_KEY_BY_DEFAULT.get(r.type, "")


def inventory(idx: PlanIndex) -> list[InventoryRow]:
    reach = idx.reach()
    rows = []
    for r in idx:
        kinds: dict[str, str] = {}
        for group in idx.groups_of(r):
            for kind, how in reach.get(group.urn, {}).items():
                kinds.setdefault(kind, how)
        reachable = "; ".join(f"{kind} ({how})" for kind, how in sorted(kinds.items())) or "no"
        rows.append(
            InventoryRow(
                type=short_type(r.type),
                name=r.name,
                component=idx.component_of(r),
                classification=idx.classification(r),
                key=encryption_key(idx, r),
                reachable=reachable,
                protect=r.protect,
                urn=r.urn,
            )
        )
    return sorted(rows, key=lambda x: (x.component, x.type, x.name))


def rows_json(rows: list[InventoryRow]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
