"""Pure-Python network planning: subnet CIDRs, service ports and NACL rule numbers.

Nothing here talks to Pulumi, so the plan can be validated (and unit-tested) before any
resource is registered.

Identity by name, never by position:
- a subnet's CIDR is a function of (tier slot, AZ letter) only, so adding an AZ or a tier
  never renumbers an existing subnet (the top complaint against terraform-aws-modules/vpc,
  CDK Vpc and awsx Vpc);
- a NACL rule's number is a function of (source slot, port slot) only, so adding a data
  store or an on-prem range never renumbers an existing rule (NACL rule numbers are
  replace-on-change in AWS, and a renumbered rule collides with its neighbour);
- every rule also has an alternate number (its table number + 10000) that no other rule
  uses. An entry whose content changes (wider app ports, another CIDR) is replaced, and the
  replacement is created before the old entry is deleted, so it must not take a number the
  NACL still holds: :func:`deployed_rule_number` picks, from the NACL as deployed, the one
  of the two numbers that holds this very entry, or else the one that is free.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..core.onprem import ON_PREM_PEER_BASE

# --- Subnet plan -------------------------------------------------------------------------

#: The VPC is cut into 8 equal tier blocks, each tier block into 8 equal AZ subnets.
TIER_BLOCK_NEWBITS = 3
AZ_SUBNET_NEWBITS = 3
MAX_TIER_SLOTS = 2**TIER_BLOCK_NEWBITS
#: AWS: the smallest subnet is a /28; the largest VPC is a /16.
MIN_SUBNET_PREFIX = 28
MAX_VPC_PREFIX_FOR_PLAN = MIN_SUBNET_PREFIX - TIER_BLOCK_NEWBITS - AZ_SUBNET_NEWBITS

#: Fixed slots of the three standard tiers. Extra tiers name their own slot (3..7).
STANDARD_TIER_SLOTS: Mapping[str, int] = {"public": 0, "app": 1, "data": 2}
#: The egress firewall's endpoints get their own subnets (AWS Network Firewall inspects
#: nothing that starts or ends in the firewall's own subnet) in the last tier block, present
#: only while the egress goes through a firewall; no extra tier may then take that slot.
FIREWALL_TIER = "firewall"
FIREWALL_SLOT = MAX_TIER_SLOTS - 1
#: The staging area of a rehost migration (AWS Application Migration Service: its replication
#: and conversion servers and its endpoints) takes tier block 6, present only while
#: ``hybrid.migration`` is configured (HybridConnectivity builds it); no extra tier may take
#: that slot then. Its subnets come from this plan like every other tier's, so no CIDR
#: overlaps and removing the staging area after cutover renumbers nothing.
STAGING_TIER = "staging"
STAGING_SLOT = MAX_TIER_SLOTS - 2
RESERVED_TIER_NAMES = frozenset({*STANDARD_TIER_SLOTS, FIREWALL_TIER, STAGING_TIER})
AZ_LETTERS = "abcdefgh"

#: AZ letters per region that every account sees (config validation and mocks).
REGION_AZ_LETTERS: Mapping[str, str] = {
    "ap-southeast-1": "abc",
    "ap-southeast-2": "abc",
    "ap-southeast-3": "abc",
    "ap-northeast-1": "acd",
    "ap-south-1": "abc",
    "eu-west-1": "abc",
    "eu-central-1": "abc",
    "us-east-1": "abcdef",
    "us-east-2": "abc",
    "us-west-2": "abcd",
}


def az_slot(letter: str) -> int:
    """The AZ's fixed position in a tier block: 'a' -> 0, 'b' -> 1 ..."""
    return AZ_LETTERS.index(letter)


def tier_block(vpc_cidr: str, tier_slot: int) -> ipaddress.IPv4Network:
    vpc = ipaddress.IPv4Network(vpc_cidr)
    blocks = list(vpc.subnets(prefixlen_diff=TIER_BLOCK_NEWBITS))
    return blocks[tier_slot]


def subnet_cidr(vpc_cidr: str, tier_slot: int, az_letter: str) -> str:
    """The CIDR of the subnet of one tier in one AZ; depends on nothing else."""
    block = tier_block(vpc_cidr, tier_slot)
    return str(list(block.subnets(prefixlen_diff=AZ_SUBNET_NEWBITS))[az_slot(az_letter)])


# --- Ports -------------------------------------------------------------------------------

_PORTS = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


#: Administrative ports (SSH, RDP) no NACL entry admits from outside the VPC and no port
#: setting may include: shell access goes through SSM Session Manager (AWS Security Hub
#: EC2.21: no NACL ingress from 0.0.0.0/0 to 22 or 3389).
ADMIN_PORTS = (22, 3389)


