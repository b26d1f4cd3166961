"""Offline Pulumi runs with mocks: for tests, the offline plan, and other teams' tests.

``run_offline(program, config=...)`` runs a Pulumi program against :class:`PlatformMocks`
with ``preview=False`` (so every Output resolves and no assertion is silently skipped) and
returns a :class:`Plan`: every registered resource with its type, logical name, parent,
inputs and resource options (protect, ignore_changes, aliases, ...).

Invokes the platform does not know raise, so a test never passes on a silently empty answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from . import mock_aws
from .ha_app_tier import AppRef
from .secure_vpc import NetworkPlan, NetworkRef
from .secure_vpc.plan import REGION_AZ_LETTERS

DEFAULT_ACCOUNT_ID = "111122223333"
DEFAULT_REGION = "ap-southeast-1"


@dataclass(frozen=True)
class Registered:
    """One resource as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str  # the parent's URN ('' for the stack)
    custom: bool
    inputs: Mapping[str, Any]
    secret_paths: frozenset[str]  # top-level inputs that were marked secret
    protect: bool
    ignore_changes: tuple[str, ...]
    aliases: tuple[str, ...]
    delete_before_replace: bool
    retain_on_delete: bool
    replace_on_changes: tuple[str, ...]
    dependencies: tuple[str, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    provider: str = ""  # "<provider URN>::<provider id>" of a custom resource

    @property
    def parent_name(self) -> str:
        return self.parent.split("::")[-1] if self.parent else ""


class Plan:
    """All registrations of one offline run, in registration order."""

    def __init__(self, resources: list[Registered], stack_outputs: Mapping[str, Any]) -> None:
        self.resources = resources
        self.stack_outputs = dict(stack_outputs)
        self._by_urn = {r.urn: r for r in resources}

    def __iter__(self) -> Iterator[Registered]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def of_type(self, type_: str) -> list[Registered]:
        """The resources of a type (possibly none: for "there is no X" assertions)."""
        return [r for r in self.resources if r.type == type_]

    def every(self, type_: str) -> list[Registered]:
        """The resources of a type, for a test that checks each of them: fails when there is
        none, so the test cannot pass because the type disappeared."""
        found = self.of_type(type_)
        if not found:
            raise AssertionError(f"the plan has no {type_}: a check of each would prove nothing")
        return found

    def named(self, name: str, type_: str | None = None) -> Registered:
        """The one resource with this logical name (and type, when names repeat across types)."""
        matches = [
            r for r in self.resources if r.name == name and (type_ is None or r.type == type_)
        ]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r} of type {type_ or 'any'}")
        return matches[0]

    def by_urn(self, urn: str) -> Registered:
        return self._by_urn[urn]

    def by_id(self, resource_id: Any) -> Registered | None:
        for r in self.resources:
            if r.outputs.get("id") == resource_id:
                return r
        return None

    def children_of(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants_of(self, parent: Registered) -> list[Registered]:
        found: list[Registered] = []
        frontier = [parent.urn]
        while frontier:
            urn = frontier.pop()
            for r in self.resources:
                if r.parent == urn:
                    found.append(r)
                    frontier.append(r.urn)
        return found

    def identity(self) -> dict[str, tuple[str, str]]:
        """URN -> (type, parent URN): what must not change for a resource to survive."""
        return {r.urn: (r.type, r.parent) for r in self.resources}


class PlatformMocks(pulumi.runtime.Mocks):
    """Realistic answers for the resources and invokes the platform uses."""

    def __init__(
        self,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        ami_id: str = "ami-0a1b2c3d4e5f67890",
        identity_center: bool = True,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.ami_id = ami_id
        #: False: IAM Identity Center is not enabled, and ListInstances answers empty lists
        self.identity_center = identity_center
        #: the region of each explicit aws provider, by provider id
        self._provider_regions: dict[str, str] = {}
        #: the account of each explicit aws provider allowed exactly one (by provider id)
        self._provider_accounts: dict[str, str] = {}

    def region_of(self, provider: str | None) -> str:
        """The region of the provider a resource or invoke uses (``<urn>::<id>``): an
        explicit provider's own, else the mocks' default."""
        return self._provider_regions.get((provider or "").rsplit("::", 1)[-1], self.region)

    def account_of(self, provider: str | None) -> str:
        """The account a resource or invoke reaches: an explicit provider's one allowed
        account (a provider assuming a role in another account), else the mocks' account."""
        return self._provider_accounts.get((provider or "").rsplit("::", 1)[-1], self.account_id)

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "random:index/randomPassword:RandomPassword":
            digest = hashlib.sha256(args.name.encode()).hexdigest()
            return "none", {**args.inputs, "result": f"Offline-{digest[:24]}!"}
        resource_id, state = mock_aws.create(
            args.typ,
            args.name,
            args.inputs,
            region=self.region_of(args.provider),
            account=self.account_of(args.provider),
        )
        resource_id = args.resource_id or resource_id
        if args.typ == "pulumi:providers:aws":
            self._provider_regions[resource_id] = str(args.inputs.get("region") or self.region)
            allowed = args.inputs.get("allowedAccountIds")
            allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
            if isinstance(allowed, list) and len(allowed) == 1:
                self._provider_accounts[resource_id] = str(allowed[0])
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        token = args.token
        region = args.args.get("region") or self.region_of(args.provider)
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            account = self.account_of(args.provider)
            return {
                "accountId": account,
                "arn": f"arn:aws:iam::{account}:user/offline",
                "userId": "AIDAOFFLINE",
                "id": account,
            }
        if token == "aws:index/getRegion:getRegion":
            return {
                "name": region,
                "region": region,
                "id": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region,
            }
        if token == "aws:index/getPartition:getPartition":
            return {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "id": "aws",
                "reverseDnsPrefix": "com.amazonaws",
            }
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            letters = REGION_AZ_LETTERS.get(region, "abc")
            return {
                "names": [f"{region}{x}" for x in letters],
                "zoneIds": [f"apse1-az{i + 1}" for i in range(len(letters))],
                "id": region,
                "state": "available",
            }
        if token == "aws:ssm/getParameter:getParameter":
            return {
                "name": args.args.get("name"),
                "value": self.ami_id,
                "type": "String",
                "id": args.args.get("name"),
                "version": 1,
                "arn": "",
                "insecureValue": self.ami_id,
                "withDecryption": False,
            }
        if token == "aws:ec2/getAmi:getAmi":
            return {"id": self.ami_id, "imageId": self.ami_id, "architecture": "x86_64"}
        if token in _EXTRA_INVOKES:
            return _EXTRA_INVOKES[token](args, self)
        raise NotImplementedError(
            f"PlatformMocks has no answer for invoke {token}; add one to components/testing.py"
        )


InvokeAnswer = Callable[[pulumi_mocks.MockCallArgs, PlatformMocks], dict[str, Any]]
#: Further invokes components need (token -> answer).
_EXTRA_INVOKES: dict[str, InvokeAnswer] = {
    "aws:elb/getServiceAccount:getServiceAccount": lambda a, m: {
        "id": "114774131450",
        "arn": "arn:aws:iam::114774131450:root",
        "region": m.region,
    },
    "aws:ssoadmin/getInstances:getInstances": lambda a, m: {
        "arns": ["arn:aws:sso:::instance/ssoins-72231a8f5d2c6e8b"] if m.identity_center else [],
        "identityStoreIds": ["d-9067a1b2c3"] if m.identity_center else [],
        "id": m.region,
        "region": m.region,
    },
    "aws:identitystore/getGroup:getGroup": lambda a, m: {
        "groupId": "0a1b2c3d4e-"
        # canonical JSON: the key order of a decoded protobuf Struct differs between runs
        + hashlib.sha256(
            json.dumps(a.args.get("alternateIdentifier"), sort_keys=True).encode()
        ).hexdigest()[:8]
        + "-1111-2222-3333-444455556666",
        "identityStoreId": a.args.get("identityStoreId"),
        "displayName": "offline",
        "id": "offline",
        "externalIds": [],
        "description": "",
        "region": m.region,
    },
}


def describe_asset(value: pulumi.Asset | pulumi.Archive) -> dict[str, Any]:
    """An asset or archive (a Lambda function's code) as plain data: its kind, file name and
    the SHA-256 of its content, so plans compare by what would be deployed (the SDK's objects
    compare by identity, and their paths differ between checkouts)."""
    if isinstance(value, pulumi.AssetArchive):
        return {"assetArchive": {k: describe_asset(v) for k, v in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileAsset):
        path = str(value.path)
        with open(path, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        return {"fileAsset": path.rsplit("/", 1)[-1], "sha256": digest}
    if isinstance(value, pulumi.StringAsset):
        return {"stringAsset": hashlib.sha256(str(value.text).encode()).hexdigest()}
    return {type(value).__name__: str(getattr(value, "path", getattr(value, "uri", "")))}


def _plain(value: Any) -> Any:
    """``value`` with every asset and archive described as plain data."""
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):
        return describe_asset(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _unwrap_secrets(value: Any) -> tuple[Any, bool]:
    """Strip Pulumi secret wrappers; say whether one was found."""
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):
        return describe_asset(value), False
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            inner, _ = _unwrap_secrets(value.get("value"))
            return inner, True
        found = False
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k], secret = _unwrap_secrets(v)
            found = found or secret
        return out, found
    if isinstance(value, list):
        items = [_unwrap_secrets(v) for v in value]
        return [i for i, _ in items], any(s for _, s in items)
    return value, False


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every registration with its resource options."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        inputs: dict[str, Any] = {}
        secret_paths: set[str] = set()
        for key, value in (raw or {}).items():
            inputs[key], secret = _unwrap_secrets(value)
            if secret:
                secret_paths.add(key)
        state = self.resources[response.urn].state if response.urn in self.resources else {}
        outputs = _plain(dict(state))
        outputs["id"] = response.id
        self.registered.append(
            Registered(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                custom=bool(request.custom),
                inputs=inputs,
                secret_paths=frozenset(secret_paths),
                protect=bool(request.protect),
                ignore_changes=tuple(request.ignoreChanges),
                aliases=tuple(str(a) for a in request.aliases),
                delete_before_replace=bool(request.deleteBeforeReplace),
                retain_on_delete=bool(request.retainOnDelete),
                replace_on_changes=tuple(request.replaceOnChanges),
                dependencies=tuple(request.dependencies),
                outputs=outputs,
                provider=request.provider,
            )
        )
        return response


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each call the SDK hands to ``run_in_executor`` (a call to the mock monitor) at
    once, in the calling thread, instead of on a pool thread.

    With an in-process monitor a pool costs two thread switches per call, and the program's
    thread then competes with the pool for the GIL on every Output it creates: most of an
    offline plan's time. The call sees what it would see on a pool thread: no running event
    loop, and a loop of its own for the SDK's nested ``_sync_await`` (the mock monitor
    serializes its answer with it). asyncio takes only a ThreadPoolExecutor as a loop's
    default executor; this one never starts a thread."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self._own_loop = asyncio.new_event_loop()

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        running = asyncio._get_running_loop()
        if running is not None:  # leave it, as a pool thread would be outside it
            asyncio._set_running_loop(None)
            asyncio.set_event_loop(self._own_loop)
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the awaiting coroutine gets it, as from a pool
            future.set_exception(exc)
        finally:
            if running is not None:
                asyncio.set_event_loop(running)
                asyncio._set_running_loop(running)
        return future


_INLINE: _InlineExecutor | None = None


def _inline_executor() -> _InlineExecutor:
    """The process's one inline executor: it stays the event loop's default executor after a
    run (what the SDK runs later on that loop still works), and its loop lives as long as the
    process (a loop per run would hold two file descriptors each)."""
    global _INLINE
    if _INLINE is None:
        _INLINE = _InlineExecutor()
    return _INLINE


async def _run_to_quiescence(program: Callable[[], None]) -> None:
    """Run ``program`` and wait until every RPC and every Output it started has finished.

    Same end state as the SDK's ``run_pulumi_func``, but outstanding Outputs are awaited
    together rather than one completion at a time, which is quadratic in their number (a
    stack of ~400 pulumi-aws resources tracks ~10,000 Outputs). An exception raised by the
    program or by any Output propagates, as it would under the Pulumi CLI, but only after
    every registration already started has reached the monitor: a test asserting "nothing
    was registered" sees what really was, and nothing leaks into the next run.
    """
    # the first error of each kind, raised in this order: the program's own, an Output's
    # (e.g. a value checked when it resolves), then the SDK's wrapper of a failed RPC
    errors: dict[str, BaseException] = {}
    try:
        program()
    except Exception as exc:
        errors["program"] = exc
    while True:
        try:
            await wait_for_rpcs(await_all_outstanding_tasks=False)
        except Exception as exc:
            errors.setdefault("rpc", exc)
        with SETTINGS.lock:
            pending = list(SETTINGS.outputs)
            SETTINGS.outputs.clear()
        if not pending:
            if not SETTINGS.rpc_manager.rpcs:
                break
            continue
        for result in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(result, Exception):
                errors.setdefault("output", result)
    for kind in ("program", "output", "rpc"):
        if kind in errors:
            raise _clean_error(errors[kind])


def _clean_error(error: BaseException) -> BaseException:
    """The ``pulumi.RunError`` (e.g. a ComponentConfigError raised when an Output resolved)
    behind the SDK's "While processing resource ..." wrappers, which the CLI would show
    without a traceback; otherwise ``error`` itself. The wrappers' chain may be cyclic."""
    seen: set[int] = set()
    frontier: list[BaseException | None] = [error]
    while frontier:
        current = frontier.pop(0)
        if current is None or id(current) in seen:
            continue
        if isinstance(current, pulumi.RunError):
            return current
        seen.add(id(current))
        frontier += [current.__cause__, current.__context__]
    return error


def run_offline(
    program: Callable[[], None],
    *,
    project: str = "offline",
    stack: str = "offline",
    config: Mapping[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    mocks: PlatformMocks | None = None,
    monitor: RecordingMonitor | None = None,
) -> Plan:
    """Run ``program`` under mocks with ``preview=False`` and return what it registered.

    ``config`` maps full keys (``payments-platform:network``) to values; structured values
    may be given as Python objects. Exceptions raised by the program propagate unchanged;
    pass your own ``monitor`` to see what was registered before one was raised.
    """
    import json

    if monitor is not None:
        mocks = cast(PlatformMocks, monitor.mocks)
    mocks = mocks or PlatformMocks(region=str((config or {}).get("aws:region") or DEFAULT_REGION))
    monitor = monitor or RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()},
        secret_keys or [],
    )
    stack_outputs: dict[str, Any] = {}

    def body() -> None:
        program()

    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    exported: dict[str, Any] = {}
    original_export = pulumi.export

    def capture_export(name: str, value: Any) -> None:
        exported[name] = value

    pulumi.export = capture_export
    loop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    loop.set_default_executor(_inline_executor())
    # A plan makes tens of thousands of short-lived futures and tasks: the cyclic garbage
    # collector, run every few hundred allocations, would scan them (and every earlier plan
    # still referenced) again and again, about half of a plan's time. It runs once, after.
    collecting = gc.isenabled()
    gc.disable()
    # The SDK walks the Python stack of every registration for the source position it sends
    # the engine (diagnostics only; the mock monitor drops it): a sixth of a plan's time. The
    # SDK's own answer when it finds no frame is an empty trace.
    stack_trace = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        _sync_await(_run_to_quiescence(body))
        for name, value in exported.items():
            output = pulumi.Output.from_input(value)
            stack_outputs[name] = _sync_await(output.future())
    finally:
        pulumi.export = original_export
        pulumi_resource._get_stack_trace = stack_trace
        if collecting:
            gc.enable()
            gc.collect(1)
    return Plan(monitor.registered, stack_outputs)


