"""Rebuild a region's price table (components/report/prices/<region>.json) from the AWS Price
List API, with the prices the stacks need.

    python scripts/refresh_prices.py          # ap-southeast-1, for prod and nonprod
    python scripts/refresh_prices.py --region eu-west-1 --stacks dev --out /tmp/prices

Needs AWS credentials allowed to call ``pricing:GetProducts`` (the Price List Query API,
served from us-east-1 whatever region is priced). boto3 is installed on demand: it is not a
dependency of the project, which never calls AWS itself.

The keys to fetch are the ones the report asked for when it priced the given stacks (every
instance type, class and node type they use, plus the fixed rate card), so a new instance
type in a stack file is priced on the next refresh. Each key maps to a GetProducts query
(service code and attribute filters, then the usage type's suffix and the unit), and the
On-Demand price dimension of the one product that answers it. The transformations are pure
functions, tested offline on recorded responses in the documented shape
(tests/test_report.py); only ``fetch`` talks to AWS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

PRICES = ROOT / "components" / "report" / "prices"
API = "AWS Price List Query API: pricing:GetProducts (us-east-1 endpoint)"
ENGINES = {"postgres": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}


@dataclass(frozen=True)
class Query:
    """A GetProducts query and how to pick the price out of its answer."""

    service: str
    filters: Mapping[str, str] = field(default_factory=dict)
    usage_suffix: str = ""  # usagetype ends with this (the region prefix varies)
    unit: str = ""  # the price dimension's unit (Hrs, GB-Mo, ...)
    regional: bool = True  # False: an account-global product (location "Any")


def query_for(key: str) -> Query | None:
    """The query that prices ``key`` (a key the report uses), or None for unknown keys."""
    fixed = {
        "vpc.natGateway.hour": Query(
            "AmazonEC2", {"productFamily": "NAT Gateway"}, "NatGateway-Hours", "Hrs"
        ),
        "vpc.natGateway.gb": Query(
            "AmazonEC2", {"productFamily": "NAT Gateway"}, "NatGateway-Bytes", "GB"
        ),
        "vpc.interfaceEndpoint.azHour": Query("AmazonVPC", {}, "VpcEndpoint-Hours", "Hrs"),
        "vpc.interfaceEndpoint.gb": Query("AmazonVPC", {}, "VpcEndpoint-Bytes", "GB"),
        "vpc.publicIpv4.hour": Query("AmazonVPC", {}, "PublicIPv4:InUseAddress", "Hrs"),
        "vpn.connection.hour": Query("AmazonVPC", {}, "VPN-Usage-Hours:ipsec.1", "Hrs"),
        "elb.application.hour": Query(
            "AWSELB", {"productFamily": "Load Balancer-Application"}, "LoadBalancerUsage", "Hrs"
        ),
        "elb.application.lcuHour": Query(
            "AWSELB", {"productFamily": "Load Balancer-Application"}, "LCUUsage", "LCU-Hrs"
        ),
        "kms.key.month": Query("awskms", {}, "KMS-Keys", "Keys"),
        "kms.request": Query("awskms", {}, "KMS-Requests", "Requests"),
        "secretsmanager.secret.month": Query(
            "AWSSecretsManager", {}, "AWSSecretsManager-Secret", "Secrets"
        ),
        "cloudwatch.alarm.metricMonth": Query(
            "AmazonCloudWatch", {}, "CW:AlarmMonitorUsage", "Alarms"
        ),
        "cloudwatch.dashboard.month": Query(
            "AmazonCloudWatch", {}, "DashboardsUsageHour", "Dashboards", regional=False
        ),
        "cloudwatch.logs.ingestGb": Query(
            "AmazonCloudWatch", {"operation": "PutLogEvents"}, "DataProcessing-Bytes", "GB"
        ),
        "cloudwatch.logs.storageGbMonth": Query(
            "AmazonCloudWatch", {}, "TimedStorage-ByteHrs", "GB-Mo"
        ),
        "waf.webAcl.month": Query("awswaf", {}, "WebACLV2", ""),
        "waf.rule.month": Query("awswaf", {}, "RuleV2", ""),
        "waf.request": Query("awswaf", {}, "RequestV2-48KB", ""),
        "s3.standard.gbMonth": Query(
            "AmazonS3", {"storageClass": "General Purpose"}, "TimedStorage-ByteHrs", "GB-Mo"
        ),
        "directconnect.dedicated1G.portHour": Query(
            "AWSDirectConnect", {"capacity": "1G", "connectionType": "Dedicated"}, "", "Hrs"
        ),
    }
    if key in fixed:
        return fixed[key]
    parts = key.split(".")
    if m := re.fullmatch(r"ec2\.(.+)\.hour", key):
        return Query(
            "AmazonEC2",
            {
                "instanceType": m[1],
                "operatingSystem": "Linux",
                "tenancy": "Shared",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
            },
            "",
            "Hrs",
        )
    if m := re.fullmatch(r"ebs\.(\w+)\.gbMonth", key):
        return Query("AmazonEC2", {"productFamily": "Storage", "volumeApiName": m[1]}, "", "GB-Mo")
    if parts[0] == "rds" and key.endswith(".hour") and len(parts) >= 5:
        engine, cls, az = parts[1], ".".join(parts[2:-2]), parts[-2]
        return Query(
            "AmazonRDS",
            {
                "instanceType": cls,
                "databaseEngine": ENGINES.get(engine, engine),
                "deploymentOption": "Multi-AZ" if az == "multiAz" else "Single-AZ",
                "productFamily": "Database Instance",
            },
            "",
            "Hrs",
        )
    if parts[0] == "rds" and key.endswith(".gbMonth"):
        suffix = f"RDS:{'Multi-AZ-' if parts[2] == 'multiAz' else ''}{parts[1].upper()}-Storage"
        return Query("AmazonRDS", {"productFamily": "Database Storage"}, suffix, "GB-Mo")
    if m := re.fullmatch(r"docdb\.(.+)\.hour", key):
        return Query("AmazonDocDB", {"instanceType": m[1]}, "", "Hrs")
    if m := re.fullmatch(r"elasticache\.(.+)\.hour", key):
        return Query("AmazonElastiCache", {"instanceType": m[1], "cacheEngine": "Redis"}, "", "Hrs")
    if m := re.fullmatch(r"mq\.(\w+)\.(.+)\.hour", key):
        return Query(
            "AmazonMQ",
            {
                "instanceType": m[2],
                "brokerEngine": "RabbitMQ" if m[1] == "rabbitmq" else "ActiveMQ",
                "deploymentOption": "Single-AZ",
            },
            "",
            "Hrs",
        )
    if m := re.fullmatch(r"opensearch\.(\w+)\.gbMonth", key):
        return Query("AmazonES", {}, f"ES:{m[1].upper()}-Storage", "GB-Mo")
    if m := re.fullmatch(r"opensearch\.(.+)\.hour", key):
        return Query("AmazonES", {"instanceType": m[1]}, "", "Hrs")
    if m := re.fullmatch(r"dms\.(\w+)\.(singleAz|multiAz)\.gbMonth", key):
        az = "Multiple" if m[2] == "multiAz" else "Single"
        return Query(
            "AWSDatabaseMigrationSvc",
            {"productFamily": "Storage", "availabilityZone": az},
            "",
            "GB-Mo",
        )
    if m := re.fullmatch(r"dms\.(.+)\.(singleAz|multiAz)\.hour", key):
        return Query(
            "AWSDatabaseMigrationSvc",
            {
                "instanceType": m[1],
                "availabilityZone": "Multiple" if m[2] == "multiAz" else "Single",
            },
            "",
            "Hrs",
        )
    return None


# --- pure transformations: GetProducts answers -> price entries --------------------------------


def products(pages: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """The products of GetProducts pages (``PriceList`` items are JSON strings)."""
    for page in pages:
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else dict(item)


def on_demand(product: Mapping[str, Any], unit: str = "") -> list[dict[str, Any]]:
    """The product's On-Demand price dimensions of the first tier (beginRange 0), in USD."""
    found = []
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dim in (term.get("priceDimensions") or {}).values():
            if unit and dim.get("unit") != unit:
                continue
            if str(dim.get("beginRange", "0")) not in ("0", "0.0"):
                continue
            found.append({**dim, "effectiveDate": term.get("effectiveDate", "")})
    return found