def parse_port_range(value: str) -> tuple[int, int]:
    """``"8080"`` or ``"8080-8089"`` as (from, to); ValueError naming the fix otherwise.

    No administrative port (22, 3389) is ever part of a range: shell access goes through
    SSM Session Manager.
    """
    match = _PORTS.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a port or port range like 8080 or 8080-8089")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 1 <= low <= high <= 65535:
        raise ValueError(f"{value!r}: ports must satisfy 1 <= from <= to <= 65535")
    for port in ADMIN_PORTS:
        if low <= port <= high:
            raise ValueError(
                f"{value!r} includes the administrative port {port}; shell access goes "
                "through SSM Session Manager only"
            )
    return low, high


@dataclass(frozen=True)
class Service:
    """A TCP service a NACL or security group opens. ``slot`` fixes its NACL rule number."""

    name: str
    from_port: int
    to_port: int
    slot: int


#: Every port a NACL may open, each with a fixed slot (0..99) in the rule number. Slot 5
#: (an all-protocol entry inside the data tier, until issue 13) is retired, never reused.
SERVICES: Mapping[str, Service] = {
    s.name: s
    for s in (
        Service("https", 443, 443, 1),
        Service("http", 80, 80, 2),
        Service("app", 0, 0, 3),  # the app port range comes from SecureVpcSettings
        # the answers to connections a tier opens: the whole ephemeral range from peers
        # inside the VPC; from outside it (the internet, on-prem), the two parts around the
        # RDP port, so no entry admits an administrative port from there (22 < 1024)
        Service("ephemeral", 1024, 65535, 4),
        Service("ephemeral-low", 1024, ADMIN_PORTS[1] - 1, 7),
        Service("ephemeral-high", ADMIN_PORTS[1] + 1, 65535, 8),
        Service("postgres", 5432, 5432, 10),
        Service("mysql", 3306, 3306, 11),
        Service("documentdb", 27017, 27017, 12),
        Service("redis", 6379, 6379, 13),
        Service("rabbitmq", 5671, 5671, 14),
        Service("opensearch", 443, 443, 1),  # same port and slot as https
        Service("oracle", 1521, 1521, 16),
        Service("sqlserver", 1433, 1433, 17),
        Service("mongodb", 27017, 27017, 12),  # on-prem MongoDB, a DMS source
        Service("tier", 0, 0, 6),  # an extra tier's own ingress port range
        # AWS Application Migration Service: source servers' agents send replicated data to
        # the replication servers on TCP 1500 (MGN User Guide, "Network requirements")
        Service("mgn-replication", 1500, 1500, 18),
    )
}

#: Services a data store can declare (they open on the data tier from the app tier).
DATA_SERVICES: tuple[str, ...] = (
    "postgres",
    "mysql",
    "documentdb",
    "redis",
    "rabbitmq",
    "opensearch",
)

# --- NACL rules --------------------------------------------------------------------------

ANYWHERE = "0.0.0.0/0"

#: Fixed source/destination slots (hundreds digit of the rule number).
PEER_SLOTS: Mapping[str, int] = {
    "internet": 1,
    "public": 2,
    "app": 3,
    "data": 4,
    "vpc": 5,
}
EXTRA_TIER_PEER_BASE = 10  # extra tier in slot s -> peer slot 10 + s

#: AWS default quota of rules per NACL per direction (adjustable to 40 on request).
DEFAULT_NACL_RULE_QUOTA = 20

#: A rule's alternate number is its table number plus this. Table numbers stay below it
#: (peer slots < 100, port slots < 100) and AWS numbers run to 32766, so no alternate is
#: ever another rule's table number or alternate.
ALTERNATE_OFFSET = 10_000
MAX_RULE_NUMBER = 32_766

#: Services whose ports come from the settings (``app_ports``, an extra tier's
#: ``ingress_ports``): the entries a port change replaces.
PORTS_FROM_SETTINGS = frozenset({"app", "tier"})

#: NACL entries carry protocol numbers in AWS (the provider reads them back as such).
PROTOCOL_NUMBERS: Mapping[str, str] = {"tcp": "6", "udp": "17", "icmp": "1", "all": "-1"}


