"""The offline harness other teams' tests rely on: it reports what really happened."""

from __future__ import annotations

import asyncio
import re

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime.sync_await import _sync_await

from components import ComponentConfigError
from components.testing import (
    PlatformMocks,
    RecordingMonitor,
    refusal,
    run_offline,
    stub_id,
    stub_network,
)


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


def test_refusal_returns_the_problems_and_what_was_registered_before() -> None:
    from components import SecureVpc, SecureVpcSettings, StackContext

    def program() -> None:
        aws.s3.Bucket("first")
        SecureVpc("Bad Name", SecureVpcSettings(), context=StackContext())

    result = refusal(program)
    assert result.message.startswith("SecureVpc('Bad Name'): invalid configuration")
    assert [r.name for r in result.registered] == ["first"]
    with pytest.raises(AssertionError, match="accepted"):
        refusal(lambda: None)


def test_a_component_can_be_tested_alone_on_a_stub_network() -> None:
    from components import HaAppTier, HaAppTierSettings, SecureVpcSettings, StackContext
    from components.secure_vpc import plan_network

    network = plan_network(
        SecureVpcSettings(), on_prem={}, data_services=["redis"], dms_source_engines=[]
    )
    cert = (
        "arn:aws:acm:ap-southeast-1:111122223333:certificate/12345678-1234-1234-1234-123456789012"
    )

    def program() -> None:
        HaAppTier(
            "orders",
            HaAppTierSettings(certificate_arn=cert),
            context=StackContext(),
            network=stub_network(network),
            alarm_topic_arn="arn:aws:sns:ap-southeast-1:111122223333:alarms",
            data_services=["redis"],
        )

    plan = run_offline(program)
    assert not plan.of_type("aws:ec2/vpc:Vpc")  # no network was built
    asg = plan.named("orders-asg", "aws:autoscaling/group:Group")
    assert asg.inputs["vpcZoneIdentifiers"] == [stub_id("subnet", f"net-app-{az}") for az in "abc"]


def test_after_a_run_the_event_loop_still_runs_work_in_its_default_executor() -> None:
    """run_offline makes its inline executor the loop's default; it must keep working after
    the run (a later run, or the SDK's own calls on that loop), twice over."""
    run_offline(lambda: None)
    run_offline(lambda: None)
    loop = asyncio.get_event_loop()
    assert _sync_await(loop.run_in_executor(None, lambda: 42)) == 42
