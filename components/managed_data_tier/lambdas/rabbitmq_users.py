"""Amazon MQ for RabbitMQ: each app's own broker user and virtual host, and the rotation of
every broker password the data tier keeps in Secrets Manager.

Amazon MQ creates a RabbitMQ broker's administrator at creation and has no API for any other
user or virtual host (nor does it read users back): they exist only in RabbitMQ, behind its
management HTTP API on the broker's HTTPS endpoint, which is private (in the data subnets).
So the data tier runs this function in the data subnets, next to the broker:

- ``{"action": "sync", "users": {<user>: {"secretArn": ..., "vhost": ...}}}`` (invoked on
  deploy whenever the list changes): each virtual host exists, each user exists with the
  password of its secret (AWSCURRENT) and full rights in its own virtual host only, and a
  user this function made earlier (tag ``platform-managed``) that is no longer listed is
  deleted. Virtual hosts are never deleted (they hold queues and messages);
- a Secrets Manager rotation event (``Step``: createSecret, setSecret, testSecret,
  finishSecret: "Lambda rotation functions", Secrets Manager user guide) for an app's secret
  or the administrator's: a new random password, set through the management API (with the
  administrator's current credentials, or, for the administrator, its own), checked with
  ``GET /api/whoami``, then made AWSCURRENT.

Environment: ``BROKER_URL`` (the broker's ``https://`` console endpoint), ``ADMIN_SECRET_ARN``.
Only the standard library and the boto3 the Lambda runtime provides.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

#: RabbitMQ tag of the users this function manages (the management UI ignores unknown tags).
MANAGED_TAG = "platform-managed"
#: Amazon MQ refuses ',', ':' and '=' in broker passwords; apps put passwords in amqps://
#: URIs: letters and digits only, 32 of them.
PASSWORD_LENGTH = 32


class RotationError(RuntimeError):
    """A rotation step that cannot proceed; Secrets Manager retries the rotation."""


# --- the RabbitMQ management HTTP API ------------------------------------------------------


Transport = Callable[[urllib.request.Request], tuple[int, bytes]]


def _urlopen(request: urllib.request.Request) -> tuple[int, bytes]:
    """Send ``request`` with certificate verification (Amazon MQ presents a public
    certificate); an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


