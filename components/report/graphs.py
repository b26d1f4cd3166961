"""The graph model behind both diagrams, and how each diagram is read off a plan.

Every group, node and edge carries the URNs of the plan resources it stands for: a
reviewer (and ``tests/test_report.py``) can trace each box and arrow back to what the
stack would create. The Mermaid text and the inline SVG are two renderings of the same
:class:`Graph`, so they cannot disagree.

- :func:`network_graph` (PCI DSS 1.2.3): the VPC, its tiers and subnets per AZ, gateways,
  NAT, endpoints, the VPN and Direct Connect links, the on-prem ranges, the routes each
  subnet takes out, and which security groups admit the internet or on-prem ranges.
- :func:`dataflow_graph` (PCI DSS 1.2.4): where card data can flow, from the internet
  through WAF and load balancers to the app tier and each data store, the on-prem links
  and DMS replication, each edge marked with its encryption in transit as the resources'
  inputs configure it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..testing import Registered
from .plan_index import SG_INGRESS, PlanIndex, as_list, number, short_type


@dataclass
class Group:
    id: str
    label: str
    urns: tuple[str, ...]
    parent: str = ""


@dataclass
class Node:
    id: str
    label: str
    kind: str
    urns: tuple[str, ...]
    group: str = ""


@dataclass
class Edge:
    source: str
    target: str
    label: str
    urns: tuple[str, ...]
    #: True: encrypted in transit; False: not; None: not a data path (a route, a link)
    encrypted: bool | None = None
    detail: str = ""


@dataclass
class Graph:
    title: str
    groups: list[Group] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def group(self, id_: str, label: str, urns: Iterable[str], parent: str = "") -> str:
        existing = next((g for g in self.groups if g.id == id_), None)
        if existing is None:
            self.groups.append(Group(id_, label, tuple(dict.fromkeys(urns)), parent))
        else:
            existing.urns = tuple(dict.fromkeys([*existing.urns, *urns]))
        return id_

    def node(self, id_: str, label: str, kind: str, urns: Iterable[str], group: str = "") -> str:
        existing = next((n for n in self.nodes if n.id == id_), None)
        if existing is None:
            self.nodes.append(Node(id_, label, kind, tuple(dict.fromkeys(urns)), group))
        else:
            existing.urns = tuple(dict.fromkeys([*existing.urns, *urns]))
        return id_

    def edge(
        self,
        source: str,
        target: str,
        label: str,
        urns: Iterable[str],
        encrypted: bool | None = None,
        detail: str = "",
    ) -> None:
        for e in self.edges:
            if (e.source, e.target, e.label) == (source, target, label):
                e.urns = tuple(dict.fromkeys([*e.urns, *urns]))
                return
        self.edges.append(
            Edge(source, target, label, tuple(dict.fromkeys(urns)), encrypted, detail)
        )

    def ids(self) -> set[str]:
        return {g.id for g in self.groups} | {n.id for n in self.nodes}

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "groups": [asdict(g) for g in self.groups],
            "nodes": [asdict(n) for n in self.nodes],
            "edges": [asdict(e) for e in self.edges],
        }


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _urns(*resources: Registered | None) -> list[str]:
    return [r.urn for r in resources if r is not None]


# --- network diagram -------------------------------------------------------------------------


def _tier_of(idx: PlanIndex, subnet: Registered) -> str:
    return idx.tags(subnet).get("tier") or "subnets"


def network_graph(idx: PlanIndex) -> Graph:
    vpc: Registered | None
    table: Registered | None
    vgw: Registered | None
    ep: Registered | None
    cgw: Registered | None
    g = Graph(f"Network diagram: {idx.stack}")
    subnets = idx.of_type("aws:ec2/subnet:Subnet")
    subnet_node: dict[str, str] = {}
    tier_group: dict[str, str] = {}
    vpc_group: dict[str, str] = {}
    for vpc in idx.of_type("aws:ec2/vpc:Vpc"):
        vpc_group[vpc.urn] = g.group(
            f"vpc_{slug(vpc.name)}", f"VPC {vpc.name} {vpc.inputs.get('cidrBlock', '')}", [vpc.urn]
        )
    # NACLs by the subnets they hold, so each tier's box carries its NACL
    nacl_of: dict[str, list[Registered]] = {}
    for assoc in idx.of_type("aws:ec2/networkAclAssociation:NetworkAclAssociation"):
        acl, sub = idx.ref(assoc.inputs.get("networkAclId")), idx.ref(assoc.inputs.get("subnetId"))
        if sub is not None:
            nacl_of.setdefault(sub.urn, []).extend(x for x in (assoc, acl) if x is not None)
    for sub in sorted(subnets, key=lambda s: (_tier_of(idx, s), s.name)):
        vpc = idx.ref(sub.inputs.get("vpcId"))
        parent = vpc_group.get(vpc.urn, "") if vpc else ""
        tier = _tier_of(idx, sub)
        tier_group[tier] = g.group(
            f"{parent}_tier_{slug(tier)}",
            f"{tier} tier",
            [*_urns(sub), *_urns(*nacl_of.get(sub.urn, []))],
            parent,
        )
        label = (
            f"{sub.name}<br/>{sub.inputs.get('cidrBlock', '')} "
            f"{sub.inputs.get('availabilityZone', '')}"
        )
        subnet_node[sub.urn] = g.node(
            f"subnet_{slug(sub.name)}", label, "subnet", [sub.urn], tier_group[tier]
        )

    def place(resource: Registered, subnet_ids: Any) -> str:
        """The tier group holding a resource's subnets (its VPC when they span tiers)."""
        tiers = {_tier_of(idx, s) for s in idx.refs(subnet_ids)}
        if len(tiers) == 1:
            return tier_group[tiers.pop()]
        vpc = idx.ref(resource.inputs.get("vpcId"))
        return vpc_group.get(vpc.urn, "") if vpc else next(iter(vpc_group.values()), "")

    internet_urns: list[str] = []
    for igw in idx.of_type("aws:ec2/internetGateway:InternetGateway"):
        vpc = idx.ref(igw.inputs.get("vpcId"))
        g.node(
            f"igw_{slug(igw.name)}",
            f"Internet gateway {igw.name}",
            "gateway",
            [igw.urn],
            vpc_group.get(vpc.urn, "") if vpc else "",
        )
        internet_urns.append(igw.urn)
    for nat in idx.of_type("aws:ec2/natGateway:NatGateway"):
        eip = idx.ref(nat.inputs.get("allocationId"))
        g.node(
            f"nat_{slug(nat.name)}",
            f"NAT gateway {nat.name}",
            "gateway",
            _urns(nat, eip),
            place(nat, nat.inputs.get("subnetId")),
        )
    # an egress firewall: its endpoints (vpce-..., no resource of their own) are route targets
    firewall_of_endpoint: dict[str, Registered] = {}
    for fw in idx.of_type("aws:networkfirewall/firewall:Firewall"):
        vpc = idx.ref(fw.inputs.get("vpcId"))
        g.node(
            f"firewall_{slug(fw.name)}",
            f"Network Firewall {fw.name} (egress domain allow-list)",
            "gateway",
            [fw.urn],
            vpc_group.get(vpc.urn, "") if vpc else "",
        )
        for status in fw.outputs.get("firewallStatuses") or []:
            for state in status.get("syncStates") or []:
                for attachment in state.get("attachments") or []:
                    firewall_of_endpoint[str(attachment.get("endpointId"))] = fw
    for vgw in idx.of_type("aws:ec2/vpnGateway:VpnGateway"):
        attach = [
            a
            for a in idx.of_type("aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment")
            if idx.ref(a.inputs.get("vpnGatewayId")) is vgw
        ]
        vpc = idx.ref(vgw.inputs.get("vpcId")) or next(
            (idx.ref(a.inputs.get("vpcId")) for a in attach), None
        )
        g.node(
            f"vgw_{slug(vgw.name)}",
            f"Virtual private gateway {vgw.name} ASN "
            f"{int(number(vgw.inputs.get('amazonSideAsn')))}",
            "gateway",
            _urns(vgw, *attach),
            vpc_group.get(vpc.urn, "") if vpc else "",
        )

    # endpoints: one node per kind and tier, listing the services
    endpoints: dict[tuple[str, str], list[Registered]] = {}
    for ep in idx.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        kind = str(ep.inputs.get("vpcEndpointType") or "Gateway")
        where = (
            place(ep, ep.inputs.get("subnetIds"))
            if ep.inputs.get("subnetIds")
            else vpc_group.get(getattr(idx.ref(ep.inputs.get("vpcId")), "urn", ""), "")
        )
        endpoints.setdefault((kind, where), []).append(ep)
    endpoint_node: dict[str, str] = {}
    for (kind, where), eps in sorted(endpoints.items()):
        services = ", ".join(
            sorted(str(e.inputs.get("serviceName", "")).split(".")[-1] for e in eps)
        )
        nid = g.node(
            f"endpoints_{slug(kind)}_{slug(where)}",
            f"{kind} endpoints: {services}",
            "endpoint",
            _urns(*eps),
            where,
        )
        for e in eps:
            endpoint_node[e.urn] = nid

    # routes: subnet -> target per route table association
    subnets_of_table: dict[str, list[Registered]] = {}
    assoc_of_table: dict[str, list[Registered]] = {}
    for assoc in idx.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        table, sub = (
            idx.ref(assoc.inputs.get("routeTableId")),
            idx.ref(assoc.inputs.get("subnetId")),
        )
        if table is not None and sub is not None:
            subnets_of_table.setdefault(table.urn, []).append(sub)
            assoc_of_table.setdefault(table.urn, []).append(assoc)
    target_node = {n.urns[0]: n.id for n in g.nodes if n.kind == "gateway"}
    for route in idx.of_type("aws:ec2/route:Route"):
        table = idx.ref(route.inputs.get("routeTableId"))
        target = next(
            (
                t
                for key in (
                    "natGatewayId",
                    "gatewayId",
                    "transitGatewayId",
                    "vpcEndpointId",
                    "networkInterfaceId",
                )
                if (t := idx.ref(route.inputs.get(key))) is not None
            ),
            None,
        ) or firewall_of_endpoint.get(str(route.inputs.get("vpcEndpointId")))
        if table is None or target is None or target.urn not in target_node:
            continue
        dest = str(
            route.inputs.get("destinationCidrBlock")
            or route.inputs.get("destinationPrefixListId")
            or ""
        )
        for sub, assoc in zip(
            subnets_of_table.get(table.urn, []), assoc_of_table.get(table.urn, []), strict=True
        ):
            g.edge(
                subnet_node[sub.urn],
                target_node[target.urn],
                f"route {dest}",
                _urns(route, table, assoc),
            )
    tier_of_table = {
        urn: {_tier_of(idx, s) for s in subs} for urn, subs in subnets_of_table.items()
    }
    for prop in idx.of_type("aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation"):
        table, vgw = (
            idx.ref(prop.inputs.get("routeTableId")),
            idx.ref(prop.inputs.get("vpnGatewayId")),
        )
        if table is None or vgw is None or vgw.urn not in target_node:
            continue
        for tier in sorted(tier_of_table.get(table.urn, set())):
            g.edge(
                tier_group[tier],
                target_node[vgw.urn],
                "on-prem routes (propagated)",
                _urns(prop, table),
            )
    for assoc in idx.of_type(
        "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation"
    ):
        table, ep = (
            idx.ref(assoc.inputs.get("routeTableId")),
            idx.ref(assoc.inputs.get("vpcEndpointId")),
        )
        if table is None or ep is None or ep.urn not in endpoint_node:
            continue
        for tier in sorted(tier_of_table.get(table.urn, set())):
            g.edge(
                tier_group[tier], endpoint_node[ep.urn], "prefix-list route", _urns(assoc, table)
            )
    # a gateway endpoint that names its route tables itself (the migration staging area's)
    for ep in idx.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        if ep.urn not in endpoint_node:
            continue
        for table in idx.refs(ep.inputs.get("routeTableIds") or []):
            for tier in sorted(tier_of_table.get(table.urn, set())):
                g.edge(tier_group[tier], endpoint_node[ep.urn], "prefix-list route", _urns(table))

    # load balancers: where they sit; security groups that admit the internet or on-prem
    lb_node: dict[str, str] = {}
    for lb in idx.of_type("aws:lb/loadBalancer:LoadBalancer"):
        scheme = "internal" if lb.inputs.get("internal") else "internet-facing"
        lb_node[lb.urn] = g.node(
            f"lb_{slug(lb.name)}",
            f"{lb.name} ({scheme} {lb.inputs.get('loadBalancerType', 'application')} LB)",
            "lb",
            [lb.urn],
            place(lb, lb.inputs.get("subnets")),
        )

    # MGN's replication servers: launched by MGN (not in the plan) into the staging subnet
    # and security group its replication template names
    for template in idx.of_type("aws:cloudcontrol/resource:Resource"):
        if template.inputs.get("typeName") != "AWS::MGN::ReplicationConfigurationTemplate":
            continue
        state = json.loads(str(template.inputs.get("desiredState") or "{}"))
        lb_node[template.urn] = g.node(
            f"mgn_{slug(template.name)}",
            f"MGN replication servers (template {template.name})",
            "lb",
            [template.urn],
            place(template, state.get("StagingAreaSubnetId")),
        )

    onprem_group = ""
    if idx.hybrid or idx.of_type("aws:ec2/customerGateway:CustomerGateway"):
        onprem_group = g.group("onprem", "On-premises", [r.urn for r in idx.hybrid])
        for cgw in idx.of_type("aws:ec2/customerGateway:CustomerGateway"):
            g.node(
                f"cgw_{slug(cgw.name)}",
                f"VPN device {cgw.name} {cgw.inputs.get('ipAddress', '')} ASN "
                f"{int(number(cgw.inputs.get('bgpAsn')))}",
                "device",
                [cgw.urn],
                onprem_group,
            )
    ranges: dict[str, list[str]] = {}
    for admissions in idx.admissions.values():
        for a in admissions:
            if not a.source_cidr:
                continue
            kind = idx.cidr_kind(a.source_cidr)
            if kind in ("internet", "on-prem"):
                ranges.setdefault(a.source_cidr, []).append(a.rule.urn)
    for vpn in idx.of_type("aws:ec2/vpnConnection:VpnConnection"):
        for route in idx.of_type("aws:ec2/vpnConnectionRoute:VpnConnectionRoute"):
            if idx.ref(route.inputs.get("vpnConnectionId")) is vpn:
                ranges.setdefault(str(route.inputs.get("destinationCidrBlock")), []).append(
                    route.urn
                )
    internet = ""
    if internet_urns or any(idx.cidr_kind(c) == "internet" for c in ranges):
        internet = g.node(
            "internet", "Internet", "external", [*internet_urns, *ranges.get("0.0.0.0/0", [])]
        )
        for igw in idx.of_type("aws:ec2/internetGateway:InternetGateway"):
            g.edge(internet, f"igw_{slug(igw.name)}", "internet traffic", [igw.urn])
    range_node: dict[str, str] = {"0.0.0.0/0": internet} if internet else {}
    for cidr, urns in sorted(ranges.items()):
        if cidr == "0.0.0.0/0":
            continue
        range_node[cidr] = g.node(
            f"range_{slug(cidr)}", f"on-prem range {cidr}", "range", urns, onprem_group
        )
    for urn, admissions in sorted(idx.admissions.items()):
        for a in admissions:
            if not a.source_cidr or a.source_cidr not in range_node:
                continue
            for owner in idx.owners.get(urn, []):
                lb_target = lb_node.get(owner.urn) or endpoint_node.get(owner.urn)
                if lb_target:
                    g.edge(
                        range_node[a.source_cidr],
                        lb_target,
                        f"SG {a.group.name} admits {a.ports}",
                        [a.rule.urn, a.group.urn],
                    )

    for vpn in idx.of_type("aws:ec2/vpnConnection:VpnConnection"):
        cgw, vgw = (
            idx.ref(vpn.inputs.get("customerGatewayId")),
            idx.ref(vpn.inputs.get("vpnGatewayId")),
        )
        if cgw is None or vgw is None:
            continue
        routing = "static routes" if vpn.inputs.get("staticRoutesOnly") else "BGP"
        g.edge(
            f"cgw_{slug(cgw.name)}",
            f"vgw_{slug(vgw.name)}",
            f"Site-to-Site VPN {vpn.name}: 2 IPsec tunnels, {routing}",
            [vpn.urn],
            True,
        )
    for dxgw in idx.of_type("aws:directconnect/gateway:Gateway"):
        g.node(
            f"dxgw_{slug(dxgw.name)}", f"Direct Connect gateway {dxgw.name}", "gateway", [dxgw.urn]
        )
        for assoc in idx.of_type("aws:directconnect/gatewayAssociation:GatewayAssociation"):
            if idx.ref(assoc.inputs.get("dxGatewayId")) is dxgw:
                vgw = idx.ref(assoc.inputs.get("associatedGatewayId"))
                if vgw is not None and f"vgw_{slug(vgw.name)}" in g.ids():
                    g.edge(
                        f"dxgw_{slug(dxgw.name)}",
                        f"vgw_{slug(vgw.name)}",
                        "association",
                        [assoc.urn],
                    )
        for vif in idx.of_type("aws:directconnect/privateVirtualInterface:PrivateVirtualInterface"):
            if idx.ref(vif.inputs.get("dxGatewayId")) is dxgw:
                g.edge(
                    onprem_group,
                    f"dxgw_{slug(dxgw.name)}",
                    f"DX private VIF {vif.name} VLAN {int(number(vif.inputs.get('vlan')))} on "
                    f"{vif.inputs.get('connectionId', '?')}",
                    [vif.urn],
                )
    return g


