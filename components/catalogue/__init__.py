"""What AWS offers in each supported region: EC2 instance types, RDS and DocumentDB instance
classes and engine versions, ElastiCache node types and Redis OSS/Valkey versions, Amazon MQ
for RabbitMQ instance types and versions, OpenSearch instance types and versions, DMS
replication instance classes and engine versions, and VPC interface endpoint services.

The catalogue ships with the package as one JSON file per service (``ec2.json``,
``rds.json`` ...), each with the date it was made (``generated``), where it comes from
(``source``: the API calls or the documentation pages) and, per region, what is offered.
``scripts/refresh_catalogue.py`` rebuilds it from the AWS APIs when credentials exist.

Settings refuse a value no supported region offers, with the closest valid values
(:func:`check_offered`); a component's checks refuse a value its stack's region does not
offer when the region is known (:func:`region_problem`).

    from components import catalogue
    catalogue.current().ec2_instance_types("ap-southeast-1")   # frozenset of "m6i.large" ...
    catalogue.check_offered("m6i.larg", catalogue.current().ec2_instance_types(),
                            "an EC2 instance type")            # ValueError: ... m6i.large
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

#: One file per service, named after it.
SERVICES = ("ec2", "rds", "docdb", "elasticache", "mq", "opensearch", "dms", "vpc_endpoints")
#: How many of the closest valid values a refusal shows.
SUGGESTIONS = 3
REFRESH = "scripts/refresh_catalogue.py"


class CatalogueError(ValueError):
    """A catalogue file is missing or not in the catalogue's format."""