class Management:
    """The RabbitMQ management API of one broker, as one user."""

    def __init__(
        self, base_url: str, username: str, password: str, transport: Transport = _urlopen
    ) -> None:
        if not base_url.startswith("https://"):
            raise ValueError("the management API is reached over HTTPS only")
        self.base_url = base_url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.authorization = f"Basic {token}"
        self.transport = transport

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Authorization": self.authorization, "Content-Type": "application/json"},
        )
        status, raw = self.transport(request)
        return status, json.loads(raw) if raw else None

    def must(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        if status >= 300:
            raise RotationError(f"{method} {path}: HTTP {status} {answer}")
        return answer


def _q(value: str) -> str:
    """A path segment: '/' (the default virtual host) and everything else escaped."""
    return urllib.parse.quote(value, safe="")


def _tags(user: Mapping[str, Any]) -> list[str]:
    """A user's tags: a list (RabbitMQ 3.13+) or a comma-separated string (earlier)."""
    tags = user.get("tags") or []
    return [t for t in (tags.split(",") if isinstance(tags, str) else tags) if t]


def put_user(api: Management, user: str, password: str, tags: list[str]) -> None:
    api.must("PUT", f"/api/users/{_q(user)}", {"password": password, "tags": ",".join(tags)})


def sync(
    api: Management, users: Mapping[str, Mapping[str, str]], password_of: Callable[[str], str]
) -> list[str]:
    """Make the broker hold exactly ``users`` among the users this function manages."""
    for user, spec in sorted(users.items()):
        vhost = spec["vhost"]
        api.must("PUT", f"/api/vhosts/{_q(vhost)}", {})
        put_user(api, user, password_of(spec["secretArn"]), [MANAGED_TAG])
        # its own virtual host, and nothing else: configure, write and read everything in it
        api.must(
            "PUT",
            f"/api/permissions/{_q(vhost)}/{_q(user)}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
    removed = []
    for existing in api.must("GET", "/api/users") or []:
        name = existing["name"]
        if MANAGED_TAG in _tags(existing) and name not in users:
            api.must("DELETE", f"/api/users/{_q(name)}")
            removed.append(name)
    return removed


# --- Secrets Manager rotation -------------------------------------------------------------


def _secret(secrets: Any, arn: str, stage: str, version: str | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"SecretId": arn, "VersionStage": stage}
    if version is not None:
        args["VersionId"] = version
    value: dict[str, Any] = json.loads(secrets.get_secret_value(**args)["SecretString"])
    return value


def rotate(
    event: Mapping[str, Any],
    secrets: Any,
    management: Callable[[str, str], Management],
    admin_arn: str,
) -> None:
    """One step of the rotation of ``event["SecretId"]`` to the version
    ``event["ClientRequestToken"]``."""
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    metadata = secrets.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"rotation is not enabled on {arn}")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise RotationError(f"version {token} is not a version of {arn}")
    if "AWSCURRENT" in stages[token]:
        return  # already current: a retried rotation that finished
    if "AWSPENDING" not in stages[token]:
        raise RotationError(f"version {token} of {arn} is not pending")
    if step == "createSecret":
        try:
            _secret(secrets, arn, "AWSPENDING", token)
            return
        except secrets.exceptions.ResourceNotFoundException:
            pass
        current = _secret(secrets, arn, "AWSCURRENT")
        password = secrets.get_random_password(
            PasswordLength=PASSWORD_LENGTH, ExcludePunctuation=True, RequireEachIncludedType=True
        )["RandomPassword"]
        secrets.put_secret_value(
            SecretId=arn,
            ClientRequestToken=token,
            SecretString=json.dumps({**current, "password": password}),
            VersionStages=["AWSPENDING"],
        )
    elif step == "setSecret":
        pending = _secret(secrets, arn, "AWSPENDING", token)
        user = pending["username"]
        if management(user, pending["password"]).call("GET", "/api/whoami")[0] == 200:
            return  # set by an earlier attempt of this step
        if arn == admin_arn:
            current = _secret(secrets, arn, "AWSCURRENT")
            api = management(current["username"], current["password"])
        else:
            admin = _secret(secrets, admin_arn, "AWSCURRENT")
            api = management(admin["username"], admin["password"])
        existing = api.must("GET", f"/api/users/{_q(user)}")
        put_user(api, user, pending["password"], _tags(existing))
    elif step == "testSecret":
        pending = _secret(secrets, arn, "AWSPENDING", token)
        status, _ = management(pending["username"], pending["password"]).call("GET", "/api/whoami")
        if status != 200:
            raise RotationError(f"the pending password of {pending['username']} is refused")
    elif step == "finishSecret":
        current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
        secrets.update_secret_version_stage(
            SecretId=arn,
            VersionStage="AWSCURRENT",
            MoveToVersionId=token,
            RemoveFromVersionId=current,
        )
    else:
        raise RotationError(f"unknown rotation step {step!r}")


# --- entry point --------------------------------------------------------------------------


def _client(service: str) -> Any:
    """A boto3 client (boto3 comes with the Lambda runtime)."""
    boto3 = importlib.import_module("boto3")
    return boto3.client(service)


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    secrets: Any = None,
    transport: Transport = _urlopen,
) -> dict[str, Any]:
    secrets = secrets if secrets is not None else _client("secretsmanager")
    base_url, admin_arn = os.environ["BROKER_URL"], os.environ["ADMIN_SECRET_ARN"]

    def management(user: str, password: str) -> Management:
        return Management(base_url, user, password, transport)

    if "Step" in event:
        rotate(event, secrets, management, admin_arn)
        return {"step": event["Step"]}
    if event.get("action") == "sync":
        admin = _secret(secrets, admin_arn, "AWSCURRENT")
        removed = sync(
            management(admin["username"], admin["password"]),
            event["users"],
            lambda arn: str(_secret(secrets, arn, "AWSCURRENT")["password"]),
        )
        return {"users": sorted(event["users"]), "removed": removed}
    raise ValueError(f"unknown event: {sorted(event)}")
