"""The offline harness other teams' tests rely on: it reports what really happened."""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws
import pytest

from components import ComponentConfigError
from components.testing import PlatformMocks, RecordingMonitor, run_offline


def test_a_program_that_raises_still_shows_what_it_registered_first() -> None:
    """'Nothing was registered' assertions must be able to fail."""
    monitor = RecordingMonitor(PlatformMocks())

    def program() -> None:
        aws.s3.Bucket("registered-before-the-error")
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_offline(program, monitor=monitor)
    assert [r.name for r in monitor.registered] == ["registered-before-the-error"]


def test_a_failed_run_leaks_nothing_into_the_next() -> None:
    def failing() -> None:
        aws.s3.Bucket("half-done")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        run_offline(failing)
    assert len(run_offline(lambda: None)) == 0


def test_a_problem_found_when_an_output_resolves_surfaces_as_itself() -> None:
    """The SDK wraps a failed input in 'While processing resource ...' errors (a cyclic
    chain); the harness raises the component's own error, as the CLI shows it."""

    def bad(value: str) -> str:
        raise ComponentConfigError("X('y')", [f"settings.arn: {value} is wrong"])

    def program() -> None:
        aws.sns.Topic("t", kms_master_key_id=pulumi.Output.from_input("k").apply(bad))

    with pytest.raises(ComponentConfigError, match=r"settings\.arn: k is wrong"):
        run_offline(program)


def test_mocked_acm_certificates_have_acm_shaped_arns() -> None:
    plan = run_offline(lambda: aws.acm.Certificate("c", domain_name="a.example.com"))
    (cert,) = plan.of_type("aws:acm/certificate:Certificate")
    assert re.fullmatch(
        r"arn:aws:acm:ap-southeast-1:111122223333:certificate/"
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}",
        cert.outputs["arn"],
    )