@dataclass(frozen=True)
class ServiceCatalogue:
    """What one service offers, per region, with the date and source of the data."""

    service: str
    generated: str
    method: str
    source: tuple[str, ...]
    note: str
    regions: Mapping[str, Mapping[str, Any]]
    #: answers of :meth:`values` already given (the data never changes)
    _answers: dict[tuple[tuple[str, ...], str | None], frozenset[str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ServiceCatalogue:
        try:
            regions = doc["regions"]
            if not isinstance(regions, Mapping) or not regions:
                raise CatalogueError(f"{doc.get('service')}: `regions` must map regions to offers")
            return cls(
                service=str(doc["service"]),
                generated=str(doc["generated"]),
                method=str(doc.get("method", "")),
                source=tuple(str(s) for s in doc["source"]),
                note=str(doc.get("note", "")),
                regions=regions,
            )
        except KeyError as missing:
            raise CatalogueError(f"a catalogue file lacks {missing}") from None

    def values(self, path: Iterable[str], region: str | None = None) -> frozenset[str]:
        """The values at ``path`` (e.g. ``("engine_versions", "postgres", "majors")``) in
        ``region``; in every region together when ``region`` is None. Empty when a region
        does not have them."""
        keys = tuple(path)
        known = self._answers.get((keys, region))
        if known is not None:
            return known
        regions = self.regions.values() if region is None else [self.regions.get(region, {})]
        found: set[str] = set()
        for offer in regions:
            node: Any = offer
            for key in keys:
                node = node.get(key, {}) if isinstance(node, Mapping) else {}
            if isinstance(node, list):
                found.update(str(v) for v in node)
        self._answers[(keys, region)] = answer = frozenset(found)
        return answer


class Catalogue:
    """Every service's catalogue, with typed lookups. ``region=None`` means any supported
    region (the union); a region the catalogue does not hold offers nothing."""

    def __init__(self, services: Mapping[str, ServiceCatalogue]) -> None:
        missing = sorted(set(SERVICES) - set(services))
        if missing:
            raise CatalogueError(f"the catalogue lacks {missing}")
        self.services = dict(services)

    @classmethod
    def from_documents(cls, documents: Mapping[str, Mapping[str, Any]]) -> Catalogue:
        return cls({name: ServiceCatalogue.from_json(doc) for name, doc in documents.items()})

    @classmethod
    def from_directory(cls, directory: Path | str) -> Catalogue:
        """The catalogue in ``directory`` (one ``<service>.json`` per service)."""
        root = Path(directory)
        documents = {}
        for name in SERVICES:
            path = root / f"{name}.json"
            if not path.exists():
                raise CatalogueError(f"{path} not found")
            documents[name] = json.loads(path.read_text(encoding="utf-8"))
        return cls.from_documents(documents)

    @classmethod
    def packaged(cls) -> Catalogue:
        """The catalogue shipped with the package."""
        root = resources.files(__name__)
        return cls.from_documents(
            {
                name: json.loads(root.joinpath(f"{name}.json").read_text(encoding="utf-8"))
                for name in SERVICES
            }
        )

    # --- about the data ------------------------------------------------------------------

    @property
    def regions(self) -> frozenset[str]:
        """Regions every service file describes."""
        sets = [frozenset(s.regions) for s in self.services.values()]
        return frozenset.intersection(*sets)

    @property
    def generated(self) -> str:
        """The oldest date among the service files (the catalogue is as old as that)."""
        return min(s.generated for s in self.services.values())

    def knows(self, region: str | None) -> bool:
        return region is not None and region in self.regions

    def _values(self, service: str, *path: str, region: str | None) -> frozenset[str]:
        return self.services[service].values(path, region)

    # --- EC2 -----------------------------------------------------------------------------

    def ec2_instance_types(self, region: str | None = None) -> frozenset[str]:
        return self._values("ec2", "instance_types", region=region)

    # --- RDS -----------------------------------------------------------------------------

    def rds_instance_classes(self, engine: str, region: str | None = None) -> frozenset[str]:
        return self._values("rds", "instance_classes", engine, region=region)

    def rds_major_versions(self, engine: str, region: str | None = None) -> frozenset[str]:
        return self._values("rds", "engine_versions", engine, "majors", region=region)

    def rds_engine_versions(self, engine: str, region: str | None = None) -> frozenset[str]:
        """Full versions (``16.9``); see :meth:`rds_major_versions` for ``16``."""
        return self._values("rds", "engine_versions", engine, "versions", region=region)

    def rds_versions_accepted(self, engine: str, region: str | None = None) -> frozenset[str]:
        """What an RDS engine version setting may say: a major version or a full one."""
        return self.rds_major_versions(engine, region) | self.rds_engine_versions(engine, region)

    # --- DocumentDB ----------------------------------------------------------------------

    def docdb_instance_classes(self, region: str | None = None) -> frozenset[str]:
        return self._values("docdb", "instance_classes", region=region)

    def docdb_engine_versions(self, region: str | None = None) -> frozenset[str]:
        return self._values("docdb", "engine_versions", region=region)

    # --- ElastiCache ---------------------------------------------------------------------

    def elasticache_node_types(self, region: str | None = None) -> frozenset[str]:
        return self._values("elasticache", "node_types", region=region)

    def elasticache_engine_versions(self, engine: str, region: str | None = None) -> frozenset[str]:
        """major.minor versions of ``redis`` (Redis OSS) or ``valkey``."""
        return self._values("elasticache", "engine_versions", engine, region=region)

    # --- Amazon MQ for RabbitMQ ----------------------------------------------------------

    def rabbitmq_instance_types(self, region: str | None = None) -> frozenset[str]:
        return self._values("mq", "rabbitmq", "instance_types", region=region)

    def rabbitmq_engine_versions(self, region: str | None = None) -> frozenset[str]:
        return self._values("mq", "rabbitmq", "engine_versions", region=region)

    # --- OpenSearch ----------------------------------------------------------------------

    def opensearch_instance_types(self, region: str | None = None) -> frozenset[str]:
        return self._values("opensearch", "instance_types", region=region)

    def opensearch_engine_versions(self, region: str | None = None) -> frozenset[str]:
        return self._values("opensearch", "engine_versions", region=region)

    # --- DMS -----------------------------------------------------------------------------

    def dms_instance_classes(self, region: str | None = None) -> frozenset[str]:
        return self._values("dms", "instance_classes", region=region)

    def dms_engine_versions(self, region: str | None = None) -> frozenset[str]:
        return self._values("dms", "engine_versions", region=region)

    # --- VPC endpoints -------------------------------------------------------------------

    def vpc_endpoint_services(self, region: str | None = None) -> frozenset[str]:
        """Interface endpoint services, the part after ``com.amazonaws.<region>.``."""
        return self._values("vpc_endpoints", "interface_services", region=region)


_CURRENT: list[Catalogue] = []


def current() -> Catalogue:
    """The catalogue settings and checks use: the packaged one unless :func:`use` says
    otherwise."""
    if not _CURRENT:
        _CURRENT.append(Catalogue.packaged())
    return _CURRENT[-1]


@contextlib.contextmanager
def use(catalogue: Catalogue) -> Iterator[Catalogue]:
    """Use ``catalogue`` instead of the packaged one inside the ``with`` block (tests, or a
    program that ships a catalogue refreshed for its own account)."""
    current()
    _CURRENT.append(catalogue)
    try:
        yield catalogue
    finally:
        _CURRENT.remove(catalogue)


# --- refusals -------------------------------------------------------------------------------


def natural_key(value: str) -> tuple[tuple[int, str], ...]:
    """Sort key that orders numbers by value: ``16.9`` before ``16.10``, ``2xlarge`` after
    ``xlarge``."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", value)
    )


def closest(value: str, offered: Collection[str], n: int = SUGGESTIONS) -> list[str]:
    """The valid values closest to ``value``: difflib's close matches, else the values
    sharing the longest prefix with it (``db.r9g.large`` -> the ``db.r`` classes)."""
    matches = difflib.get_close_matches(value, list(offered), n=n, cutoff=0.6)
    if matches:
        # the same family or major version first: `7.0` of Valkey -> 7.2 before 8.0
        head = value.split(".")[0] + "."
        return sorted(matches, key=lambda m: not m.startswith(head))
    for size in range(len(value), 0, -1):
        same = sorted((v for v in offered if v.startswith(value[:size])), key=natural_key)
        if same:
            return same[:n]
    return sorted(offered, key=natural_key)[:n]


def hint(value: str, offered: Collection[str]) -> str:
    """``closest valid: a, b, c`` for a refusal of ``value``."""
    if not offered:
        return "nothing is offered there"
    return "closest valid: " + ", ".join(closest(value, offered))


def refusal(value: str, offered: Collection[str], what: str) -> str:
    """Why ``value`` is refused when no supported region offers it, with the closest values."""
    return (
        f"{value!r} is not {what} AWS offers in any supported region; "
        f"{hint(value, offered)} (catalogue of {current().generated}; if AWS offers it "
        f"since, refresh the catalogue with {REFRESH})"
    )


def check_offered(value: str, offered: Collection[str], what: str) -> str:
    """``value`` if it is among ``offered``; otherwise a ValueError naming the closest."""
    if value in offered:
        return value
    raise ValueError(refusal(value, offered, what))


#: The form of an EC2 instance type: family and generation, attributes, size
#: (m6i.large, c7gn.16xlarge, m5.metal, u-6tb1.metal).
EC2_INSTANCE_TYPE = re.compile(
    r"^[a-z]+-?[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$"
)


def check_ec2_instance_type(value: str, examples: str) -> str:
    """``value`` if it is an EC2 instance type a supported region offers; otherwise a
    ValueError with ``examples`` of the form (``m6i.large or c7g.xlarge``) or the closest."""
    offered = current().ec2_instance_types()
    if not EC2_INSTANCE_TYPE.match(value):
        raise ValueError(
            f"{value!r} is not an EC2 instance type like {examples}; {hint(value, offered)}"
        )
    return check_offered(value, offered, "an EC2 instance type")


def region_problem(
    value: str, region: str | None, offered_in: Callable[[str], Collection[str]], what: str
) -> str | None:
    """Why ``value`` cannot be used in ``region``, or None: also when the region is None or
    unknown to the catalogue (the stack layer refuses unknown regions). ``offered_in(region)``
    is what that region offers, e.g. ``lambda r: current().ec2_instance_types(r)``."""
    if region is None or not current().knows(region):
        return None
    offered = offered_in(region)
    if value in offered:
        return None
    return (
        f"{value!r} is not {what} AWS offers in {region}; {hint(value, offered)} "
        f"(catalogue of {current().generated})"
    )


__all__ = [
    "REFRESH",
    "SERVICES",
    "Catalogue",
    "CatalogueError",
    "ServiceCatalogue",
    "check_offered",
    "closest",
    "current",
    "hint",
    "natural_key",
    "refusal",
    "region_problem",
    "use",
]
