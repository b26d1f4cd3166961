"""Reading checkov's verdicts and matching them with waivers, offline.

tests/data/checkov-prod.json is checkov 3.3.30's output (`-o json --quiet --compact`,
re-serialised without indentation) for the prod stack's Terraform-plan rendering when issue
14 landed; tests/data/checkov-prod-addresses.json is that rendering's map from the flagged
addresses back to Pulumi URNs and names. CI runs checkov itself on the live rendering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.compliance.checkov import ScanError, failed_checks, main, review
from components.compliance.waivers import Waivers, parse

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def results() -> Any:
    return json.loads((DATA / "checkov-prod.json").read_text())


@pytest.fixture(scope="module")
def tfplan() -> dict[str, Any]:
    return {"pulumi": json.loads((DATA / "checkov-prod-addresses.json").read_text())}


def waivers(*entries: dict[str, Any]) -> Waivers:
    return parse({"waivers": list(entries)}, "test")


def waiver(rule: str, resource: str, stacks: tuple[str, ...] = ("prod",)) -> dict[str, Any]:
    return {
        "rule": rule,
        "resource": resource,
        "stacks": list(stacks),
        "group": "accepted-risk",
        "requirement": "3.5.1",
        "reason": "recorded for the test of the matching",
        "acceptedBy": "the test",
    }


def test_the_recorded_scan_read_the_whole_plan_and_lists_its_failures(results: Any) -> None:
    failed, passed = failed_checks(results)
    assert results["summary"]["resource_count"] > 400 and results["summary"]["parsing_errors"] == 0
    assert len(failed) == results["summary"]["failed"] == 32
    assert passed == results["summary"]["passed"] > 900
    assert {f["check_id"] for f in failed} >= {"CKV_AWS_145", "CKV_AWS_209", "CKV2_AWS_1"}


def test_the_list_form_of_several_frameworks_is_read_too(results: Any) -> None:
    other = {"check_type": "secrets", "results": {"failed_checks": [{"check_id": "CKV_SECRET_2"}]}}
    failed, _ = failed_checks([other, results])
    assert len(failed) == 32


@pytest.mark.parametrize(
    ("summary", "error"),
    [
        ({"resource_count": 0, "parsing_errors": 0}, "read no resource"),
        ({"resource_count": 10, "parsing_errors": 1}, "could not parse"),
    ],
)
def test_a_scan_that_read_nothing_is_an_error_not_a_pass(
    summary: dict[str, int], error: str
) -> None:
    with pytest.raises(ScanError, match=error):
        failed_checks({"check_type": "terraform_plan", "summary": summary, "results": {}})


def test_findings_are_named_by_their_pulumi_resource(results: Any, tfplan: dict[str, Any]) -> None:
    report = review(results, tfplan, None, "prod")
    mq = [v.finding for v in report.verdicts if v.finding.check_id == "CKV_AWS_209"]
    assert [(f.name, f.type) for f in mq] == [("prod-rabbitmq-broker", "aws:mq/broker:Broker")]
    assert mq[0].urn.endswith("$aws:mq/broker:Broker::prod-rabbitmq-broker")
    assert report.failed and len(report.open) == 32


def test_a_waiver_accepts_what_its_glob_names_in_its_stacks_only(
    results: Any, tfplan: dict[str, Any]
) -> None:
    accepted = waivers(waiver("CKV_AWS_145", "*-alb-logs"), waiver("CKV_AWS_145", "*-access-logs"))
    report = review(results, tfplan, accepted, "prod")
    waived = sorted(v.finding.name for v in report.waived)
    assert waived == ["loyalty-alb-logs", "mmf-alb-logs", "prod-access-logs"]
    assert len(report.open) == 29 and not report.unmatched
    # the same waivers do not reach another stack
    assert not review(results, tfplan, accepted, "nonprod").waived


def test_a_waiver_that_matches_no_finding_fails_the_review(
    results: Any, tfplan: dict[str, Any]
) -> None:
    stale = waivers(waiver("CKV_AWS_16", "prod-rds-*"))  # RDS is encrypted: nothing to accept
    report = review(results, tfplan, stale, "prod")
    assert [w.rule for w in report.unmatched] == ["CKV_AWS_16"]
    assert any("matches no finding in prod: remove it" in line for line in report.lines())


def test_policy_waivers_are_not_checked_against_the_scanner(
    results: Any, tfplan: dict[str, Any]
) -> None:
    policy = waivers({**waiver("waf-logging", "loyalty-waf")})
    assert not review(results, tfplan, policy, "prod").unmatched


def test_the_review_prints_a_stub_per_open_finding(results: Any, tfplan: dict[str, Any]) -> None:
    report = review(results, tfplan, None, "prod")
    stubs = report.stubs()
    assert len(stubs) == 32
    assert any(
        s.startswith(
            "  - rule: CKV_AWS_209\n    resource: prod-rabbitmq-broker\n    stacks: [prod]"
        )
        for s in stubs
    )


def test_the_cli_exits_1_on_open_findings_0_when_all_are_waived_2_on_bad_input(
    results: Any, tfplan: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results_file = tmp_path / "results.json"
    results_file.write_text(json.dumps(results))
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(tfplan))
    every = {
        (f["check_id"], tfplan["pulumi"]["resources"][f["resource"]]["name"])
        for f in results["results"]["failed_checks"]
    }
    all_waived = tmp_path / "all.yaml"
    all_waived.write_text(json.dumps({"waivers": [waiver(c, n) for c, n in sorted(every)]}))
    none_waived = tmp_path / "none.yaml"
    none_waived.write_text("waivers: []\n")
    args = ["--stack", "prod", "--tfplan", str(plan_file), "--results", str(results_file)]
    assert main([*args, "--waivers", str(all_waived)]) == 0
    assert "32 waived (accepted-risk 32)" in capsys.readouterr().out
    assert main([*args, "--waivers", str(none_waived)]) == 1
    out = capsys.readouterr().out
    assert out.count("\nopen ") + out.startswith("open ") == 32 and "waiver stubs" in out
    results_file.write_text("{not json")
    assert main([*args, "--waivers", str(none_waived)]) == 2
    assert "error: prod:" in capsys.readouterr().err
