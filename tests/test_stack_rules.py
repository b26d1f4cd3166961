"""What a stack file can get wrong that no single component can see: the file against the
stack's name, its account, its region, the files it names. Every refusal names the key,
exits 2 without a traceback and registers nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from components.plan import PlanError, main, plan_stack, read_stack_config
from components.testing import PlatformMocks, RecordingMonitor
from stacks import ConfigError, settings_from_config
from stacks.settings import stack_name_problems

ROOT = Path(__file__).resolve().parents[1]


def refused_plan(stack: str = "prod", project: Path = ROOT, **overrides: Any) -> str:
    """The plan tool's refusal of ``stack`` with config overrides; nothing registered."""
    monitor = RecordingMonitor(PlatformMocks())
    with pytest.raises(PlanError) as error:
        plan_stack(stack, project, config_overrides=overrides, monitor=monitor)
    assert monitor.registered == []
    return str(error.value)


def settings_of(stack: str, **changes: Any) -> Any:
    _, config, _ = read_stack_config(ROOT, stack)
    config.update({k: v for k, v in changes.items()})
    return settings_from_config(config)


# --- item 9: files are read before anything is registered ------------------------------


def test_a_missing_user_data_file_registers_nothing(tmp_path: Path) -> None:
    """It used to fail after ~200 resources, with a traceback."""
    message = refused_plan(
        apps={"loyalty": {**_app("loyalty"), "userDataFile": "userdata/missing.sh"}}
    )
    assert "payments-platform:apps.loyalty.userDataFile: 'userdata/missing.sh' not found" in (
        message
    )


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "userdata/../../x.sh"])
def test_a_user_data_file_outside_the_project_is_refused(path: str) -> None:
    message = refused_plan(apps={"loyalty": {**_app("loyalty"), "userDataFile": path}})
    assert f"payments-platform:apps.loyalty.userDataFile: {path!r} is outside the project" in (
        message
    )


def test_a_link_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__"))
    (tmp_path / "outside.sh").write_text("#!/bin/sh\n")
    (project / "userdata" / "loyalty.sh").unlink()
    (project / "userdata" / "loyalty.sh").symlink_to(tmp_path / "outside.sh")
    assert "userDataFile: 'userdata/loyalty.sh' is outside the project" in refused_plan(
        project=project
    )


def _app(name: str) -> dict[str, Any]:
    import json

    _, config, _ = read_stack_config(ROOT, "prod")
    return dict(json.loads(config["payments-platform:apps"])[name])


# --- the stack file against the stack ----------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "file", "expected"),
    [
        (
            "prod",
            "nonprod",
            "environment: the stack 'prod' is named prod but its file says nonprod",
        ),
        (
            "dev",
            "prod",
            "environment: the stack 'dev' is named as a nonprod stack but its file says prod",
        ),
        ("payments-test", "prod", "is named as a nonprod stack"),
        (
            "management",
            "prod",
            "stackRole: the stack 'management' is named as the management stack",
        ),
        ("org-root", "management", None),  # named as the organization's: fine
        ("prod", "management", "stackRole: the stack 'prod' builds the organization"),
        ("cards-eu", "prod", None),  # a name that says neither is free
        ("nonprod", "nonprod", None),
    ],
)
def test_a_stack_file_that_contradicts_its_stack_name_is_refused(
    stack: str, file: str, expected: str | None
) -> None:
    problems = stack_name_problems(stack, settings_of(file))
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_the_plan_tool_refuses_a_stack_run_with_the_wrong_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    shutil.copytree(ROOT / "userdata", tmp_path / "userdata")
    shutil.copy(ROOT / "Pulumi.nonprod.yaml", tmp_path / "Pulumi.prod.yaml")
    assert main(["prod", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "payments-platform:environment: the stack 'prod' is named prod" in err
    assert "Traceback" not in err


def test_nonprod_holds_no_card_data() -> None:
    _, config, _ = read_stack_config(ROOT, "nonprod")
    assert settings_from_config(config).data_classification == "out-of-scope"
    config.pop("payments-platform:dataClassification")
    assert settings_from_config(config).data_classification == "out-of-scope"  # the default
    config["payments-platform:dataClassification"] = "cde"
    with pytest.raises(ConfigError, match="dataClassification: a nonprod stack holds no card"):
        settings_from_config(config)


def test_the_management_stack_is_kept_like_prod() -> None:
    _, config, _ = read_stack_config(ROOT, "management")
    config["payments-platform:environment"] = "nonprod"
    config["payments-platform:dataClassification"] = "connected"
    with pytest.raises(ConfigError, match="environment: a management stack runs the organization"):
        settings_from_config(config)


# --- other accounts, unknown regions ----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "apps",
            {
                "mmf": {
                    **_app("mmf"),
                    "certificateArn": "arn:aws:acm:ap-southeast-1:123456789012:"
                    "certificate/1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e",
                }
            },
            "payments-platform:apps.mmf.certificateArn: arn:aws:acm:ap-southeast-1:123456789012:",
        ),
    ],
)
def test_an_arn_of_another_account_is_refused(key: str, value: Any, expected: str) -> None:
    import json

    _, config, _ = read_stack_config(ROOT, "prod")
    config[f"payments-platform:{key}"] = json.dumps(value)
    with pytest.raises(ConfigError) as error:
        settings_from_config(config)
    assert expected in str(error.value)
    assert "is in account 123456789012, not this stack's 210987654321" in str(error.value)


def test_other_accounts_in_opensearch_and_dms_settings_are_refused_too() -> None:
    import json

    _, config, _ = read_stack_config(ROOT, "prod")
    data = json.loads(config["payments-platform:dataTier"])
    data["opensearch"]["masterUserArn"] = "arn:aws:iam::123456789012:role/payments-search-admin"
    data["dms"]["sources"]["mmf-pg"]["secretArn"] = (
        "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:dms/mmf-pg-Ef3Gh4"
    )
    config["payments-platform:dataTier"] = json.dumps(data)
    with pytest.raises(ConfigError) as error:
        settings_from_config(config)
    text = str(error.value)
    assert "payments-platform:dataTier.opensearch.masterUserArn: arn:aws:iam::123456789012" in text
    assert "payments-platform:dataTier.dms.sources.mmf-pg.secretArn: arn:aws:secretsmanager" in text


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("ap-southeast1", "did you mean ap-southeast-1"),
        ("ap-southeast-9", "is not a region this platform supports"),
        ("mars-north-1", "the supported regions are"),
    ],
)
def test_an_unknown_region_has_its_own_message(region: str, expected: str) -> None:
    _, config, _ = read_stack_config(ROOT, "prod")
    config["aws:region"] = region
    with pytest.raises(ConfigError) as error:
        settings_from_config(config)
    (line,) = [p for p in error.value.problems if p.startswith("aws:region")]
    assert line.startswith(f"aws:region: {region!r} is not a region") and expected in line