@dataclass(frozen=True)
class NaclRule:
    """One numbered NACL entry. ``key`` names it for a stable Pulumi logical name."""

    tier: str
    egress: bool
    peer: str
    cidr: str
    service: str
    from_port: int
    to_port: int
    rule_number: int
    protocol: str = "tcp"

    @property
    def key(self) -> str:
        direction = "out" if self.egress else "in"
        return f"{self.tier}-{direction}-{self.service}-{self.peer}"

    @property
    def numbers(self) -> tuple[int, int]:
        """The rule's table number and its alternate (see :func:`deployed_rule_number`)."""
        return self.rule_number, self.rule_number + ALTERNATE_OFFSET

    @property
    def content(self) -> tuple[str, str, int, int]:
        """What AWS holds for the entry besides its number: (protocol number, CIDR, ports);
        all-protocol entries have no ports."""
        protocol = PROTOCOL_NUMBERS.get(self.protocol, self.protocol)
        ports = (0, 0) if protocol == "-1" else (self.from_port, self.to_port)
        return protocol, self.cidr, *ports


@dataclass(frozen=True)
class DeployedEntry:
    """A NACL entry as AWS holds it (the provider's ``ingress``/``egress`` of the NACL)."""

    rule_number: int
    protocol: str
    cidr: str
    from_port: int
    to_port: int
    action: str = "allow"

    @property
    def content(self) -> tuple[str, str, int, int]:
        protocol = PROTOCOL_NUMBERS.get(self.protocol, self.protocol)
        ports = (0, 0) if protocol == "-1" else (self.from_port, self.to_port)
        return protocol, self.cidr, *ports


class NaclNumberTaken(ValueError):
    """Both numbers of an entry hold other entries in the deployed NACL."""


def deployed_rule_number(rule: NaclRule, deployed: Iterable[DeployedEntry]) -> int:
    """The number ``rule`` gets in a NACL that holds ``deployed`` (its entries in the rule's
    direction, as AWS has them now).

    AWS replaces an entry on any change, and Pulumi creates the replacement before it deletes
    the old entry; AWS refuses a second entry under a number in use. So: the number that
    already holds exactly this entry (nothing changes); else the one of the two that is free
    (the old entry, under the other, goes once the new one exists); a new NACL gets the
    table number.
    """
    held = {e.rule_number: e for e in deployed}
    for number in rule.numbers:
        entry = held.get(number)
        if entry is not None and entry.action.lower() == "allow" and entry.content == rule.content:
            return number
    for number in rule.numbers:
        if number not in held:
            return number
    first, second = rule.numbers
    raise NaclNumberTaken(
        f"NACL entry {rule.key}: rule numbers {first} and {second} both hold other entries "
        "in the deployed NACL; delete the entries this stack does not manage (or the stale "
        "one of a failed update) and deploy again"
    )


@dataclass(frozen=True)
class TierSpec:
    """What the NACL planner needs to know of a tier."""

    name: str
    slot: int
    cidr: str  # the tier block
    nat_egress: bool = False
    ingress_from: int = 0  # extra tiers: port range open from the VPC
    ingress_to: int = 0


@dataclass(frozen=True)
class NaclInputs:
    vpc_cidr: str
    tiers: Mapping[str, TierSpec]
    app_port_from: int
    app_port_to: int
    nat_available: bool
    on_prem: Mapping[str, tuple[str, int]]  # name -> (cidr, naclSlot)
    on_prem_to_app: bool
    on_prem_to_data: bool
    data_services: tuple[str, ...]
    dms_source_engines: tuple[str, ...]
    #: stores a DMS replication instance in the data tier writes to: their ports open
    #: between the data tier's own subnets (the only connections the tier's nodes open to
    #: each other through its subnets: see :func:`plan_nacl_rules`)
    dms_target_services: tuple[str, ...] = ()
    #: the egress goes through the firewall tier (AWS Network Firewall) before the NAT
    firewall: bool = False