class PriceNotFound(LookupError):
    """No product, or more than one, answered a query."""


def pick(key: str, query: Query, pages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The price entry of ``key`` from the answer to its query; refuses none or several."""
    candidates = []
    for product in products(pages):
        attrs = product.get("product", {}).get("attributes", {})
        if query.usage_suffix and not str(attrs.get("usagetype", "")).endswith(query.usage_suffix):
            continue
        for dim in on_demand(product, query.unit):
            usd = float(dim.get("pricePerUnit", {}).get("USD", "0") or 0)
            if usd > 0:
                candidates.append((product, attrs, dim, usd))
    if len(candidates) != 1:
        seen = sorted({str(c[1].get("usagetype")) for c in candidates})
        raise PriceNotFound(
            f"{key}: {len(candidates)} priced products answered {query} "
            f"({', '.join(seen) or 'none'})"
        )
    product, attrs, dim, usd = candidates[0]
    return {
        "usd": usd,
        "unit": str(dim.get("unit", "")),
        "usageType": str(attrs.get("usagetype", "")),
        "source": f"{API}, ServiceCode {query.service}, SKU "
        f"{product.get('product', {}).get('sku', '?')}",
        "evidence": [
            f"{dim.get('description', '').strip()} (effective "
            f"{dim.get('effectiveDate', '')[:10]}, publication "
            f"{product.get('publicationDate', '')[:10]})"
        ],
        "scope": "region" if query.regional else "global",
    }


def table(
    region: str,
    entries: Mapping[str, Mapping[str, Any]],
    missing: Mapping[str, str],
    old: Mapping[str, Any] | None,
    today: str,
) -> dict[str, Any]:
    """A price table of ``entries``, keeping the old table's assumptions; ``missing`` keys
    are named in the note so the report's "not priced" lines can be traced to the refresh."""
    note = (
        f"Generated by scripts/refresh_prices.py from the {API} on the date in `generated`: "
        "each price is the On-Demand, first-tier dimension of the single product its query "
        "answered (SKU and description in `source` and `evidence`)."
    )
    if missing:
        note += " Not found: " + "; ".join(f"{k} ({why})" for k, why in sorted(missing.items()))
    return {
        "region": region,
        "currency": "USD",
        "generated": today,
        "method": "aws-price-list-api",
        "source": [API],
        "note": note,
        "hoursPerMonth": 730,
        "prices": dict(sorted(entries.items())),
        "assumptions": dict((old or {}).get("assumptions", {})),
    }


# --- talking to AWS ----------------------------------------------------------------------------


def _boto3() -> Any:
    try:
        return importlib.import_module("boto3")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "boto3"], check=True)
        return importlib.import_module("boto3")