@dataclass(frozen=True)
class Refusal:
    """What a program refused with: the error's lines and what it registered first."""

    message: str
    registered: list[Registered]


def refusal(program: Callable[[], None], **run: Any) -> Refusal:
    """Run ``program`` offline expecting a :class:`ComponentConfigError`; return its message
    and every registration the run made before it (settled: an empty list is proof).

    ``AssertionError`` when the program is accepted. Keyword arguments go to
    :func:`run_offline` (config, mocks ...).
    """
    from .core.problems import ComponentConfigError

    monitor = run.pop("monitor", None) or RecordingMonitor(
        run.pop("mocks", None) or PlatformMocks()
    )
    try:
        run_offline(program, monitor=monitor, **run)
    except ComponentConfigError as error:
        return Refusal(str(error), list(monitor.registered))
    raise AssertionError("the program was accepted; expected a ComponentConfigError")


def stub_id(kind: str, key: str) -> str:
    """An AWS-shaped id (``sg-`` + 17 hex digits) derived from ``key``: stable across runs."""
    return f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:17]}"


def stub_network(plan: NetworkPlan, name: str = "net") -> NetworkRef:
    """A NetworkRef with ``plan``'s facts and AWS-shaped placeholder ids, and no VPC behind
    it: for testing a component alone (nothing is registered for the network).

    ``plan`` comes from :func:`components.plan_network`, so the component sees exactly the
    network a SecureVpc with those settings would give it."""

    def out(kind: str, key: str) -> pulumi.Output[str]:
        return pulumi.Output.from_input(stub_id(kind, key))

    def by_az(kind: str, tier: str) -> dict[str, pulumi.Output[str]]:
        return {az: out(kind, f"{name}-{tier}-{az}") for az in plan.tier_azs(tier)}

    return NetworkRef(
        plan=plan,
        vpc_id=out("vpc", name),
        subnet_ids={t: by_az("subnet", t) for t in plan.tiers},
        route_table_ids={t: by_az("rtb", t) for t in plan.tiers},
        endpoint_security_group_id=out("sg", f"{name}-endpoints"),
        db_subnet_group_name=pulumi.Output.from_input(f"{name}-db"),
        docdb_subnet_group_name=pulumi.Output.from_input(f"{name}-docdb"),
        cache_subnet_group_name=pulumi.Output.from_input(f"{name}-cache"),
    )


def stub_app(name: str, data_services: Iterable[str]) -> AppRef:
    """An AppRef (an HaAppTier's reference) with a placeholder security group id, reaching
    ``data_services``: for testing a data tier alone."""
    group = pulumi.Output.from_input(stub_id("sg", name))
    role = pulumi.Output.from_input(f"{name}-instance-role-{stub_id('x', name)[2:9]}")
    return AppRef(name, group, frozenset(data_services), role)