# --- data-flow diagram -----------------------------------------------------------------------

#: Data stores: type -> (label, engine key)
STORES = {
    "aws:rds/instance:Instance": "RDS",
    "aws:rds/cluster:Cluster": "Aurora",
    "aws:docdb/cluster:Cluster": "DocumentDB",
    "aws:elasticache/replicationGroup:ReplicationGroup": "ElastiCache",
    "aws:mq/broker:Broker": "Amazon MQ",
    "aws:opensearch/domain:Domain": "OpenSearch",
}


def _parameters(idx: PlanIndex, name: Any, type_: str) -> dict[str, str]:
    for group in idx.of_type(type_):
        if group.outputs.get("id") == name or group.inputs.get("name") == name:
            return {
                str(p.get("name")): str(p.get("value"))
                for p in as_list(group.inputs.get("parameters"))
                if isinstance(p, Mapping)
            }
    return {}


def _parameter_group(idx: PlanIndex, name: Any, type_: str) -> list[Registered]:
    return [g for g in idx.of_type(type_) if g.outputs.get("id") == name]


def store_transit(idx: PlanIndex, store: Registered) -> tuple[bool, str, list[str]]:
    """(encrypted, how, URNs of the resources that say so) for clients of a data store."""
    i = store.inputs
    if store.type == "aws:rds/instance:Instance":
        pg_type = "aws:rds/parameterGroup:ParameterGroup"
        params = _parameters(idx, i.get("parameterGroupName"), pg_type)
        urns = [store.urn, *_urns(*_parameter_group(idx, i.get("parameterGroupName"), pg_type))]
        engine = str(i.get("engine", ""))
        if params.get("rds.force_ssl") == "1":
            return True, "TLS required (rds.force_ssl=1)", urns
        if params.get("require_secure_transport") in ("1", "ON", "on"):
            return True, "TLS required (require_secure_transport)", urns
        return False, f"TLS not enforced ({engine} parameter group does not require it)", urns
    if store.type == "aws:docdb/cluster:Cluster":
        pg_type = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
        name = i.get("dbClusterParameterGroupName")
        params = _parameters(idx, name, pg_type)
        urns = [store.urn, *_urns(*_parameter_group(idx, name, pg_type))]
        if params.get("tls", "enabled") in ("enabled", "tls1.2+", "tls1.3+", "fips-140-3"):
            return True, f"TLS required (tls={params.get('tls', 'enabled (default)')})", urns
        return False, "TLS disabled (tls=disabled)", urns
    if store.type == "aws:elasticache/replicationGroup:ReplicationGroup":
        if (
            i.get("transitEncryptionEnabled")
            and i.get("transitEncryptionMode", "required") == "required"
        ):
            return True, "TLS required (transit_encryption_mode=required)", [store.urn]
        if i.get("transitEncryptionEnabled"):
            return False, "TLS optional (transit_encryption_mode=preferred)", [store.urn]
        return False, "no TLS (transit encryption disabled)", [store.urn]
    if store.type == "aws:mq/broker:Broker":
        if str(i.get("engineType", "")).lower() == "rabbitmq":
            # Amazon MQ for RabbitMQ brokers expose only TLS endpoints (AMQPS 5671, HTTPS)
            return True, "TLS only (Amazon MQ for RabbitMQ endpoints are AMQPS/HTTPS)", [store.urn]
        return False, "ActiveMQ: TLS depends on the client's transport", [store.urn]
    if store.type == "aws:opensearch/domain:Domain":
        opts = i.get("domainEndpointOptions") or {}
        n2n = (i.get("nodeToNodeEncryption") or {}).get("enabled")
        if isinstance(opts, Mapping) and opts.get("enforceHttps"):
            return (
                True,
                f"HTTPS enforced ({opts.get('tlsSecurityPolicy', 'default policy')}), "
                f"node-to-node {'on' if n2n else 'off'}",
                [store.urn],
            )
        return False, "HTTPS not enforced", [store.urn]
    return False, "unknown", [store.urn]


