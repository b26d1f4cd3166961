"""Monthly cost of a plan, per resource, per component and in total, from a price table.

The table (``prices/<region>.json``) holds on-demand unit prices with their date, source and
evidence. Each resource type is priced by a rule that reads the resource's inputs (instance
type, count, Multi-AZ, storage); a price the table lacks is never guessed: the line says
"not priced" and why. What depends on traffic (LCUs, NAT data, log ingestion, WAF requests)
is listed with its unit price and the assumption stated in the table, and kept out of the
fixed total. A resource type no rule knows is listed "not priced: unknown type", so a new
resource (Network Firewall, Inspector ...) shows up rather than vanishing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..testing import Registered
from .plan_index import PlanIndex, as_list, number, short_type

#: basis of a line
FIXED = "fixed"  # billed whether used or not (hours, months): in the total
USAGE = "usage"  # depends on traffic or volume: unit price and an assumption
FREE = "no charge"
NOT_PRICED = "not priced"
OUTSIDE = "outside the stack"  # billed because of the stack, to a resource it does not create


class PriceTableError(ValueError):
    """A price table is missing or not in the table's format."""


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    unit: str
    usage_type: str
    source: str
    evidence: tuple[str, ...]
    scope: str


@dataclass(frozen=True)
class PriceTable:
    region: str
    currency: str
    generated: str
    method: str
    source: tuple[str, ...]
    note: str
    hours_per_month: float
    prices: Mapping[str, Price]
    assumptions: Mapping[str, tuple[float, str]]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PriceTable:
        try:
            prices = {
                key: Price(
                    key=key,
                    usd=float(p["usd"]),
                    unit=str(p["unit"]),
                    usage_type=str(p.get("usageType", "")),
                    source=str(p["source"]),
                    evidence=tuple(str(e) for e in p.get("evidence", ())),
                    scope=str(p.get("scope", "region")),
                )
                for key, p in doc["prices"].items()
            }
            return cls(
                region=str(doc["region"]),
                currency=str(doc.get("currency", "USD")),
                generated=str(doc["generated"]),
                method=str(doc.get("method", "")),
                source=tuple(str(s) for s in doc["source"]),
                note=str(doc.get("note", "")),
                hours_per_month=float(doc.get("hoursPerMonth", 730)),
                prices=prices,
                assumptions={
                    k: (float(v["value"]), str(v["why"]))
                    for k, v in (doc.get("assumptions") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PriceTableError(f"not a price table: {err!r}") from None

    def assumption(self, key: str, default: float) -> tuple[float, str]:
        return self.assumptions.get(key, (default, "default of the report tool"))


def price_table(region: str, directory: Path | None = None) -> PriceTable:
    """The table for ``region``: from ``directory``, else the one shipped with the package."""
    name = f"{region}.json"
    if directory is not None:
        path = directory / name
        if not path.exists():
            raise PriceTableError(f"no price table {path}")
        return PriceTable.from_json(json.loads(path.read_text()))
    try:
        text = resources.files(__package__).joinpath("prices", name).read_text()
    except FileNotFoundError:
        raise PriceTableError(
            f"no price table for {region}: run scripts/refresh_prices.py --region {region}"
        ) from None
    return PriceTable.from_json(json.loads(text))


@dataclass
class CostLine:
    component: str
    resource: str
    type: str
    urn: str
    item: str
    basis: str
    quantity: float = 0.0
    unit: str = ""
    unit_usd: float | None = None
    monthly_usd: float | None = None
    price_key: str = ""
    note: str = ""


@dataclass
class Estimate:
    stack: str
    environment: str
    region: str
    table: PriceTable
    lines: list[CostLine] = field(default_factory=list)
    wanted: set[str] = field(default_factory=set)  # every price key asked for

    def total(self, *bases: str) -> float:
        chosen = bases or (FIXED,)
        return round(sum(x.monthly_usd or 0.0 for x in self.lines if x.basis in chosen), 2)

    def by_component(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for x in self.lines:
            row = out.setdefault(x.component, {FIXED: 0.0, USAGE: 0.0, NOT_PRICED: 0.0})
            if x.basis in (FIXED, USAGE):
                row[x.basis] = round(row[x.basis] + (x.monthly_usd or 0.0), 2)
            elif x.basis == NOT_PRICED:
                row[NOT_PRICED] += 1
        return dict(sorted(out.items()))

    def not_priced(self) -> list[CostLine]:
        return [x for x in self.lines if x.basis == NOT_PRICED]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "environment": self.environment,
            "region": self.region,
            "currency": self.table.currency,
            "priceTable": {
                "region": self.table.region,
                "generated": self.table.generated,
                "method": self.table.method,
                "source": list(self.table.source),
            },
            "monthlyFixedUsd": self.total(FIXED),
            "monthlyUsageUsdUnderAssumptions": self.total(USAGE),
            "monthlyOutsideStackUsd": self.total(OUTSIDE),
            "byComponent": self.by_component(),
            "notPricedCount": len(self.not_priced()),
            "lines": [asdict(x) for x in self.lines],
        }


Rule = Callable[["Pricer", Registered], None]


class Pricer:
    """Prices one plan against one table, a rule per resource type."""

    def __init__(self, idx: PlanIndex, table: PriceTable) -> None:
        self.idx = idx
        self.table = table
        self.estimate = Estimate(idx.stack, idx.environment, idx.region or table.region, table)
        self.hours = table.hours_per_month

    # --- building lines ----------------------------------------------------------------------

    def line(
        self,
        r: Registered,
        item: str,
        key: str,
        quantity: float,
        basis: str = FIXED,
        note: str = "",
    ) -> None:
        """A priced line: ``quantity`` units of price ``key`` a month; "not priced" when the
        table lacks the key."""
        self.estimate.wanted.add(key)
        price = self.table.prices.get(key)
        base: dict[str, Any] = dict(
            component=self.idx.component_of(r),
            resource=r.name,
            type=short_type(r.type),
            urn=r.urn,
            item=item,
            price_key=key,
        )
        if price is None:
            self.estimate.lines.append(
                CostLine(
                    **base,
                    basis=NOT_PRICED,
                    quantity=quantity,
                    note=f"no {self.table.region} price for `{key}` in the price table"
                    + (f"; {note}" if note else ""),
                )
            )
            return
        monthly = round(quantity * price.usd, 2)
        self.estimate.lines.append(
            CostLine(
                **base,
                basis=basis,
                quantity=quantity,
                unit=price.unit,
                unit_usd=price.usd,
                monthly_usd=monthly,
                note=note,
            )
        )

    def free(self, r: Registered, why: str) -> None:
        self.estimate.lines.append(
            CostLine(
                self.idx.component_of(r), r.name, short_type(r.type), r.urn, "", FREE, note=why
            )
        )

    def unpriced(self, r: Registered, item: str, why: str) -> None:
        self.estimate.lines.append(
            CostLine(
                self.idx.component_of(r),
                r.name,
                short_type(r.type),
                r.urn,
                item,
                NOT_PRICED,
                note=why,
            )
        )

    def run(self) -> Estimate:
        for r in self.idx:
            rule = RULES.get(r.type)
            if rule is not None:
                rule(self, r)
            elif r.type in FREE_TYPES:
                self.free(r, FREE_TYPES[r.type])
            else:
                self.unpriced(
                    r,
                    short_type(r.type),
                    "resource type the report does not price yet (unknown to its rules)",
                )
        return self.estimate


# --- rules ------------------------------------------------------------------------------------


def _launch_template(p: Pricer, asg: Registered) -> Registered | None:
    template = asg.inputs.get("launchTemplate")
    if isinstance(template, Mapping):
        return p.idx.ref(template.get("id"))
    mixed = asg.inputs.get("mixedInstancesPolicy")
    if isinstance(mixed, Mapping):
        spec = (mixed.get("launchTemplate") or {}).get("launchTemplateSpecification") or {}
        return p.idx.ref(spec.get("launchTemplateId"))
    return None


def _root_gib(lt: Registered) -> float:
    total = 0.0
    for bdm in as_list(lt.inputs.get("blockDeviceMappings")):
        ebs = bdm.get("ebs") if isinstance(bdm, Mapping) else None
        if isinstance(ebs, Mapping) and str(ebs.get("volumeType", "gp3")) == "gp3":
            total += number(ebs.get("volumeSize"))
    return total


def asg(p: Pricer, r: Registered) -> None:
    lt = _launch_template(p, r)
    count = number(r.inputs.get("desiredCapacity"), number(r.inputs.get("minSize")))
    most = number(r.inputs.get("maxSize"), count)
    if lt is None:
        p.unpriced(r, "instances", "launch template not found in the plan")
        return
    itype = str(lt.inputs.get("instanceType", "?"))
    note = (
        f"{count:g} instances running all month (desired capacity); at max size {most:g}: "
        f"x{most / count if count else 0:.2g}"
    )
    p.line(
        r,
        f"EC2 {itype} Linux on-demand x{count:g}",
        f"ec2.{itype}.hour",
        count * p.hours,
        note=note,
    )
    gib = _root_gib(lt)
    if gib:
        p.line(
            r,
            f"EBS gp3 {gib:g} GiB x{count:g}",
            "ebs.gp3.gbMonth",
            gib * count,
            note="root volumes of the running instances",
        )


def ec2_instance(p: Pricer, r: Registered) -> None:
    itype = str(r.inputs.get("instanceType", "?"))
    p.line(r, f"EC2 {itype} Linux on-demand", f"ec2.{itype}.hour", p.hours)


def ebs_volume(p: Pricer, r: Registered) -> None:
    vtype = str(r.inputs.get("type", "gp3"))
    p.line(
        r,
        f"EBS {vtype} {number(r.inputs.get('size')):g} GiB",
        f"ebs.{vtype}.gbMonth",
        number(r.inputs.get("size")),
    )


def load_balancer(p: Pricer, r: Registered) -> None:
    kind = str(r.inputs.get("loadBalancerType") or "application")
    p.line(r, f"{kind} load balancer hours", f"elb.{kind}.hour", p.hours)
    lcu, why = p.table.assumption("albLcuPerHour", 1.0)
    p.line(r, f"LCU-hours ({lcu:g} LCU average)", f"elb.{kind}.lcuHour", lcu * p.hours, USAGE, why)
    if not r.inputs.get("internal"):
        azs = len(as_list(r.inputs.get("subnets"))) or len(as_list(r.inputs.get("subnetMappings")))
        p.line(
            r,
            f"public IPv4 addresses x{azs} (one per AZ, the minimum)",
            "vpc.publicIpv4.hour",
            azs * p.hours,
            note=(
                "an internet-facing load balancer holds at least one public IPv4 address per "
                "AZ; more when it scales"
            ),
        )


def nat_gateway(p: Pricer, r: Registered) -> None:
    p.line(r, "NAT gateway hours", "vpc.natGateway.hour", p.hours)
    gb, why = p.table.assumption("natGbPerGatewayMonth", 10.0)
    p.line(r, f"data processed ({gb:g} GB)", "vpc.natGateway.gb", gb, USAGE, why)


def eip(p: Pricer, r: Registered) -> None:
    p.line(
        r,
        "public IPv4 address",
        "vpc.publicIpv4.hour",
        p.hours,
        note="charged in use or idle since 2024-02-01",
    )


def vpc_endpoint(p: Pricer, r: Registered) -> None:
    kind = str(r.inputs.get("vpcEndpointType") or "Gateway")
    if kind == "Gateway":
        p.free(r, "gateway endpoints (S3, DynamoDB) have no hourly or data charge")
        return
    azs = len(as_list(r.inputs.get("subnetIds"))) or 1
    p.line(r, f"interface endpoint x{azs} AZs", "vpc.interfaceEndpoint.azHour", azs * p.hours)
    gb, why = p.table.assumption("interfaceEndpointGbMonth", 5.0)
    p.line(r, f"data processed ({gb:g} GB)", "vpc.interfaceEndpoint.gb", gb, USAGE, why)


def vpn_connection(p: Pricer, r: Registered) -> None:
    p.line(
        r,
        "Site-to-Site VPN connection hours",
        "vpn.connection.hour",
        p.hours,
        note="two tunnels per connection, one charge",
    )


def dx_vif(p: Pricer, r: Registered) -> None:
    p.free(r, "a virtual interface has no charge of its own; data out over it is billed per GB")
    connection = r.inputs.get("connectionId")
    if connection and p.idx.ref(connection) is None:
        p.estimate.wanted.add("directconnect.dedicated1G.portHour")
        price = p.table.prices.get("directconnect.dedicated1G.portHour")
        line = CostLine(
            p.idx.component_of(r),
            r.name,
            short_type(r.type),
            r.urn,
            f"DX port of {connection} (ordered outside the stack; assumed dedicated 1 Gbps)",
            OUTSIDE,
            p.hours,
            price.unit if price else "",
            price.usd if price else None,
            round(p.hours * price.usd, 2) if price else None,
            "directconnect.dedicated1G.portHour",
            "the port is billed to the connection's owner whatever the stack does; its speed is "
            "not in the plan",
        )
        p.estimate.lines.append(line)


def _rds_storage(p: Pricer, r: Registered, multi: bool) -> None:
    stype = str(r.inputs.get("storageType") or "gp2")
    gib = number(r.inputs.get("allocatedStorage"))
    az = "multiAz" if multi else "singleAz"
    p.line(
        r,
        f"{stype} storage {gib:g} GiB ({'Multi-AZ' if multi else 'Single-AZ'})",
        f"rds.{stype}.{az}.gbMonth",
        gib,
        note=f"grows up to {number(r.inputs.get('maxAllocatedStorage'), gib):g} GiB by autoscaling",
    )


def rds_instance(p: Pricer, r: Registered) -> None:
    engine = str(r.inputs.get("engine", "?"))
    cls = str(r.inputs.get("instanceClass", "?"))
    multi = bool(r.inputs.get("multiAz"))
    az = "multiAz" if multi else "singleAz"
    p.line(
        r,
        f"RDS {engine} {cls} {'Multi-AZ' if multi else 'Single-AZ'}",
        f"rds.{engine}.{cls}.{az}.hour",
        p.hours,
    )
    _rds_storage(p, r, multi)


def docdb_instance(p: Pricer, r: Registered) -> None:
    cls = str(r.inputs.get("instanceClass", "?"))
    p.line(r, f"DocumentDB {cls} instance", f"docdb.{cls}.hour", p.hours)


def docdb_cluster(p: Pricer, r: Registered) -> None:
    p.unpriced(
        r,
        "DocumentDB storage and I/O",
        "usage-based (GB-month stored, I/O requests, backup beyond retention): no price in the "
        "table and no volume in the plan",
    )


def replication_group(p: Pricer, r: Registered) -> None:
    node = str(r.inputs.get("nodeType", "?"))
    groups = number(r.inputs.get("numNodeGroups"), 1) or 1
    replicas = r.inputs.get("replicasPerNodeGroup")
    nodes = (
        groups * (1 + number(replicas))
        if replicas is not None
        else number(r.inputs.get("numCacheClusters"), 1)
    )
    p.line(r, f"ElastiCache {node} x{nodes:g}", f"elasticache.{node}.hour", nodes * p.hours)


def mq_broker(p: Pricer, r: Registered) -> None:
    itype = str(r.inputs.get("hostInstanceType", "?"))
    engine = str(r.inputs.get("engineType", "?")).lower()
    mode = str(r.inputs.get("deploymentMode", "SINGLE_INSTANCE"))
    count = {"CLUSTER_MULTI_AZ": 3, "ACTIVE_STANDBY_MULTI_AZ": 2}.get(mode, 1)
    p.line(
        r,
        f"Amazon MQ {engine} {itype} x{count} ({mode})",
        f"mq.{engine}.{itype}.hour",
        count * p.hours,
        note="a RabbitMQ cluster runs three broker instances",
    )
    p.unpriced(
        r, "broker storage", "usage-based (GB-month of messages stored): no price in the table"
    )


def opensearch(p: Pricer, r: Registered) -> None:
    cc = r.inputs.get("clusterConfig") or {}
    data_type, data_n = str(cc.get("instanceType", "?")), number(cc.get("instanceCount"), 1)
    p.line(
        r,
        f"OpenSearch data nodes {data_type} x{data_n:g}",
        f"opensearch.{data_type}.hour",
        data_n * p.hours,
    )
    if cc.get("dedicatedMasterEnabled"):
        m_type, m_n = (
            str(cc.get("dedicatedMasterType", "?")),
            number(cc.get("dedicatedMasterCount"), 3),
        )
        p.line(
            r,
            f"OpenSearch dedicated managers {m_type} x{m_n:g}",
            f"opensearch.{m_type}.hour",
            m_n * p.hours,
        )
    ebs = r.inputs.get("ebsOptions") or {}
    if isinstance(ebs, Mapping) and ebs.get("ebsEnabled"):
        vtype = str(ebs.get("volumeType", "gp3"))
        gib = number(ebs.get("volumeSize")) * data_n
        p.line(
            r,
            f"OpenSearch {vtype} storage {gib:g} GiB ({data_n:g} x "
            f"{number(ebs.get('volumeSize')):g})",
            f"opensearch.{vtype}.gbMonth",
            gib,
        )


def dms_instance(p: Pricer, r: Registered) -> None:
    cls = str(r.inputs.get("replicationInstanceClass", "?"))
    multi = bool(r.inputs.get("multiAz"))
    az = "multiAz" if multi else "singleAz"
    p.line(
        r,
        f"DMS {cls} {'Multi-AZ' if multi else 'Single-AZ'}",
        f"dms.{cls}.{az}.hour",
        p.hours,
        note="until the replication instance is retired after cutover",
    )
    gib = number(r.inputs.get("allocatedStorage"))
    p.line(
        r,
        f"DMS storage {gib:g} GiB",
        f"dms.gp2.{az}.gbMonth",
        gib,
        note="DMS includes some storage with each instance class: check the class's allowance",
    )


def kms_key(p: Pricer, r: Registered) -> None:
    p.line(
        r,
        "customer managed key",
        "kms.key.month",
        1,
        note=(
            "rotated key versions add to this after the first rotations; requests are billed "
            "per 10,000 beyond the free tier"
        ),
    )


def secret(p: Pricer, r: Registered) -> None:
    p.line(r, "secret", "secretsmanager.secret.month", 1)


def alarm(p: Pricer, r: Registered) -> None:
    queries = [q for q in as_list(r.inputs.get("metricQueries")) if isinstance(q, Mapping)]
    if any("SELECT" in str(q.get("expression", "")).upper() for q in queries):
        p.unpriced(
            r,
            "Metrics Insights alarm",
            "priced per metric the query analyzes: not known before deploy",
        )
        return
    period = min(
        [number(r.inputs.get("period"), 60)]
        + [number((q.get("metric") or {}).get("period"), 60) for q in queries if q.get("metric")]
    )
    if period < 60:
        p.unpriced(r, "high-resolution alarm", "high-resolution alarm price not in the table")
        return
    metrics = max(1, sum(1 for q in queries if q.get("metric")))
    p.line(
        r,
        f"standard alarm, {metrics} metric{'s' if metrics > 1 else ''}",
        "cloudwatch.alarm.metricMonth",
        metrics,
    )


def dashboard(p: Pricer, r: Registered) -> None:
    p.line(
        r,
        "dashboard",
        "cloudwatch.dashboard.month",
        1,
        note="the account's first three dashboards are free: not applied",
    )


def log_group(p: Pricer, r: Registered) -> None:
    gb, why = p.table.assumption("logsIngestedGbPerLogGroupMonth", 1.0)
    p.line(r, f"log ingestion ({gb:g} GB)", "cloudwatch.logs.ingestGb", gb, USAGE, why)
    days = number(r.inputs.get("retentionInDays"), 0)
    stored = gb * min(days / 30.0, 12.0) if days else gb * 12
    p.line(
        r,
        f"log storage (~{stored:g} GB kept at steady state)",
        "cloudwatch.logs.storageGbMonth",
        stored,
        USAGE,
        f"{gb:g} GB a month kept {days:g} days (compressed size is smaller)",
    )


def web_acl(p: Pricer, r: Registered) -> None:
    p.line(r, "web ACL", "waf.webAcl.month", 1)
    rules = len(as_list(r.inputs.get("rules")))
    p.line(
        r,
        f"rules x{rules}",
        "waf.rule.month",
        rules,
        note=(
            "each AWS managed rule group counts as one rule; Bot Control, Fraud Control and "
            "other paid groups add their own fees"
        ),
    )
    reqs, why = p.table.assumption("wafRequestsPerMonth", 1e7)
    p.line(r, f"requests ({reqs:,.0f})", "waf.request", reqs, USAGE, why)


def bucket(p: Pricer, r: Registered) -> None:
    p.unpriced(
        r,
        "S3 storage and requests",
        "usage-based: objects stored and requests are not in the plan (S3 Standard is "
        "$0.025/GB-month in the table)",
    )


def usage_only(item: str, why: str) -> Rule:
    def rule(p: Pricer, r: Registered) -> None:
        p.unpriced(r, item, why)

    return rule


RULES: dict[str, Rule] = {
    "aws:autoscaling/group:Group": asg,
    "aws:ec2/instance:Instance": ec2_instance,
    "aws:ebs/volume:Volume": ebs_volume,
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": load_balancer,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/eip:Eip": eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:ec2/vpnConnection:VpnConnection": vpn_connection,
    "aws:directconnect/privateVirtualInterface:PrivateVirtualInterface": dx_vif,
    "aws:rds/instance:Instance": rds_instance,
    "aws:docdb/clusterInstance:ClusterInstance": docdb_instance,
    "aws:docdb/cluster:Cluster": docdb_cluster,
    "aws:elasticache/replicationGroup:ReplicationGroup": replication_group,
    "aws:mq/broker:Broker": mq_broker,
    "aws:opensearch/domain:Domain": opensearch,
    "aws:dms/replicationInstance:ReplicationInstance": dms_instance,
    "aws:kms/key:Key": kms_key,
    "aws:secretsmanager/secret:Secret": secret,
    "aws:cloudwatch/metricAlarm:MetricAlarm": alarm,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:wafv2/webAcl:WebAcl": web_acl,
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketV2:BucketV2": bucket,
    "aws:cfg/recorder:Recorder": usage_only(
        "configuration items recorded",
        "usage-based (per configuration item recorded): no ap-southeast-1 price in the table, "
        "and the count depends on how often resources change",
    ),
    "aws:cfg/conformancePack:ConformancePack": usage_only(
        "conformance pack rule evaluations",
        "usage-based (per rule evaluation): no ap-southeast-1 price in the table",
    ),
    "aws:cfg/rule:Rule": usage_only(
        "rule evaluations",
        "usage-based (per rule evaluation): no ap-southeast-1 price in the table",
    ),
    "aws:guardduty/detector:Detector": usage_only(
        "GuardDuty analysis",
        "usage-based (CloudTrail events, VPC flow and DNS logs analysed, per GB/event): no price "
        "in the table",
    ),
    "aws:guardduty/detectorFeature:DetectorFeature": usage_only(
        "GuardDuty protection plan",
        "usage-based (S3 events, EBS GB scanned, RDS logins, runtime vCPU): no price in the table",
    ),
    "aws:securityhub/account:Account": usage_only(
        "Security Hub checks and findings",
        "usage-based (per security check and finding ingested): no price in the table",
    ),
    "aws:securityhub/standardsSubscription:StandardsSubscription": usage_only(
        "standard's security checks", "usage-based (per check run): no price in the table"
    ),
    "aws:cloudtrail/trail:Trail": usage_only(
        "CloudTrail events",
        "the first copy of management events is free; data events and further copies are billed "
        "per event: no price in the table",
    ),
    "aws:ec2/flowLog:FlowLog": usage_only(
        "flow log delivery",
        "vended-log ingestion per GB of flow records: depends on traffic; no price in the table",
    ),
    # the migration's MGN templates (AWS::MGN::* through Cloud Control) cost nothing
    # themselves; MGN bills each source server by the hour after its free 2,160 hours, and
    # the replication servers, staging disks and snapshots it launches are EC2/EBS charges
    # of resources outside the plan
    "aws:cloudcontrol/resource:Resource": usage_only(
        "Application Migration Service",
        "per source server-hour after 2,160 free hours, plus the replication servers, staging "
        "disks and snapshots MGN launches: depends on the waves; no price in the table",
    ),
    "aws:inspector2/enabler:Enabler": usage_only(
        "Inspector scans", "usage-based (per instance scanned, per image): no price in the table"
    ),
    "aws:networkfirewall/firewall:Firewall": usage_only(
        "Network Firewall endpoints and traffic",
        "per endpoint-hour per AZ and per GB processed: no price in the table",
    ),
    "aws:sns/topic:Topic": usage_only(
        "SNS publishes and deliveries",
        "usage-based (per million publishes, per delivery): alarm traffic is small; no price in "
        "the table",
    ),
    "aws:budgets/budget:Budget": usage_only(
        "budget",
        "the account's first two action-less budgets are free; further ones are billed per day: "
        "no price in the table",
    ),
}

#: Types that carry no charge of their own (the reason is shown).
FREE_TYPES: dict[str, str] = {
    t: why
    for why, types in {
        "network configuration: no charge": [
            "aws:ec2/vpc:Vpc",
            "aws:ec2/subnet:Subnet",
            "aws:ec2/routeTable:RouteTable",
            "aws:ec2/route:Route",
            "aws:ec2/routeTableAssociation:RouteTableAssociation",
            "aws:ec2/networkAcl:NetworkAcl",
            "aws:ec2/networkAclRule:NetworkAclRule",
            "aws:ec2/networkAclAssociation:NetworkAclAssociation",
            "aws:ec2/securityGroup:SecurityGroup",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
            "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
            "aws:ec2/internetGateway:InternetGateway",
            "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
            "aws:ec2/vpnGateway:VpnGateway",
            "aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment",
            "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation",
            "aws:ec2/customerGateway:CustomerGateway",
            "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
            "aws:directconnect/gateway:Gateway",
            "aws:directconnect/gatewayAssociation:GatewayAssociation",
        ],
        "configuration of a priced resource: no charge of its own": [
            "aws:ec2/launchTemplate:LaunchTemplate",
            "aws:autoscaling/policy:Policy",
            "aws:lb/listener:Listener",
            "aws:lb/targetGroup:TargetGroup",
            "aws:wafv2/webAclAssociation:WebAclAssociation",
            "aws:kms/alias:Alias",
            "aws:rds/parameterGroup:ParameterGroup",
            "aws:rds/subnetGroup:SubnetGroup",
            "aws:rds/optionGroup:OptionGroup",
            "aws:docdb/subnetGroup:SubnetGroup",
            "aws:docdb/clusterParameterGroup:ClusterParameterGroup",
            "aws:elasticache/parameterGroup:ParameterGroup",
            "aws:elasticache/subnetGroup:SubnetGroup",
            "aws:elasticache/user:User",
            "aws:elasticache/userGroup:UserGroup",
            "aws:dms/endpoint:Endpoint",
            "aws:dms/replicationSubnetGroup:ReplicationSubnetGroup",
            "aws:dms/replicationTask:ReplicationTask",
            "aws:dms/eventSubscription:EventSubscription",
            "aws:secretsmanager/secretVersion:SecretVersion",
            "aws:sns/topicPolicy:TopicPolicy",
            "aws:sns/topicSubscription:TopicSubscription",
            "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
            "aws:cloudwatch/eventRule:EventRule",
            "aws:cloudwatch/eventTarget:EventTarget",
            "aws:cfg/deliveryChannel:DeliveryChannel",
            "aws:cfg/recorderStatus:RecorderStatus",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "aws:s3/bucketLogging:BucketLogging",
            "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketServerSideEncryptionConfiguration:"
            "BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketVersioning:BucketVersioning",
        ],
        "account setting or identity: no charge": [
            "aws:iam/role:Role",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:iam/policy:Policy",
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "aws:iam/instanceProfile:InstanceProfile",
            "aws:iam/serviceLinkedRole:ServiceLinkedRole",
            "aws:iam/accountPasswordPolicy:AccountPasswordPolicy",
            "aws:ebs/encryptionByDefault:EncryptionByDefault",
            "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
            "aws:accessanalyzer/analyzer:Analyzer",
            "random:index/randomPassword:RandomPassword",
            "aws:organizations/organization:Organization",
            "aws:organizations/organizationalUnit:OrganizationalUnit",
            "aws:organizations/account:Account",
            "aws:organizations/policy:Policy",
            "aws:organizations/policyAttachment:PolicyAttachment",
            "aws:ssoadmin/permissionSet:PermissionSet",
            "aws:ssoadmin/accountAssignment:AccountAssignment",
            "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
            "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        ],
    }.items()
    for t in types
}


def estimate(idx: PlanIndex, table: PriceTable) -> Estimate:
    return Pricer(idx, table).run()


def ratio(estimates: list[Estimate]) -> dict[str, float] | None:
    """Each non-prod stack's fixed monthly cost as a fraction of the prod stack's."""
    prod = next((e for e in estimates if e.environment == "prod"), None)
    if prod is None or not prod.total():
        return None
    return {e.stack: round(e.total() / prod.total(), 3) for e in estimates if e is not prod}