def fetch(query: Query, region: str, client: Any) -> list[Mapping[str, Any]]:
    filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in query.filters.items()]
    if query.regional:
        filters.append({"Type": "TERM_MATCH", "Field": "regionCode", "Value": region})
    pages, token = [], None
    while True:
        kwargs: dict[str, Any] = {
            "ServiceCode": query.service,
            "Filters": filters,
            "MaxResults": 100,
        }
        if token:
            kwargs["NextToken"] = token
        page = client.get_products(**kwargs)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return pages


def wanted_keys(stacks: Iterable[str], project_dir: Path) -> set[str]:
    """Every price key the report asks for when it prices ``stacks``."""
    from components.plan import plan_stack
    from components.report import build_report

    keys: set[str] = set()
    for stack in stacks:
        keys |= build_report(plan_stack(stack, project_dir), stack).cost.wanted
    return keys


def refresh(
    region: str, keys: Iterable[str], out: Path, client_factory: Callable[[], Any] | None = None
) -> dict[str, Any]:
    client = (client_factory or (lambda: _boto3().client("pricing", region_name="us-east-1")))()
    entries: dict[str, dict[str, Any]] = {}
    missing: dict[str, str] = {}
    for key in sorted(keys):
        query = query_for(key)
        if query is None:
            missing[key] = "no query known for this key"
            continue
        try:
            entries[key] = pick(key, query, fetch(query, region, client))
        except PriceNotFound as err:
            missing[key] = str(err)
    path = out / f"{region}.json"
    old = json.loads(path.read_text()) if path.exists() else None
    doc = table(region, entries, missing, old, dt.date.today().isoformat())
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--region", default="ap-southeast-1")
    parser.add_argument("--stacks", nargs="*", default=["prod", "nonprod"])
    parser.add_argument("--project-dir", default=str(ROOT))
    parser.add_argument("--out", default=str(PRICES))
    args = parser.parse_args(argv)
    keys = wanted_keys(args.stacks, Path(args.project_dir))
    try:
        doc = refresh(args.region, keys, Path(args.out))
    except Exception as err:  # no credentials, no network: say so, change nothing
        if type(err).__name__ in (
            "NoCredentialsError",
            "EndpointConnectionError",
            "ClientError",
            "NoRegionError",
        ):
            print(
                f"error: the AWS Price List API could not be called ({err}); the table is "
                "unchanged",
                file=sys.stderr,
            )
            return 2
        raise
    print(f"wrote {len(doc['prices'])} prices for {args.region} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