def _app_label(idx: PlanIndex, asg: Registered) -> str:
    template = asg.inputs.get("launchTemplate")
    lt = idx.ref(template.get("id")) if isinstance(template, Mapping) else None
    itype = lt.inputs.get("instanceType", "") if lt is not None else ""
    return (
        f"{asg.name} (EC2 {itype} "
        f"x{int(number(asg.inputs.get('desiredCapacity'), number(asg.inputs.get('minSize'))))})"
    )


def dataflow_graph(idx: PlanIndex) -> Graph:
    tg: Registered | None
    g = Graph(f"Card-data flow: {idx.stack}")
    node_of_group: dict[str, list[str]] = {}  # SG URN -> nodes placed in it

    def placed(resource: Registered, node_id: str) -> None:
        for group in idx.groups_of(resource):
            node_of_group.setdefault(group.urn, []).append(node_id)

    reach_urns_internet = [
        a.rule.urn
        for rules in idx.admissions.values()
        for a in rules
        if a.source_cidr and idx.cidr_kind(a.source_cidr) == "internet"
    ]
    internet = ""
    if reach_urns_internet:
        igws = idx.of_type("aws:ec2/internetGateway:InternetGateway")
        internet = g.node(
            "internet", "Internet (cardholders)", "external", [*_urns(*igws), *reach_urns_internet]
        )
    onprem = ""
    if idx.hybrid:
        onprem = g.group("onprem", "On-premises data centre", [r.urn for r in idx.hybrid])
        g.node("onprem_clients", "On-prem systems", "external", [r.urn for r in idx.hybrid], onprem)
    vpc = next(iter(idx.of_type("aws:ec2/vpc:Vpc")), None)
    cloud = g.group("cloud", f"AWS {idx.region} {vpc.name if vpc else ''}".strip(), _urns(vpc))
    links = ""
    for vgw in idx.of_type("aws:ec2/vpnGateway:VpnGateway"):
        links = g.node(
            f"vgw_{slug(vgw.name)}", f"VPN / DX gateway {vgw.name}", "gateway", [vgw.urn], cloud
        )
        for vpn in idx.of_type("aws:ec2/vpnConnection:VpnConnection"):
            if idx.ref(vpn.inputs.get("vpnGatewayId")) is vgw:
                algos = sorted(
                    {
                        a
                        for k in (
                            "tunnel1Phase2EncryptionAlgorithms",
                            "tunnel2Phase2EncryptionAlgorithms",
                        )
                        for a in as_list(vpn.inputs.get(k))
                    }
                )
                how = f"IPsec ({', '.join(algos)})" if algos else "IPsec (AWS default proposals)"
                g.edge(
                    "onprem_clients", links, f"Site-to-Site VPN {vpn.name}", [vpn.urn], True, how
                )
        for vif in idx.of_type("aws:directconnect/privateVirtualInterface:PrivateVirtualInterface"):
            g.edge(
                "onprem_clients",
                links,
                f"Direct Connect {vif.name}",
                [vif.urn],
                False,
                "private line, not encrypted by itself (no MACsec configured): each flow over it "
                "must use TLS",
            )

    # WAF and load balancers
    web_acl_of: dict[str, tuple[Registered, Registered]] = {}
    for assoc in idx.of_type("aws:wafv2/webAclAssociation:WebAclAssociation"):
        acl, target = (
            idx.ref(assoc.inputs.get("webAclArn")),
            idx.ref(assoc.inputs.get("resourceArn")),
        )
        if acl is not None and target is not None:
            web_acl_of[target.urn] = (acl, assoc)
    listeners: dict[str, list[Registered]] = {}
    for listener in idx.of_type("aws:lb/listener:Listener"):
        lb = idx.ref(listener.inputs.get("loadBalancerArn"))
        if lb is not None:
            listeners.setdefault(lb.urn, []).append(listener)
    reach = idx.reach()
    tg_node: dict[str, str] = {}
    for asg in idx.of_type("aws:autoscaling/group:Group"):
        nid = g.node(f"app_{slug(asg.name)}", _app_label(idx, asg), "app", [asg.urn], cloud)
        placed(asg, nid)
        for tg in idx.refs(asg.inputs.get("targetGroupArns")):
            tg_node[tg.urn] = nid
    for lb in idx.of_type("aws:lb/loadBalancer:LoadBalancer"):
        lb_id = g.node(
            f"lb_{slug(lb.name)}",
            f"{lb.name} ({'internal' if lb.inputs.get('internal') else 'internet-facing'} LB)",
            "lb",
            [lb.urn],
            cloud,
        )
        placed(lb, lb_id)
        front = lb_id
        if lb.urn in web_acl_of:
            acl, assoc = web_acl_of[lb.urn]
            rules = len(as_list(acl.inputs.get("rules")))
            front = g.node(
                f"waf_{slug(acl.name)}",
                f"WAF {acl.name} ({rules} rules)",
                "waf",
                [acl.urn, assoc.urn],
                cloud,
            )
            g.edge(
                front,
                lb_id,
                "inspected requests",
                [assoc.urn],
                True,
                "same TLS session: WAF inspects at the load balancer",
            )
        lb_listeners = listeners.get(lb.urn, [])
        tls = [x for x in lb_listeners if str(x.inputs.get("protocol")) in ("HTTPS", "TLS")]
        plain = [x for x in lb_listeners if x not in tls]
        redirect = all(
            any(
                isinstance(a, Mapping) and a.get("type") == "redirect"
                for a in as_list(x.inputs.get("defaultActions"))
            )
            for x in plain
        )
        label_parts = [
            f"{x.inputs.get('protocol')} {int(number(x.inputs.get('port')))}" for x in tls
        ]
        detail = "; ".join(
            f"{x.inputs.get('protocol')} {int(number(x.inputs.get('port')))} policy "
            f"{x.inputs.get('sslPolicy', 'default')}"
            for x in tls
        )
        if plain:
            detail += "; " + ", ".join(
                f"{x.inputs.get('protocol')} {int(number(x.inputs.get('port')))} "
                f"{'redirects to HTTPS' if redirect else 'serves plaintext'}"
                for x in plain
            )
        encrypted = bool(tls) and (not plain or redirect)
        sources = {kind for group in idx.groups_of(lb) for kind in reach.get(group.urn, {})}
        lis_urns = _urns(*lb_listeners)
        adm_urns = [
            a.rule.urn
            for group in idx.groups_of(lb)
            for a in idx.admissions.get(group.urn, [])
            if a.source_cidr
        ]
        if "internet" in sources and internet:
            g.edge(
                internet,
                front,
                ", ".join(label_parts) or "requests",
                [*lis_urns, *adm_urns],
                encrypted,
                detail,
            )
        if "on-prem" in sources and onprem:
            g.edge(
                links or "onprem_clients",
                front,
                ", ".join(label_parts) or "requests",
                [*lis_urns, *adm_urns],
                encrypted,
                detail + " (from on-prem ranges)",
            )
        for listener in lb_listeners:
            for action in as_list(listener.inputs.get("defaultActions")):
                tg = idx.ref(action.get("targetGroupArn")) if isinstance(action, Mapping) else None
                if tg is not None and tg.urn in tg_node:
                    proto = str(tg.inputs.get("protocol", "HTTP"))
                    g.edge(
                        lb_id,
                        tg_node[tg.urn],
                        f"{proto} {int(number(tg.inputs.get('port')))}",
                        [listener.urn, tg.urn],
                        proto in ("HTTPS", "TLS"),
                        "TLS re-established to the targets"
                        if proto in ("HTTPS", "TLS")
                        else "TLS ends at the load balancer: plaintext inside the VPC to "
                        "the instances",
                    )

    # data stores, their clients by security-group admission
    dms_nodes: list[tuple[Registered, str]] = []
    for ri in idx.of_type("aws:dms/replicationInstance:ReplicationInstance"):
        nid = g.node(
            f"dms_{slug(ri.name)}",
            f"DMS {ri.name} "
            f"({ri.inputs.get('replicationInstanceClass', '')}"
            f"{', Multi-AZ' if ri.inputs.get('multiAz') else ''})",
            "dms",
            [ri.urn],
            cloud,
        )
        placed(ri, nid)
        dms_nodes.append((ri, nid))
    for store in idx.of_type(*STORES):
        extra = [
            c
            for c in idx.of_type("aws:docdb/clusterInstance:ClusterInstance")
            if c.inputs.get("clusterIdentifier")
            in (store.outputs.get("id"), store.inputs.get("clusterIdentifier"))
        ]
        label = f"{STORES[store.type]} {store.name}"
        nid = g.node(
            f"store_{slug(store.name)}", label, "store", [store.urn, *_urns(*extra)], cloud
        )
        encrypted, how, urns = store_transit(idx, store)
        for group in idx.groups_of(store):
            for a in idx.admissions.get(group.urn, []):
                if a.source_group is not None:
                    for client in node_of_group.get(a.source_group.urn, []):
                        if client.startswith("dms_"):
                            continue
                        g.edge(client, nid, a.ports, [a.rule.urn, *urns], encrypted, how)
                elif a.source_cidr and idx.cidr_kind(a.source_cidr) == "on-prem" and onprem:
                    g.edge(
                        links or "onprem_clients",
                        nid,
                        a.ports,
                        [a.rule.urn, *urns],
                        encrypted,
                        how + " (from on-prem)",
                    )
                elif a.source_cidr and idx.cidr_kind(a.source_cidr) == "internet" and internet:
                    g.edge(internet, nid, a.ports, [a.rule.urn, *urns], encrypted, how)
        for ri, dms_id in dms_nodes:
            if any(
                a.source_group is not None and a.source_group in idx.groups_of(ri)
                for group in idx.groups_of(store)
                for a in idx.admissions.get(group.urn, [])
            ):
                engine = _engine_family(store)
                targets = [
                    e
                    for e in idx.of_type("aws:dms/endpoint:Endpoint")
                    if e.inputs.get("endpointType") == "target"
                    and _engine_family_name(str(e.inputs.get("engineName", ""))) == engine
                ]
                modes = sorted({str(e.inputs.get("sslMode", "none")) for e in targets})
                ok = bool(modes) and all(
                    m in ("require", "verify-ca", "verify-full") for m in modes
                )
                g.edge(
                    dms_id,
                    nid,
                    f"replication into {engine}",
                    [*_urns(*targets), *_task_urns(idx, targets)],
                    ok,
                    f"DMS target ssl_mode {', '.join(modes) or 'unset'}",
                )

    # DMS sources on-prem
    for _ri, dms_id in dms_nodes:
        src_endpoints = [
            e
            for e in idx.of_type("aws:dms/endpoint:Endpoint")
            if e.inputs.get("endpointType") == "source"
        ]
        for src in src_endpoints:
            where = onprem or cloud
            sid = g.node(
                f"dmssrc_{slug(src.name)}",
                f"source {src.inputs.get('engineName', '')} {src.inputs.get('databaseName', '')} "
                f"({src.name})",
                "store",
                [src.urn],
                where,
            )
            mode = str(src.inputs.get("sslMode", "none"))
            g.edge(
                sid,
                dms_id,
                "full load + CDC",
                [src.urn, *_task_urns(idx, [src])],
                mode in ("require", "verify-ca", "verify-full"),
                f"DMS source ssl_mode {mode}",
            )
    return g