class _RuleBook:
    def __init__(self, inputs: NaclInputs) -> None:
        self.inputs = inputs
        self.rules: list[NaclRule] = []

    def peer_slot(self, peer: str) -> int:
        if peer in PEER_SLOTS:
            return PEER_SLOTS[peer]
        if peer.startswith("onprem-"):
            return ON_PREM_PEER_BASE + self.inputs.on_prem[peer.removeprefix("onprem-")][1]
        return EXTRA_TIER_PEER_BASE + self.inputs.tiers[peer].slot

    def cidr(self, peer: str) -> str:
        if peer == "internet":
            return ANYWHERE
        if peer == "vpc":
            return self.inputs.vpc_cidr
        if peer.startswith("onprem-"):
            return self.inputs.on_prem[peer.removeprefix("onprem-")][0]
        return self.inputs.tiers[peer].cidr

    def add(self, tier: str, egress: bool, peer: str, service: str) -> None:
        svc = SERVICES[service]
        lo, hi = svc.from_port, svc.to_port
        if service == "app":
            lo, hi = self.inputs.app_port_from, self.inputs.app_port_to
        elif service == "tier":
            lo, hi = self.inputs.tiers[tier].ingress_from, self.inputs.tiers[tier].ingress_to
        number = self.peer_slot(peer) * 100 + svc.slot
        rule = NaclRule(tier, egress, peer, self.cidr(peer), service, lo, hi, number)
        if any(
            r.tier == tier
            and r.egress == egress
            and r.rule_number == number
            and r.content == rule.content
            for r in self.rules
        ):
            return  # same port and peer already open (e.g. https and opensearch)
        self.rules.append(rule)  # a different entry under a used number: check_plan says so

    def answers_from(self, tier: str, peer: str) -> None:
        """Inbound answers to the connections ``tier`` opens to ``peer``: the ephemeral
        ports, around the RDP port when ``peer`` is outside the VPC."""
        for service in returns_from(peer):
            self.add(tier, False, peer, service)

    def both_ways(self, tier: str, peer: str, service: str) -> None:
        """Ingress on ``service`` from ``peer`` plus the stateless ephemeral return (the
        answer leaves towards the client's ephemeral port: an outbound entry, which admits
        nothing into the tier)."""
        self.add(tier, False, peer, service)
        self.add(tier, True, peer, "ephemeral")

    def outbound(self, tier: str, peer: str, service: str) -> None:
        """Egress on ``service`` to ``peer`` plus the stateless ephemeral return."""
        self.add(tier, True, peer, service)
        self.answers_from(tier, peer)


def is_outside_vpc(peer: str) -> bool:
    """Whether a NACL peer lies outside the VPC (the internet or an on-prem range)."""
    return peer == "internet" or peer.startswith("onprem-")


def returns_from(peer: str) -> tuple[str, ...]:
    """The services that admit answers from ``peer``: from outside the VPC the ephemeral
    range without the RDP port (PCI DSS 1.3.1, Security Hub EC2.21); inside it, the whole
    range (the tiers are our own, each behind its own NACL and security groups)."""
    if is_outside_vpc(peer):
        return ("ephemeral-low", "ephemeral-high")
    return ("ephemeral",)


def _on_prem_peers(inputs: NaclInputs) -> list[str]:
    return [f"onprem-{name}" for name in inputs.on_prem]


def plan_nacl_rules(inputs: NaclInputs) -> list[NaclRule]:
    """Least-privilege rules for every tier, as (tier, direction, service, peer) entries.

    NACLs are stateless, so every allowed flow also needs its ephemeral return path.
    Amazon DNS, the instance metadata service and Amazon Time Sync are not filtered by
    NACLs, so they need no rule.
    """
    book = _RuleBook(inputs)
    tiers = inputs.tiers

    # public: load balancers and NAT gateways
    for service in ("https", "http"):
        book.add("public", False, "internet", service)
    book.add("public", True, "internet", "ephemeral")  # the load balancers' answers
    book.add("public", True, "app", "app")  # load balancer -> targets
    book.add("public", False, "app", "ephemeral")  # ... and the targets' answers
    if inputs.nat_available:
        book.add("public", True, "internet", "https")  # NAT forwards 443 egress
        book.answers_from("public", "internet")  # ... and the answers it translates back

    # app: instances behind load balancers (public or internal), interface endpoints
    book.both_ways("app", "public", "app")
    book.both_ways("app", "app", "app")  # internal ALB -> targets in another AZ
    book.both_ways("app", "vpc", "https")  # interface endpoints live in the app tier
    book.outbound("app", "vpc", "https")
    if inputs.on_prem_to_app:
        for peer in _on_prem_peers(inputs):
            book.both_ways("app", peer, "https")  # internal ALB
            book.both_ways("app", peer, "app")
    # HTTPS to public addresses: through the NAT (when there is one) and, always, to the S3
    # and DynamoDB gateway endpoints, whose public ranges a NACL cannot name (prefix lists
    # are not NACL peers); the route tables decide which of them is reachable
    book.outbound("app", "internet", "https")
    for service in inputs.data_services:
        book.outbound("app", "data", service)

    # data: isolated; the only way out of the VPC is to on-prem DMS sources
    for service in inputs.data_services:
        book.both_ways("data", "app", service)
    # Between the data tier's own subnets only what its nodes open to each other there: DMS
    # writing to its targets. The stores' replication (RDS Multi-AZ, DocumentDB's cluster
    # volume, ElastiCache replicas, OpenSearch nodes, the RabbitMQ cluster) runs on each
    # service's own network, not through our subnets: their security groups admit only
    # their clients and the tier works (docs/secure-vpc.md#data-tier).
    for service in inputs.dms_target_services:
        book.both_ways("data", "data", service)
        book.outbound("data", "data", service)
    book.outbound("data", "app", "https")  # interface endpoints (Secrets Manager, KMS, logs)
    if inputs.on_prem_to_data:
        for peer in _on_prem_peers(inputs):
            for service in inputs.data_services:
                book.both_ways("data", peer, service)
    for peer in _on_prem_peers(inputs):
        for engine in inputs.dms_source_engines:
            book.outbound("data", peer, engine)

    # extra private tiers
    for tier in tiers.values():
        if tier.name in STANDARD_TIER_SLOTS or tier.name == FIREWALL_TIER:
            continue
        if tier.ingress_to:
            book.both_ways(tier.name, "vpc", "tier")
        book.outbound(tier.name, "vpc", "https")
        if tier.nat_egress and inputs.nat_available:
            book.outbound(tier.name, "internet", "https")

    if inputs.firewall:
        _firewall_rules(book, inputs)
    return book.rules


