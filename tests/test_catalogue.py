"""The catalogue of what AWS offers: the packaged data, its loader, and the refresh script's
transformations of AWS API responses (recorded responses, in the documented shapes: the
script itself needs credentials and cannot run here)."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

from components import catalogue
from components.catalogue import Catalogue, CatalogueError
from components.core.settings import StackContext
from components.managed_data_tier.settings import ManagedDataTierSettings
from components.secure_vpc.plan import REGION_AZ_LETTERS
from components.secure_vpc.settings import DEFAULT_INTERFACE_ENDPOINTS

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE_DIR = ROOT / "components" / "catalogue"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "refresh_catalogue", ROOT / "scripts" / "refresh_catalogue.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["refresh_catalogue"] = module
    spec.loader.exec_module(module)
    return module


refresh = load_script()


# --- the packaged catalogue ------------------------------------------------------------------


def test_every_file_says_when_and_where_it_comes_from() -> None:
    for service in catalogue.SERVICES:
        doc = json.loads((CATALOGUE_DIR / f"{service}.json").read_text())
        assert doc["service"] == service
        assert len(doc["generated"]) == 10 and doc["generated"][4] == "-"  # an ISO date
        assert doc["source"], service
        if doc["method"] == "documentation":
            # honest about having no credentials: documentation pages, not API calls
            assert all(s.startswith("https://docs.aws.amazon.com/") for s in doc["source"])
            assert "without AWS credentials" in doc["note"]


def test_the_catalogue_covers_every_supported_region() -> None:
    assert catalogue.current().regions == set(REGION_AZ_LETTERS)


def test_the_package_ships_the_catalogue_files() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"catalogue/*.json"' in text


def test_every_default_value_of_every_component_is_in_the_catalogue() -> None:
    """Defaults, nonprod defaults and the real stacks' values are all offered, in every
    supported region (a default AWS refuses would fail every stack that keeps it)."""
    known = catalogue.current()
    data = ManagedDataTierSettings.model_validate(
        {
            "rds": {"a": {}, "b": {"engine": "mysql"}},
            "documentdb": {"a": {}},
            "redis": {},
            "rabbitmq": {},
            "opensearch": {},
            "dms": {},
        }
    )
    for region in known.regions:
        assert {"m6i.large", "m7g.large", "t3.medium", "t4g.medium"} <= known.ec2_instance_types(
            region
        )
        assert {"db.r6g.large", "db.t4g.medium"} <= known.rds_instance_classes("postgres", region)
        assert {"16", "8.0"} <= known.rds_major_versions(
            "postgres", region
        ) | known.rds_major_versions("mysql", region)
        assert data.redis and data.redis.engine_version in known.elasticache_engine_versions(
            "redis", region
        )
        assert {"cache.r7g.large", "cache.t4g.small"} <= known.elasticache_node_types(region)
        assert {"mq.m7g.large", "mq.t3.micro"} <= known.rabbitmq_instance_types(region)
        assert {"3.13", "4.2"} <= known.rabbitmq_engine_versions(region)
        assert {"r7g.large.search", "m7g.large.search", "t3.medium.search"} <= (
            known.opensearch_instance_types(region)
        )
        assert "OpenSearch_2.19" in known.opensearch_engine_versions(region)
        assert {"dms.r6i.large", "dms.t3.medium"} <= known.dms_instance_classes(region)
        assert set(DEFAULT_INTERFACE_ENDPOINTS) <= known.vpc_endpoint_services(region)
        assert {"5.0.0"} <= known.docdb_engine_versions(region)


# --- the loader --------------------------------------------------------------------------------


def documents() -> dict[str, dict[str, Any]]:
    return {s: json.loads((CATALOGUE_DIR / f"{s}.json").read_text()) for s in catalogue.SERVICES}


def test_lookups_are_per_region_and_the_union_without_a_region() -> None:
    docs = documents()
    docs["ec2"]["regions"]["us-east-1"]["instance_types"] = ["m6i.large", "x9.huge"]
    known = Catalogue.from_documents(docs)
    assert "x9.huge" in known.ec2_instance_types()
    assert "x9.huge" in known.ec2_instance_types("us-east-1")
    assert "x9.huge" not in known.ec2_instance_types("ap-southeast-1")
    assert known.ec2_instance_types("mars-north-1") == frozenset()
    assert not known.knows("mars-north-1") and known.knows("us-east-1")


def test_a_catalogue_missing_a_service_or_its_date_is_refused() -> None:
    docs = documents()
    del docs["dms"]
    with pytest.raises(CatalogueError, match="dms"):
        Catalogue.from_documents(docs)
    docs = documents()
    del docs["ec2"]["generated"]
    with pytest.raises(CatalogueError, match="generated"):
        Catalogue.from_documents(docs)


def test_from_directory_reads_the_same_catalogue_as_the_package() -> None:
    assert (
        Catalogue.from_directory(CATALOGUE_DIR).ec2_instance_types()
        == catalogue.current().ec2_instance_types()
    )


@pytest.mark.parametrize(
    ("value", "offered", "first"),
    [
        ("m6i.larg", "ec2", "m6i.large"),
        ("db.r6g.lrage", "rds", "db.r6g.large"),
        ("7.0", "valkey", "7.2"),
        ("16.99", "postgres", "16.9"),
        ("secretmanager", "endpoints", "secretsmanager"),
        ("r7g.large.elasticsearch", "search", "r7g.large.search"),
    ],
)
def test_closest_puts_the_intended_value_first(value: str, offered: str, first: str) -> None:
    known = catalogue.current()
    values = {
        "ec2": known.ec2_instance_types(),
        "rds": known.rds_instance_classes("postgres"),
        "valkey": known.elasticache_engine_versions("valkey"),
        "postgres": known.rds_versions_accepted("postgres"),
        "endpoints": known.vpc_endpoint_services(),
        "search": known.opensearch_instance_types(),
    }[offered]
    assert catalogue.closest(value, values)[0] == first


def test_a_refusal_names_the_closest_values_the_date_and_the_refresh_script() -> None:
    with pytest.raises(ValueError) as error:
        catalogue.check_offered(
            "m6i.larg", catalogue.current().ec2_instance_types(), "an EC2 instance type"
        )
    message = str(error.value)
    assert "closest valid: m6i.large" in message
    assert catalogue.current().generated in message
    assert "scripts/refresh_catalogue.py" in message


def test_a_value_another_region_offers_is_a_region_problem_only_where_it_is_missing() -> None:
    docs = documents()
    docs["ec2"]["regions"]["ap-southeast-3"]["instance_types"].remove("m7g.large")
    with catalogue.use(Catalogue.from_documents(docs)) as known:
        lookup = known.ec2_instance_types
        assert catalogue.region_problem("m7g.large", "ap-southeast-1", lookup, "x") is None
        problem = catalogue.region_problem("m7g.large", "ap-southeast-3", lookup, "x")
        assert problem and "ap-southeast-3" in problem and "closest valid: m7g." in problem
        # a region the catalogue does not hold is left to the stack layer
        assert catalogue.region_problem("m7g.large", "mars-north-1", lookup, "x") is None
    assert catalogue.current() is not known


def test_use_restores_the_packaged_catalogue_after_an_error() -> None:
    before = catalogue.current()
    with pytest.raises(RuntimeError), catalogue.use(Catalogue.from_documents(documents())):
        raise RuntimeError("boom")
    assert catalogue.current() is before


def test_the_settings_follow_the_catalogue_in_use() -> None:
    """A program may ship a catalogue refreshed for its own account: the settings follow."""
    docs = documents()
    docs["ec2"]["regions"]["us-east-1"]["instance_types"].append("m8g.large")
    from components import HaAppTierSettings

    with pytest.raises(ValueError, match=r"m8g\.large"):
        HaAppTierSettings(instance_type="m8g.large")
    with catalogue.use(Catalogue.from_documents(docs)):
        assert HaAppTierSettings(instance_type="m8g.large").architecture == "arm64"


def test_tag_rules_hold_for_the_standard_tags() -> None:
    """The standard tag set of a default context passes the tag rules it enforces."""
    from components.core.settings import check_tag_key, check_tag_value

    for key, value in StackContext().tags("secure-vpc", Name="prod-app-a").items():
        assert check_tag_key(key) == key and check_tag_value(value) == value


# --- the refresh script's transformations, on recorded responses -----------------------------

EC2_OFFERINGS = [
    {
        "InstanceTypeOfferings": [
            {"InstanceType": "m6i.large", "LocationType": "region", "Location": "ap-southeast-1"},
            {"InstanceType": "m6i.2xlarge", "LocationType": "region", "Location": "ap-southeast-1"},
        ],
        "NextToken": "page-2",
    },
    {
        "InstanceTypeOfferings": [
            {"InstanceType": "m6i.xlarge", "LocationType": "region", "Location": "ap-southeast-1"},
            {"InstanceType": "m6i.large", "LocationType": "region", "Location": "ap-southeast-1"},
        ]
    },
]

RDS_ORDERABLE = [
    {
        "OrderableDBInstanceOptions": [
            {"Engine": "postgres", "EngineVersion": "16.9", "DBInstanceClass": "db.r6g.large"},
            {"Engine": "postgres", "EngineVersion": "17.5", "DBInstanceClass": "db.r6g.large"},
            {"Engine": "postgres", "EngineVersion": "17.5", "DBInstanceClass": "db.t4g.medium"},
        ],
        "Marker": "m1",
    },
    {"OrderableDBInstanceOptions": []},
]

RDS_VERSIONS = [
    {
        "DBEngineVersions": [
            {
                "Engine": "postgres",
                "EngineVersion": "16.9",
                "MajorEngineVersion": "16",
                "DBParameterGroupFamily": "postgres16",
                "Status": "available",
            },
            {
                "Engine": "postgres",
                "EngineVersion": "16.10",
                "MajorEngineVersion": "16",
                "Status": "available",
            },
            {
                "Engine": "postgres",
                "EngineVersion": "16.5",
                "MajorEngineVersion": "16",
                "Status": "deprecated",
            },
        ]
    }
]

CACHE_VERSIONS = [
    {
        "CacheEngineVersions": [
            {"Engine": "valkey", "EngineVersion": "7.2.6", "CacheParameterGroupFamily": "valkey7"},
            {"Engine": "valkey", "EngineVersion": "8.0.1", "CacheParameterGroupFamily": "valkey8"},
            {"Engine": "valkey", "EngineVersion": "8.0.2", "CacheParameterGroupFamily": "valkey8"},
        ]
    }
]

CACHE_RESERVED = [
    {
        "ReservedCacheNodesOfferings": [
            {
                "CacheNodeType": "cache.r7g.large",
                "Duration": 31536000,
                "OfferingType": "No Upfront",
            },
            {
                "CacheNodeType": "cache.r7g.large",
                "Duration": 94608000,
                "OfferingType": "No Upfront",
            },
            {
                "CacheNodeType": "cache.t4g.small",
                "Duration": 31536000,
                "OfferingType": "All Upfront",
            },
        ]
    }
]

MQ_OPTIONS = [
    {
        "BrokerInstanceOptions": [
            {
                "EngineType": "RABBITMQ",
                "HostInstanceType": "mq.m7g.large",
                "StorageType": "EBS",
                "SupportedDeploymentModes": ["SINGLE_INSTANCE", "CLUSTER_MULTI_AZ"],
                "SupportedEngineVersions": ["3.13", "4.2"],
                "AvailabilityZones": [{"Name": "ap-southeast-1a"}],
            },
            {
                "EngineType": "RABBITMQ",
                "HostInstanceType": "mq.t3.micro",
                "SupportedDeploymentModes": ["SINGLE_INSTANCE"],
                "SupportedEngineVersions": ["3.13"],
            },
            {
                "EngineType": "ACTIVEMQ",
                "HostInstanceType": "mq.m5.large",
                "SupportedEngineVersions": ["5.18"],
            },
        ],
        "NextToken": "t",
    },
    {"BrokerInstanceOptions": []},
]

SEARCH_VERSIONS = [{"Versions": ["OpenSearch_2.19", "OpenSearch_2.17", "Elasticsearch_7.10"]}]
SEARCH_TYPES = [
    {
        "InstanceTypeDetails": [
            {"InstanceType": "r7g.large.search", "InstanceRole": ["Data", "Master"]},
            {"InstanceType": "t3.medium.search", "InstanceRole": ["Data"]},
        ]
    }
]

DMS_ORDERABLE = [
    {
        "OrderableReplicationInstances": [
            {
                "EngineVersion": "3.5.4",
                "ReplicationInstanceClass": "dms.r6i.large",
                "StorageType": "gp2",
                "MinAllocatedStorage": 5,
                "MaxAllocatedStorage": 6144,
                "ReleaseStatus": "prod",
            },
            {"EngineVersion": "3.6.1", "ReplicationInstanceClass": "dms.t3.medium"},
            {
                "EngineVersion": "3.7.0",
                "ReplicationInstanceClass": "dms.t3.medium",
                "ReleaseStatus": "beta",
            },
        ],
        "Marker": "x",
    },
    {"OrderableReplicationInstances": []},
]

ENDPOINT_SERVICES = [
    {
        "ServiceNames": ["com.amazonaws.ap-southeast-1.ssm"],
        "ServiceDetails": [
            {
                "ServiceName": "com.amazonaws.ap-southeast-1.ssm",
                "ServiceType": [{"ServiceType": "Interface"}],
                "Owner": "amazon",
            },
            {
                "ServiceName": "com.amazonaws.ap-southeast-1.ecr.api",
                "ServiceType": [{"ServiceType": "Interface"}],
                "Owner": "amazon",
            },
            {
                "ServiceName": "com.amazonaws.ap-southeast-1.s3",
                "ServiceType": [{"ServiceType": "Gateway"}],
                "Owner": "amazon",
            },
            {
                "ServiceName": "com.amazonaws.vpce.ap-southeast-1.vpce-svc-0123456789abcdef0",
                "ServiceType": [{"ServiceType": "Interface"}],
                "Owner": "111122223333",
            },
        ],
    }
]


def test_ec2_offerings_become_unique_instance_types_in_a_stable_order() -> None:
    types = refresh.ec2_instance_types(EC2_OFFERINGS)
    assert sorted(types) == ["m6i.2xlarge", "m6i.large", "m6i.xlarge"]  # both pages, once each
    assert types == sorted(types, key=catalogue.natural_key)


def test_rds_orderable_options_and_versions() -> None:
    assert refresh.orderable_instance_classes(RDS_ORDERABLE) == ["db.r6g.large", "db.t4g.medium"]
    assert refresh.rds_engine_versions(RDS_VERSIONS) == {
        "majors": ["16"],
        "versions": ["16.9", "16.10"],  # the deprecated 16.5 cannot be created
    }


def test_elasticache_versions_are_major_minor_and_node_types_come_from_offerings() -> None:
    assert refresh.cache_engine_versions(CACHE_VERSIONS) == ["7.2", "8.0"]
    assert refresh.cache_node_types(CACHE_RESERVED) == ["cache.r7g.large", "cache.t4g.small"]


def test_rabbitmq_options_leave_out_activemq() -> None:
    assert refresh.rabbitmq_offer(MQ_OPTIONS) == {
        "instance_types": ["mq.m7g.large", "mq.t3.micro"],
        "engine_versions": ["3.13", "4.2"],
    }


def test_opensearch_versions_leave_out_elasticsearch() -> None:
    assert refresh.opensearch_versions(SEARCH_VERSIONS) == ["OpenSearch_2.17", "OpenSearch_2.19"]
    assert refresh.opensearch_instance_types(SEARCH_TYPES) == [
        "r7g.large.search",
        "t3.medium.search",
    ]


def test_dms_orderable_instances_leave_out_beta_engines() -> None:
    assert refresh.dms_offer(DMS_ORDERABLE) == {
        "instance_classes": ["dms.r6i.large", "dms.t3.medium"],
        "engine_versions": ["3.5.4", "3.6.1"],
    }


def test_endpoint_services_are_aws_interface_services_by_short_name() -> None:
    assert refresh.interface_services(ENDPOINT_SERVICES, "ap-southeast-1") == ["ecr.api", "ssm"]


def test_pages_follows_the_token_until_the_last_page() -> None:
    calls: list[dict[str, Any]] = []
    responses = copy.deepcopy(RDS_ORDERABLE)

    def call(**params: Any) -> dict[str, Any]:
        calls.append(params)
        return responses[len(calls) - 1]

    assert list(refresh.pages(call, "Marker", Engine="postgres")) == RDS_ORDERABLE
    assert calls == [{"Engine": "postgres"}, {"Engine": "postgres", "Marker": "m1"}]


class FakeClient:
    """Answers each operation with its recorded pages, following the pagination token."""

    RECORDED: ClassVar[dict[str, list[dict[str, Any]]]] = {
        "describe_instance_type_offerings": EC2_OFFERINGS,
        "describe_orderable_db_instance_options": RDS_ORDERABLE,
        "describe_db_engine_versions": RDS_VERSIONS,
        "describe_cache_engine_versions": CACHE_VERSIONS,
        "describe_reserved_cache_nodes_offerings": CACHE_RESERVED,
        "describe_broker_instance_options": MQ_OPTIONS,
        "list_versions": SEARCH_VERSIONS,
        "list_instance_type_details": SEARCH_TYPES,
        "describe_orderable_replication_instances": DMS_ORDERABLE,
        "describe_vpc_endpoint_services": ENDPOINT_SERVICES,
    }

    def __getattr__(self, operation: str) -> Any:
        recorded = self.RECORDED[operation]

        def call(**params: Any) -> dict[str, Any]:
            token = params.get("NextToken") or params.get("Marker")
            index = 0
            for i, page in enumerate(recorded):
                if token and token in (page.get("NextToken"), page.get("Marker")):
                    index = i + 1
            return recorded[index]

        return call


class FakeSession:
    def client(self, service: str, region_name: str) -> FakeClient:
        return FakeClient()


def test_a_refresh_writes_a_catalogue_the_loader_reads(tmp_path: Path) -> None:
    """The whole pipeline offline: API pages -> offers -> files -> Catalogue."""
    offers: dict[str, dict[str, Any]] = {s: {} for s in refresh.SOURCES}
    for service, offer in refresh.fetch_region(FakeSession(), "ap-southeast-1").items():
        offers[service]["ap-southeast-1"] = offer
    refresh.write(refresh.documents(offers, "2027-01-31"), tmp_path)
    known = Catalogue.from_directory(tmp_path)
    assert known.generated == "2027-01-31"
    assert known.regions == {"ap-southeast-1"}
    assert known.ec2_instance_types("ap-southeast-1") == {"m6i.large", "m6i.xlarge", "m6i.2xlarge"}
    assert known.rds_versions_accepted("postgres") == {"16", "16.9", "16.10"}
    assert known.elasticache_engine_versions("valkey") == {"7.2", "8.0"}
    assert known.rabbitmq_engine_versions() == {"3.13", "4.2"}
    assert known.vpc_endpoint_services() == {"ssm", "ecr.api"}
    doc = json.loads((tmp_path / "rds.json").read_text())
    assert doc["method"] == "api"
    assert any("DescribeOrderableDBInstanceOptions" in s for s in doc["source"])


def test_without_credentials_the_refresh_says_so_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class NoCredentials(Exception):
        pass

    class Sts:
        def get_caller_identity(self) -> None:
            raise NoCredentials("Unable to locate credentials")

    class Session:
        def __init__(self, profile_name: str | None = None) -> None:
            pass

        def client(self, service: str) -> Sts:
            return Sts()

    boto3 = ModuleType("boto3")
    boto3.Session = Session  # type: ignore[attr-defined]
    monkeypatch.setattr(refresh, "import_boto3", lambda: boto3)
    assert refresh.main(["--out", str(tmp_path)]) == 2
    assert "no usable AWS credentials" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