def _engine_family_name(engine: str) -> str:
    engine = engine.lower()
    if engine in ("postgres", "aurora-postgresql", "postgresql"):
        return "postgres"
    if engine in ("docdb", "mongodb"):
        return "docdb"
    if engine in ("mysql", "aurora", "aurora-mysql", "mariadb"):
        return "mysql"
    return engine


def _engine_family(store: Registered) -> str:
    if store.type == "aws:docdb/cluster:Cluster":
        return "docdb"
    return _engine_family_name(str(store.inputs.get("engine", "")))


def _task_urns(idx: PlanIndex, endpoints: list[Registered]) -> list[str]:
    arns = {e.outputs.get("endpointArn") or e.outputs.get("arn") for e in endpoints}
    return [
        t.urn
        for t in idx.of_type("aws:dms/replicationTask:ReplicationTask")
        if t.inputs.get("sourceEndpointArn") in arns or t.inputs.get("targetEndpointArn") in arns
    ]


# --- tables for reviewers ---------------------------------------------------------------------


def security_group_rows(idx: PlanIndex) -> list[dict[str, str]]:
    """Every security group rule, by group: who it admits or reaches, on what."""
    rows = []
    for rule in idx.of_type(SG_INGRESS, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
        group = idx.ref(rule.inputs.get("securityGroupId"))
        peer_group = idx.ref(rule.inputs.get("referencedSecurityGroupId"))
        cidr = rule.inputs.get("cidrIpv4") or rule.inputs.get("cidrIpv6")
        peer = (
            f"SG {peer_group.name}"
            if peer_group
            else f"{cidr} ({idx.cidr_kind(str(cidr))})"
            if cidr
            else str(rule.inputs.get("prefixListId", "?"))
        )
        rows.append(
            {
                "group": group.name if group else "?",
                "direction": "in" if rule.type == SG_INGRESS else "out",
                "peer": peer,
                "ports": _ports(rule),
                "rule": rule.name,
            }
        )
    return sorted(rows, key=lambda r: (r["group"], r["direction"], r["rule"]))


def _ports(rule: Registered) -> str:
    from .plan_index import ports

    return ports(rule.inputs)


def nacl_rows(idx: PlanIndex) -> list[dict[str, str]]:
    rows = []
    for rule in idx.of_type("aws:ec2/networkAclRule:NetworkAclRule"):
        acl = idx.ref(rule.inputs.get("networkAclId"))
        cidr = str(rule.inputs.get("cidrBlock") or rule.inputs.get("ipv6CidrBlock") or "")
        proto = {"6": "tcp", "17": "udp", "-1": "all"}.get(
            str(rule.inputs.get("protocol")).split(".")[0], str(rule.inputs.get("protocol"))
        )
        rows.append(
            {
                "nacl": acl.name if acl else "?",
                "direction": "out" if rule.inputs.get("egress") else "in",
                "rule": str(int(number(rule.inputs.get("ruleNumber")))),
                "action": str(rule.inputs.get("ruleAction", "")),
                "peer": f"{cidr} ({idx.cidr_kind(cidr)})" if cidr else "?",
                "ports": ports_of_nacl(rule.inputs, proto),
            }
        )
    return sorted(rows, key=lambda r: (r["nacl"], r["direction"], int(r["rule"])))


def ports_of_nacl(inputs: Mapping[str, Any], proto: str) -> str:
    if proto == "all":
        return "all traffic"
    lo, hi = inputs.get("fromPort"), inputs.get("toPort")
    if lo is None:
        return proto
    return (
        f"{proto} {int(number(lo))}"
        if number(lo) == number(hi)
        else f"{proto} {int(number(lo))}-{int(number(hi))}"
    )


__all__ = [
    "Edge",
    "Graph",
    "Group",
    "Node",
    "dataflow_graph",
    "nacl_rows",
    "network_graph",
    "security_group_rows",
    "short_type",
    "store_transit",
]
