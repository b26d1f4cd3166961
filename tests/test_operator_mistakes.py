"""Realistic operator mistakes in the prod stack file, each refused before anything is
registered: a typo in an instance type or engine version, a value AWS does not offer, a tag
AWS refuses, a control character pasted into a setting, a number above AWS's limit.

Each mistake is applied to ``Pulumi.prod.yaml`` and planned offline (what ``pulumi preview``
and ``python -m components.plan prod`` run). The refusal must name the camelCase key the
operator wrote, say what to write instead (the closest valid values where the catalogue knows
them), and register nothing. The same rule, hit from Python, names the Python field.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from components import (
    HaAppTierSettings,
    HybridConnectivitySettings,
    LandingZoneSettings,
    ManagedDataTierSettings,
    SecureVpcSettings,
    StackContext,
    catalogue,
    ha_app_tier,
    managed_data_tier,
)
from components.catalogue import Catalogue
from components.core.problems import python_line
from components.plan import PlanError, plan_stack, read_stack_config
from components.plan import main as plan_main
from components.secure_vpc.settings import DEFAULT_INTERFACE_ENDPOINTS
from components.testing import PlatformMocks, RecordingMonitor

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "payments-platform"


def prod_config() -> dict[str, Any]:
    _, config, _ = read_stack_config(ROOT, "prod")
    return {k: json.loads(v) if v[:1] in "{[" else v for k, v in config.items()}


PROD = prod_config()


def changed(changes: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The prod config with each dotted key (`apps.loyalty.instanceType`) set; a key ending in
    `+` appends to that list instead."""
    config = copy.deepcopy(dict(base or PROD))
    for path, value in changes.items():
        section, *rest = path.split(".")
        key = section if ":" in section else f"{NAMESPACE}:{section}"
        if not rest:
            config[key] = value
            continue
        node = config.setdefault(key, {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        last = rest[-1]
        if last.endswith("+"):
            # the list as written, or its default (the only list appended to here)
            node[last[:-1]] = [*node.get(last[:-1], DEFAULT_INTERFACE_ENDPOINTS), value]
        else:
            node[last] = value
    return config


def overrides(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config keys that differ from prod's, as plan_stack's overrides."""
    return {k: v for k, v in config.items() if PROD.get(k) != v}


@dataclass(frozen=True)
class Mistake:
    """One mistake: the stack-file keys changed, and what the refusal must say."""

    id: str
    changes: Mapping[str, Any]
    #: the stack-file key the refusal names (default: the only changed key, `+` removed)
    key: str | None = None
    #: text the refusal must hold to say what to write instead
    fix: tuple[str, ...] = field(default_factory=tuple)

    @property
    def config_key(self) -> str:
        key = self.key or next(iter(self.changes)).removesuffix("+")
        return f"{NAMESPACE}:{key}"


LONG_OWNER = "platform-team-" + "x" * 286

MISTAKES: list[Mistake] = [
    # --- values AWS checks against a catalogue: typos and values AWS does not offer -----------
    Mistake("ec2 type typo", {"apps.loyalty.instanceType": "m6i.larg"}, fix=("m6i.large",)),
    Mistake("ec2 size typo", {"apps.mmf.instanceType": "m7g.lrage"}, fix=("m7g.large",)),
    Mistake("ec2 dash for dot", {"apps.loyalty.instanceType": "m6i-large"}, fix=("m6i.large",)),
    Mistake(
        "ec2 size that does not exist",
        {"apps.loyalty.instanceType": "t3.mediun"},
        fix=("t3.medium",),
    ),
    Mistake(
        "ec2 family AWS does not have", {"apps.mmf.instanceType": "m7gd.large"}, fix=("m7g.large",)
    ),
    Mistake(
        "rds class typo",
        {"dataTier.rds.loyalty.instanceClass": "db.r6g.lrage"},
        fix=("db.r6g.large",),
    ),
    Mistake(
        "rds class without db.",
        {"dataTier.rds.mmf.instanceClass": "r6g.large"},
        fix=("db.r6g.large",),
    ),
    Mistake(
        "postgres minor that does not exist",
        {"dataTier.rds.loyalty.engineVersion": "16.99"},
        fix=("16.9",),
    ),
    Mistake(
        "postgres out of support",
        {"dataTier.rds.loyalty.engineVersion": "11"},
        fix=("closest valid",),
    ),
    Mistake("postgres x.0", {"dataTier.rds.mmf.engineVersion": "17.0"}, fix=("17",)),
    Mistake(
        "mysql 5.7 is gone",
        {"dataTier.rds.loyalty.engine": "mysql", "dataTier.rds.loyalty.engineVersion": "5.7"},
        key="dataTier.rds.loyalty.engineVersion",
        fix=("8.0",),
    ),
    Mistake(
        "docdb class typo",
        {"dataTier.documentdb.mmf.instanceClass": "db.r6g.larg"},
        fix=("db.r6g.large",),
    ),
    Mistake(
        "docdb class RDS has but DocumentDB not",
        {"dataTier.documentdb.mmf.instanceClass": "db.m6g.large"},
        fix=("db.r6g.large",),
    ),
    Mistake(
        "docdb version short", {"dataTier.documentdb.mmf.engineVersion": "5.0"}, fix=("5.0.0",)
    ),
    Mistake(
        "valkey 7.0 does not exist",
        {"dataTier.redis.engine": "valkey", "dataTier.redis.engineVersion": "7.0"},
        key="dataTier.redis.engineVersion",
        fix=("7.2",),
    ),
    Mistake("redis 7.3 does not exist", {"dataTier.redis.engineVersion": "7.3"}, fix=("7.1",)),
    Mistake(
        "cache node typo", {"dataTier.redis.nodeType": "cache.r7g.lrage"}, fix=("cache.r7g.large",)
    ),
    Mistake(
        "cache node without cache.",
        {"dataTier.redis.nodeType": "r7g.large"},
        fix=("cache.r7g.large",),
    ),
    Mistake(
        "mq instance typo",
        {"dataTier.rabbitmq.hostInstanceType": "mq.m7g.larg"},
        fix=("mq.m7g.large",),
    ),
    Mistake(
        "rabbitmq 4.1 is not offered", {"dataTier.rabbitmq.engineVersion": "4.1"}, fix=("4.2",)
    ),
    Mistake(
        "rabbitmq 3.12 is end of support",
        {"dataTier.rabbitmq.engineVersion": "3.12"},
        fix=("3.13",),
    ),
    Mistake(
        "search type in elasticsearch form",
        {"dataTier.opensearch.instanceType": "r7g.large.elasticsearch"},
        fix=("r7g.large.search",),
    ),
    Mistake(
        "search master type typo",
        {"dataTier.opensearch.dedicatedMasterType": "m7g.lrage.search"},
        fix=("m7g.large.search",),
    ),
    Mistake(
        "opensearch version ahead",
        {"dataTier.opensearch.engineVersion": "OpenSearch_2.91"},
        fix=("OpenSearch_2.19",),
    ),
    Mistake(
        "dms class typo", {"dataTier.dms.instanceClass": "dms.r6i.lrage"}, fix=("dms.r6i.large",)
    ),
    Mistake("dms engine too old", {"dataTier.dms.engineVersion": "3.4.7"}, fix=("closest valid",)),
    Mistake(
        "endpoint service typo",
        {"network.interfaceEndpoints+": "secretmanager"},
        fix=("secretsmanager",),
    ),
    Mistake("endpoint service half a name", {"network.interfaceEndpoints+": "ecr"}, fix=("ecr.",)),
    # --- tags: AWS's character sets, lengths and reserved prefix -----------------------------
    Mistake("owner longer than a tag value", {"owner": LONG_OWNER}, fix=("at most 256",)),
    Mistake(
        "owner with a newline", {"owner": "platform-team\n"}, fix=("control character", "U+000A")
    ),
    Mistake(
        "owner with a character tags refuse",
        {"owner": "platform team #1"},
        fix=("_ . : / = + - @",),
    ),
    Mistake("aws: tag key", {"extraTags": {"aws:cost-centre": "1234"}}, fix=("reserved",)),
    Mistake("AWS: tag key in capitals", {"extraTags": {"AWS:Owner": "x"}}, fix=("reserved",)),
    Mistake("tag value with a tab", {"extraTags": {"cost-centre": "12\t34"}}, fix=("U+0009",)),
    Mistake(
        "tag key with a question mark",
        {"extraTags": {"cost centre?": "1234"}},
        fix=("_ . : / = + - @",),
    ),
    Mistake(
        "too many extra tags",
        {"extraTags": {f"tag-{i}": "x" for i in range(40)}},
        fix=("at most 39",),
    ),
    # --- names and paths that reach AWS, and control characters anywhere ---------------------
    Mistake(
        "health-check path with a space",
        {"apps.loyalty.healthCheck.path": "/health check"},
        fix=("%20",),
    ),
    Mistake(
        "health-check path without a slash",
        {"apps.mmf.healthCheck.path": "health"},
        fix=("start with '/'",),
    ),
    Mistake(
        "dms host with a space",
        {"dataTier.dms.sources.loyalty-pg.host": "db host.hcm.local"},
        fix=("DNS name",),
    ),
    Mistake(
        "dms host with a bad address",
        {"dataTier.dms.sources.mmf-pg.host": "172.16.32.300"},
        fix=("IPv4",),
    ),
    Mistake(
        "vpn device name too long",
        {"hybrid.customerGateways.hcm-dc-fw1.deviceName": "fw" * 200},
        fix=("255",),
    ),
    Mistake(
        "replication server type typo",
        {"hybrid.migration.replication.instanceType": "t3.smal"},
        fix=("t3.small",),
    ),
    Mistake(
        "wave server pasted with its domain and a space",
        {"hybrid.migration.waves.wave2-mmf.sourceServers": ["hcm-mmf-app01 .corp.local"]},
        fix=("not a host name",),
    ),
    Mistake(
        "email endpoint with a carriage return",
        {"landingZone.notifications.securitySubscriptions.secops.endpoint": "secops@example.com\r"},
        fix=("U+000D",),
    ),
    Mistake(
        "user-data path with a NUL",
        {"apps.loyalty.userDataFile": "userdata/loyalty.sh\x00"},
        fix=("U+0000",),
    ),
    Mistake(
        "database name with a tab",
        {"dataTier.rds.loyalty.databaseName": "loyalty\t"},
        fix=("U+0009",),
    ),
    Mistake(
        "cache parameter name in capitals",
        {"dataTier.redis.parameters": {"MaxMemory-Policy": "allkeys-lru"}},
        fix=("maxmemory-policy",),
    ),
    # --- numbers above AWS's bounds ----------------------------------------------------------
    Mistake("asg max of 100000", {"apps.loyalty.maxSize": 100000}, fix=("1000",)),
    Mistake(
        "asg min of 5000",
        {"apps.loyalty.minSize": 5000, "apps.loyalty.maxSize": 6000},
        key="apps.loyalty.minSize",
        fix=("1000",),
    ),
    Mistake("warmup of two hours", {"apps.loyalty.instanceWarmupSeconds": 7200}, fix=("3600",)),
    Mistake(
        "cache connections above maxclients",
        {"dataTier.redis.connectionsAlarm": 100000},
        fix=("65000",),
    ),
    Mistake(
        "dms free-storage alarm above its storage",
        {"dataTier.dms.freeStorageAlarmGib": 10000},
        fix=("6144",),
    ),
    Mistake(
        "rds storage above 64 TiB", {"dataTier.rds.mmf.allocatedStorageGib": 70000}, fix=("65536",)
    ),
    Mistake("cpu alarm of 150 percent", {"dataTier.redis.cpuAlarmPercent": 150}, fix=("100",)),
    Mistake("waf rate limit below AWS's minimum", {"apps.loyalty.waf.rateLimit": 5}, fix=("10",)),
    Mistake("redis with 6 replicas", {"dataTier.redis.replicasPerShard": 6}, fix=("5",)),
    Mistake(
        "replication bandwidth in kbps",
        {"hybrid.migration.replication.bandwidthThrottlingMbps": 400000},
        fix=("10000",),
    ),
    Mistake(
        "docdb connection alarm above what an instance takes",
        {"dataTier.documentdb.mmf.connectionsAlarmThreshold": 50000},
        fix=("30000",),
    ),
]


def test_there_are_at_least_40_mistakes_with_distinct_names() -> None:
    assert len(MISTAKES) >= 40
    assert len({m.id for m in MISTAKES}) == len(MISTAKES)


def refusal_of(config: Mapping[str, Any]) -> str:
    """Plan prod with ``config`` offline, expecting a refusal; nothing may be registered."""
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(PlanError) as error:
        plan_stack("prod", ROOT, config_overrides=overrides(config), monitor=monitor)
    assert monitor.registered == [], "a refused stack registered resources"
    return str(error.value)


def names(line: str, key: str) -> bool:
    """Whether a refusal line is about ``key`` (or a map key below it: `extraTags.aws:x`)."""
    return any(f"{key}{end}" in line for end in (":", ".", "["))


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_the_stack_refuses_the_mistake_naming_the_key_and_the_fix(mistake: Mistake) -> None:
    message = refusal_of(changed(mistake.changes))
    lines = [line for line in message.splitlines() if names(line, mistake.config_key)]
    assert lines, f"{mistake.config_key} not named in:\n{message}"
    for text in mistake.fix:
        assert any(text in line for line in lines), f"{text!r} missing from {lines}"
    assert "Traceback" not in message


# --- the same rule from Python names the Python field ------------------------------------------

SECTIONS: Mapping[str, type[BaseModel]] = {
    "network": SecureVpcSettings,
    "hybrid": HybridConnectivitySettings,
    "dataTier": ManagedDataTierSettings,
    "landingZone": LandingZoneSettings,
}


def python_refusal(mistake: Mistake) -> tuple[str, str]:
    """(the field path pydantic names, the message) when the changed section is built from
    Python: the component's own settings model (the stack's tags: StackContext)."""
    config = changed(mistake.changes)
    section, *rest = (mistake.key or next(iter(mistake.changes)).removesuffix("+")).split(".")
    model: type[BaseModel]
    if section in ("owner", "extraTags"):
        model, data = StackContext, {section: config[f"{NAMESPACE}:{section}"]}
    elif section == "apps":
        model, data = HaAppTierSettings, config[f"{NAMESPACE}:apps"][rest[0]]
        rest = rest[1:]
    else:
        model, data = SECTIONS[section], config[f"{NAMESPACE}:{section}"]
    with pytest.raises(ValidationError) as error:
        model.model_validate(data)
    item = error.value.errors()[0]
    return ".".join(str(p) for p in item["loc"]), str(item["msg"])


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_from_python_the_same_rule_names_the_python_field(mistake: Mistake) -> None:
    loc, message = python_refusal(mistake)
    key = mistake.key or next(iter(mistake.changes)).removesuffix("+")
    assert to_snake(key.split(".")[-1]) in loc.split("."), loc
    for text in mistake.fix:
        assert text in message, f"{text!r} missing from {message}"


# --- what the stack's region does not offer ----------------------------------------------------


def catalogue_without(service: str, path: tuple[str, ...], value: str, region: str) -> Catalogue:
    """The packaged catalogue, less ``value`` in ``region`` (another region still offers it)."""
    docs = {
        s: json.loads((ROOT / "components" / "catalogue" / f"{s}.json").read_text())
        for s in catalogue.SERVICES
    }
    node = docs[service]["regions"][region]
    for key in path:
        node = node[key]
    node.remove(value)
    return Catalogue.from_documents(docs)


REGION_CASES = [
    ("ec2", ("instance_types",), "m7g.large", "apps.mmf.instanceType"),
    ("rds", ("instance_classes", "postgres"), "db.r6g.large", "dataTier.rds.loyalty.instanceClass"),
    ("elasticache", ("node_types",), "cache.r7g.large", "dataTier.redis.nodeType"),
    ("mq", ("rabbitmq", "instance_types"), "mq.m7g.large", "dataTier.rabbitmq.hostInstanceType"),
    ("opensearch", ("instance_types",), "r7g.large.search", "dataTier.opensearch.instanceType"),
    ("dms", ("instance_classes",), "dms.r6i.large", "dataTier.dms.instanceClass"),
    ("vpc_endpoints", ("interface_services",), "ssm", "network.interfaceEndpoints[0]"),
]


@pytest.mark.parametrize(("service", "path", "value", "key"), REGION_CASES, ids=lambda v: str(v))
def test_a_value_the_stack_region_does_not_offer_is_refused_naming_the_key(
    service: str, path: tuple[str, ...], value: str, key: str
) -> None:
    with catalogue.use(catalogue_without(service, path, value, "ap-southeast-1")):
        message = refusal_of(PROD)
    line = next(line for line in message.splitlines() if f"{NAMESPACE}:{key}:" in line)
    assert f"{value!r} is not" in line and "in ap-southeast-1" in line and "closest valid" in line


def test_from_python_a_region_problem_names_the_python_field() -> None:
    app = HaAppTierSettings.model_validate(PROD[f"{NAMESPACE}:apps"]["mmf"])
    data = ManagedDataTierSettings.model_validate(PROD[f"{NAMESPACE}:dataTier"])
    with catalogue.use(catalogue_without("ec2", ("instance_types",), "m7g.large", "us-east-1")):
        (problem,) = ha_app_tier.checks.check_offered_in_region(app, "us-east-1")
        assert python_line(problem, HaAppTierSettings).startswith("settings.instance_type: ")
        assert ha_app_tier.checks.check_offered_in_region(app, "ap-southeast-1") == []
    with catalogue.use(
        catalogue_without("rds", ("instance_classes", "postgres"), "db.r6g.large", "us-east-1")
    ):
        problems = managed_data_tier.checks.check_offered_in_region(data, "us-east-1")
        lines = [python_line(p, ManagedDataTierSettings) for p in problems]
        assert lines and lines[0].startswith("settings.rds['loyalty'].instance_class: ")


# --- the CLI: exit 2, the key and the fix, no traceback ------------------------------------


def _project_with(mistake: Mistake, tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "userdata", tmp_path / "userdata")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    doc["config"] = changed(mistake.changes, doc["config"])
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


@pytest.mark.parametrize(
    "mistake",
    [m for m in MISTAKES if m.id in ("ec2 type typo", "aws: tag key", "asg max of 100000")],
    ids=lambda m: m.id,
)
def test_the_offline_plan_exits_2_with_one_line_per_problem_and_no_traceback(
    mistake: Mistake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan_main(["prod", "--project-dir", str(_project_with(mistake, tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert names(err, mistake.config_key)
    assert all(text in err for text in mistake.fix)


def test_the_plan_process_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """The same as a process, the way an operator runs it."""
    (mistake,) = [m for m in MISTAKES if m.id == "ec2 type typo"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "components.plan",
            "prod",
            "--project-dir",
            str(_project_with(mistake, tmp_path)),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert names(result.stderr, mistake.config_key)
