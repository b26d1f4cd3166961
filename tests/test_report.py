"""Reports for reviewers (components.report): diagrams that trace to the plan, the committed
reports kept true, encryption in transit read from the resources' inputs, an inventory of
every resource, and a cost estimate that never guesses a price."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from components.report import REGENERATE, build_report, compare, html_page, markdown, to_json
from components.report.__main__ import main
from components.report.cost import FIXED, NOT_PRICED, OUTSIDE, USAGE, PriceTable, price_table
from components.report.graphs import store_transit
from components.report.plan_index import PlanIndex
from components.testing import Plan, Registered

from conftest import ROOT, planned

STACKS = ("prod", "nonprod")
REPORTS = ROOT / "docs" / "reports"


@pytest.fixture(scope="module")
def reports() -> dict[str, Any]:
    built = [build_report(planned(s), s) for s in STACKS]
    compare(built)
    return {r.stack: r for r in built}


def res(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None = None,
    *,
    protect: bool = False,
) -> Registered:
    """A registered resource as the engine would record it (for small synthetic plans)."""
    return Registered(
        type=type_,
        name=name,
        urn=f"urn:pulumi:t::p::{type_}::{name}",
        parent="",
        custom=True,
        inputs=inputs,
        secret_paths=frozenset(),
        protect=protect,
        ignore_changes=(),
        aliases=(),
        delete_before_replace=False,
        retain_on_delete=False,
        replace_on_changes=(),
        dependencies=(),
        outputs={"id": f"{name}-id", **(outputs or {})},
    )


# --- every box and arrow traces to the plan ----------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_node_and_edge_of_both_diagrams_traces_to_resources_of_the_plan(
    reports: dict[str, Any], stack: str
) -> None:
    report = reports[stack]
    urns = {r.urn for r in planned(stack)}
    for graph in (report.network, report.dataflow):
        assert len(graph.nodes) > 10 and len(graph.edges) > 10, graph.title
        ids = graph.ids()
        for item in [*graph.groups, *graph.nodes, *graph.edges]:
            assert item.urns, f"{graph.title}: {item} traces to no resource"
            assert set(item.urns) <= urns, f"{graph.title}: {item} names URNs the plan lacks"
        for edge in graph.edges:
            assert edge.source in ids and edge.target in ids, edge


def test_the_network_diagram_shows_subnets_per_az_gateways_links_and_admissions(
    reports: dict[str, Any],
) -> None:
    net = reports["prod"].network
    labels = " ".join(n.label for n in net.nodes)
    # 5 tiers (firewall, and the migration's staging) x 3 AZs
    assert sum(n.kind == "subnet" for n in net.nodes) == 15
    for part in (
        "NAT gateway prod-nat-a",
        "Network Firewall prod-egress",
        "Internet gateway",
        "Virtual private gateway",
        "Direct Connect gateway",
        "Interface endpoints",
        "Gateway endpoints",
        "on-prem range 172.16.0.0/20",
        "VPN device",
    ):
        assert part in labels, part
    edges = {(e.source, e.target, e.label) for e in net.edges}
    # the app tier's egress: its AZ's firewall endpoint, then that AZ's NAT gateway
    assert ("subnet_prod_app_a", "firewall_prod_egress", "route 0.0.0.0/0") in edges
    assert ("subnet_prod_firewall_a", "nat_prod_nat_a", "route 0.0.0.0/0") in edges
    assert not any(
        e.source.startswith("subnet_prod_data") and e.label == "route 0.0.0.0/0" for e in net.edges
    )
    assert any(
        e.label.startswith("SG loyalty-alb admits tcp 443") and e.source == "internet"
        for e in net.edges
    )
    assert any(
        e.label.startswith("SG mmf-alb admits") and e.source.startswith("range_") for e in net.edges
    )
    # the migration's staging area: on-prem reaches its replication servers on 1500 and its
    # endpoints on 443; it has no default route
    assert (
        "range_172_16_0_0_20",
        "mgn_prod_mgn_replication",
        "SG prod-mgn-replication admits tcp 1500",
    ) in edges
    assert any(
        e.label == "SG prod-mgn-endpoints admits tcp 443" and e.source == "range_172_16_0_0_20"
        for e in net.edges
    )
    assert not any(
        e.source.startswith("subnet_prod_mgn_staging") and e.label == "route 0.0.0.0/0"
        for e in net.edges
    )


# --- encryption in transit, from the inputs ----------------------------------------------------


def test_card_data_flows_carry_their_encryption_from_the_resources_inputs(
    reports: dict[str, Any],
) -> None:
    flow = reports["prod"].dataflow
    by = {(e.source, e.target): e for e in flow.edges}
    front = by[("internet", "waf_loyalty_waf")]
    assert (
        front.encrypted
        and "ELBSecurityPolicy-TLS13" in front.detail
        and "redirects to HTTPS" in front.detail
    )
    assert (
        by[("app_loyalty_asg", "store_prod_rds_loyalty")].detail == "TLS required (rds.force_ssl=1)"
    )
    assert (
        "transit_encryption_mode=required" in by[("app_mmf_asg", "store_prod_redis_group")].detail
    )
    assert "tls=enabled" in by[("app_mmf_asg", "store_prod_docdb_mmf")].detail
    assert (
        by[("dmssrc_prod_dms_source_mmf_mongo", "dms_prod_dms_instance")].detail
        == "DMS source ssl_mode verify-full"
    )
    assert by[("onprem_clients", "vgw_prod_vgw")].encrypted in (True, False)
    stores = [e for e in flow.edges if e.target.startswith("store_")]
    assert len(stores) >= 10 and all(e.encrypted for e in stores)
    # TLS ends at the ALB: the hop to the instances is plaintext, and the report says so
    assert by[("lb_loyalty_alb", "app_loyalty_asg")].encrypted is False


def test_a_store_that_does_not_require_tls_is_marked_plaintext() -> None:
    group = res(
        "aws:rds/parameterGroup:ParameterGroup",
        "pg",
        {"parameters": [{"name": "log_connections", "value": "1"}]},
    )
    db = res(
        "aws:rds/instance:Instance", "db", {"engine": "postgres", "parameterGroupName": "pg-id"}
    )
    idx = PlanIndex(Plan([group, db], {}), "t")
    encrypted, how, urns = store_transit(idx, db)
    assert encrypted is False and "not enforced" in how and group.urn in urns
    forced = res(
        "aws:rds/parameterGroup:ParameterGroup",
        "pg",
        {"parameters": [{"name": "rds.force_ssl", "value": "1"}]},
    )
    assert store_transit(PlanIndex(Plan([forced, db], {}), "t"), db)[0] is True
    cache = res(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "c",
        {"transitEncryptionEnabled": True, "transitEncryptionMode": "preferred"},
    )
    assert store_transit(PlanIndex(Plan([cache], {}), "t"), cache)[0] is False


# --- inventory -----------------------------------------------------------------------------


def test_the_inventory_lists_every_resource_with_its_key_reach_and_protection(
    reports: dict[str, Any],
) -> None:
    rows = {(r.type, r.name): r for r in reports["prod"].inventory}
    plan = planned("prod")
    custom = [r for r in plan if r.custom and not r.type.startswith("pulumi:")]
    assert len(reports["prod"].inventory) == len(custom)
    assert sum(r.protect for r in reports["prod"].inventory) == sum(r.protect for r in custom) > 20
    assert rows[("lb/LoadBalancer", "loyalty-alb")].reachable.startswith("internet (tcp")
    assert rows[("autoscaling/Group", "loyalty-asg")].reachable == "internet (via loyalty-alb)"
    assert "on-prem" in rows[("lb/LoadBalancer", "mmf-alb")].reachable
    assert "internet" not in rows[("lb/LoadBalancer", "mmf-alb")].reachable
    assert rows[("kms/Key", "prod-logs")].reachable == "no"
    rds = rows[("rds/Instance", "prod-rds-loyalty")]
    assert rds.key == "prod-data" or rds.key.startswith("prod-"), rds.key
    assert rds.protect and rds.classification == "cde"
    assert rows[("s3/Bucket", "loyalty-alb-logs")].key.startswith("SSE-S3")


# --- cost ----------------------------------------------------------------------------------


def test_the_price_table_says_when_and_where_each_price_comes_from() -> None:
    table = price_table("ap-southeast-1")
    assert table.generated and table.source and table.method and table.note
    assert len(table.prices) >= 20
    for price in table.prices.values():
        assert price.usd > 0 and price.unit and price.source.startswith("https://aws.amazon.com/")
        assert price.evidence, f"{price.key} has no evidence"


def test_fixed_lines_have_a_price_and_unpriced_lines_say_why(reports: dict[str, Any]) -> None:
    cost = reports["prod"].cost
    assert cost.total(FIXED) > 0 and cost.total(USAGE) > 0
    for line in cost.lines:
        if line.basis in (FIXED, USAGE):
            assert line.unit_usd is not None and line.monthly_usd == round(
                line.quantity * line.unit_usd, 2
            ), line
        if line.basis == NOT_PRICED:
            assert line.note and line.monthly_usd is None, line
    nat = [x for x in cost.lines if x.price_key == "vpc.natGateway.hour"]
    assert len(nat) == 3 and all(x.monthly_usd == round(730 * 0.059, 2) for x in nat)
    missing = {x.price_key for x in cost.not_priced() if x.price_key}
    assert "rds.postgres.db.r6g.large.multiAz.hour" in missing  # never guessed
    assert any(x.basis == OUTSIDE and "dxcon-" in x.item for x in cost.lines)


def test_nonprod_costs_less_than_prod_and_the_ratio_is_reported(reports: dict[str, Any]) -> None:
    prod, nonprod = reports["prod"], reports["nonprod"]
    assert nonprod.cost.total() < prod.cost.total()
    (row,) = [s for s in prod.comparison["stacks"] if s["stack"] == "nonprod"]
    assert row["ratio"] == round(nonprod.cost.total() / prod.cost.total(), 3)
    assert "Nonprod to prod" in markdown(prod)


def test_an_unknown_resource_type_is_inventoried_and_not_priced() -> None:
    odd = res(
        "aws:networkfirewall/firewallPolicy:FirewallPolicy",
        "egress-policy",
        {"tags": {"data-classification": "cde"}},
    )
    key = res("aws:kms/key:Key", "k", {}, {"arn": "arn:aws:kms:ap-southeast-1:1:key/x"})
    report = build_report(Plan([odd, key], {}), "t")
    assert [r.name for r in report.inventory if r.type == "networkfirewall/FirewallPolicy"] == [
        "egress-policy"
    ]
    (line,) = [x for x in report.cost.lines if x.resource == "egress-policy"]
    assert line.basis == NOT_PRICED and "unknown" in line.note
    assert [x.monthly_usd for x in report.cost.lines if x.resource == "k"] == [1.0]


# --- the committed reports, the outputs ----------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_reports_match_the_plan(reports: dict[str, Any], stack: str) -> None:
    report = reports[stack]
    for suffix, text in (
        ("md", markdown(report)),
        ("html", html_page(report)),
        ("json", to_json(report)),
    ):
        path = REPORTS / f"{stack}.{suffix}"
        assert path.exists() and path.read_text() == text, (
            f"{path.relative_to(ROOT)} drifted from the plan: run `{REGENERATE}`"
        )


def test_the_html_page_shows_the_diagrams_as_pictures_without_network_or_script(
    reports: dict[str, Any],
) -> None:
    page = html_page(reports["prod"])
    assert page.count("<svg ") == 2 and "<script" not in page.lower()
    for attr in ("src=", "href=", "@import", "url(http"):
        assert attr not in page, attr
    assert page.count("http://") == page.count('xmlns="http://www.w3.org/2000/svg"')
    for node in reports["prod"].dataflow.nodes:
        assert f'data-id="{node.id}"' in page


def test_the_markdown_has_both_mermaid_diagrams_with_every_node(reports: dict[str, Any]) -> None:
    text = markdown(reports["nonprod"])
    assert text.count("```mermaid") == 2
    for graph in (reports["nonprod"].network, reports["nonprod"].dataflow):
        for node in graph.nodes:
            assert f"n_{node.id}[" in text or f"n_{node.id}([" in text


def test_the_command_writes_markdown_html_and_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("components.report.__main__.plan_stack", lambda stack, _dir: planned(stack))
    assert main(["nonprod", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "nonprod.html",
        "nonprod.json",
        "nonprod.md",
    ]
    assert main(["nonprod", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["stack"] == "nonprod"


def test_an_invalid_stack_exits_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-stack", "--project-dir", str(ROOT)]) == 2
    assert "Pulumi.no-such-stack.yaml not found" in capsys.readouterr().err


def test_the_readme_points_to_the_generated_network_diagram() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/reports/prod.md" in readme and REGENERATE in readme


# --- the refresh script, on recorded responses ------------------------------------------------


def _refresh_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "refresh_prices", ROOT / "scripts" / "refresh_prices.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["refresh_prices"] = module
    spec.loader.exec_module(module)
    return module


def _product(sku: str, usagetype: str, usd: str, unit: str = "Hrs", **attrs: str) -> str:
    """One GetProducts PriceList item, as the API returns it: a JSON string (documented shape:
    product.attributes, terms.OnDemand.<sku.offer>.priceDimensions.<rate>.pricePerUnit.USD).
    Prices are made up: this is the shape, not a price source."""
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "sku": sku,
                "attributes": {"usagetype": usagetype, "regionCode": "ap-southeast-1", **attrs},
            },
            "serviceCode": "AmazonEC2",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "offerTermCode": "JRTCKXETXF",
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "termAttributes": {},
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "beginRange": "0",
                                "endRange": "Inf",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                                "description": f"${usd} per test unit",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def test_a_price_is_the_one_on_demand_product_its_query_answers() -> None:
    rp = _refresh_module()
    query = rp.query_for("vpc.natGateway.hour")
    pages = [
        {
            "FormatVersion": "aws_v1",
            "PriceList": [
                _product("AAA", "APS1-NatGateway-Hours", "1.2345000000"),
                _product("BBB", "APS1-NatGateway-Bytes", "9.8700000000", unit="GB"),
            ],
            "NextToken": "t",
        },
        {"FormatVersion": "aws_v1", "PriceList": []},
    ]
    entry = rp.pick("vpc.natGateway.hour", query, pages)
    assert (
        entry["usd"] == 1.2345
        and entry["usageType"] == "APS1-NatGateway-Hours"
        and "SKU AAA" in entry["source"]
    )
    assert "effective 2026-11-01" in entry["evidence"][0]
    with pytest.raises(rp.PriceNotFound, match="2 priced products"):
        rp.pick(
            "vpc.natGateway.hour",
            query,
            [
                {
                    "PriceList": [
                        _product("AAA", "APS1-NatGateway-Hours", "1"),
                        _product("CCC", "APS1-NatGateway-Hours", "2"),
                    ]
                }
            ],
        )
    with pytest.raises(rp.PriceNotFound, match="0 priced"):
        rp.pick(
            "vpc.natGateway.hour",
            query,
            [{"PriceList": [_product("AAA", "APS1-NatGateway-Hours", "0.0000000000")]}],
        )


def test_every_price_the_stacks_need_has_a_query(reports: dict[str, Any]) -> None:
    rp = _refresh_module()
    wanted = set().union(*(r.cost.wanted for r in reports.values()))
    assert {k for k in wanted if rp.query_for(k) is None} == set()
    ec2 = rp.query_for("ec2.m6i.large.hour")
    assert ec2.service == "AmazonEC2" and ec2.filters["instanceType"] == "m6i.large"
    rds = rp.query_for("rds.postgres.db.r6g.large.multiAz.hour")
    assert rds.filters == {
        "instanceType": "db.r6g.large",
        "databaseEngine": "PostgreSQL",
        "deploymentOption": "Multi-AZ",
        "productFamily": "Database Instance",
    }


def test_a_refresh_writes_a_table_the_report_reads(tmp_path: Path) -> None:
    rp = _refresh_module()
    asked: list[dict[str, Any]] = []

    class Client:
        def get_products(self, **kwargs: Any) -> dict[str, Any]:
            asked.append(kwargs)
            if kwargs["ServiceCode"] == "AmazonEC2":
                return {"PriceList": [_product("E1", "APS1-BoxUsage:m6i.large", "0.5000000000")]}
            return {"PriceList": []}

    old = json.loads((ROOT / "components/report/prices/ap-southeast-1.json").read_text())
    (tmp_path / "ap-southeast-1.json").write_text(json.dumps(old))
    doc = rp.refresh(
        "ap-southeast-1", ["ec2.m6i.large.hour", "kms.key.month"], tmp_path, lambda: Client()
    )
    table = PriceTable.from_json(json.loads((tmp_path / "ap-southeast-1.json").read_text()))
    assert table.prices["ec2.m6i.large.hour"].usd == 0.5 and "kms.key.month" not in table.prices
    assert "kms.key.month" in doc["note"] and table.method == "aws-price-list-api"
    assert table.assumptions == price_table("ap-southeast-1").assumptions
    assert {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "ap-southeast-1"} in asked[0][
        "Filters"
    ]