def _firewall_rules(book: _RuleBook, inputs: NaclInputs) -> None:
    """The firewall tier passes on what its endpoints forward: each NAT'd tier's HTTPS to
    the NAT and the answers back; and the load balancers' traffic with their targets in
    the app tier, which the route tables send through the endpoint of the load balancer
    node's AZ so that both directions cross it (docs/secure-vpc.md#egress-firewall)."""
    fw = FIREWALL_TIER
    extra = sorted(t.name for t in inputs.tiers.values() if t.nat_egress and t.name != "app")
    nat_tiers = ["app", *extra]
    for tier in nat_tiers:
        book.add(fw, False, tier, "https")
        book.add(fw, True, tier, "ephemeral")
    book.add(fw, True, "internet", "https")
    book.answers_from(fw, "internet")
    book.add(fw, False, "public", "app")
    book.add(fw, True, "app", "app")
    book.add(fw, False, "app", "ephemeral")
    book.add(fw, True, "public", "ephemeral")


def plan_staging_nacl_rules(
    vpc_cidr: str, sources: Mapping[str, tuple[str, int]]
) -> list[NaclRule]:
    """The NACL entries of a migration staging tier (slot :data:`STAGING_SLOT`).

    ``sources`` are the on-prem ranges whose servers replicate (name -> (cidr, naclSlot)).
    From them: TCP 1500 to the replication servers and HTTPS to the MGN and S3 interface
    endpoints in the staging subnets (the agents' control traffic and downloads), each with
    its stateless answer. Inside the tier: HTTPS between the servers and the endpoints of
    every staging subnet. Out: HTTPS to public addresses, which the staging route table
    sends only to the S3 gateway endpoint (NACLs cannot name a prefix list); answers from
    outside the VPC never on the RDP port (Security Hub EC2.21)."""
    tier = STAGING_TIER
    tiers = {tier: TierSpec(tier, STAGING_SLOT, str(tier_block(vpc_cidr, STAGING_SLOT)))}
    book = _RuleBook(
        NaclInputs(
            vpc_cidr=vpc_cidr,
            tiers=tiers,
            app_port_from=0,
            app_port_to=0,
            nat_available=False,
            on_prem=dict(sources),
            on_prem_to_app=False,
            on_prem_to_data=False,
            data_services=(),
            dms_source_engines=(),
        )
    )
    for name in sources:
        book.both_ways(tier, f"onprem-{name}", "mgn-replication")
        book.both_ways(tier, f"onprem-{name}", "https")
    book.both_ways(tier, tier, "https")
    book.outbound(tier, tier, "https")
    book.outbound(tier, "internet", "https")
    return book.rules


def count_rules(rules: Iterable[NaclRule]) -> dict[tuple[str, bool], int]:
    counts: dict[tuple[str, bool], int] = {}
    for rule in rules:
        counts[(rule.tier, rule.egress)] = counts.get((rule.tier, rule.egress), 0) + 1
    return counts


def shared_numbers(rules: Iterable[NaclRule]) -> list[list[NaclRule]]:
    """Groups of two or more rules of one NACL direction under one number (AWS refuses all
    but the first)."""
    by_number: dict[tuple[str, bool, int], list[NaclRule]] = {}
    for rule in rules:
        by_number.setdefault((rule.tier, rule.egress, rule.rule_number), []).append(rule)
    return [group for group in by_number.values() if len(group) > 1]
