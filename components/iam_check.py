"""Does a policy document allow a request? For tests that read a plan the way AWS will.

Mocks accept any policy. AWS evaluates it: a delivery from CloudTrail to a bucket, from
CloudWatch to an encrypted topic, a role assumed by a service, all fail at deploy or, worse,
silently at run time when the document lacks the statement the service needs. This module
evaluates identity-based and resource-based policies the way the IAM policy evaluation logic
documents it, for the parts this platform uses:

- an explicit ``Deny`` wins; otherwise an ``Allow`` whose every part matches; otherwise
  implicitly denied;
- ``Action``/``NotAction``, ``Resource``/``NotResource`` and ``Principal`` with ``*`` and
  ``?`` wildcards (actions case-insensitively); ``{"AWS": "arn:...:root"}`` is every
  principal of that account;
- conditions: the ``String*``, ``Arn*``, ``Bool`` and ``Numeric*`` operators, their
  ``IfExists`` forms, several values of a key (any matches) and several keys or operators
  (all must match). A key missing from the request fails a positive operator and satisfies a
  negated one (``StringNotEquals``), as AWS documents.

It is not a full policy simulator: no policy variables, no ``ForAllValues``, no session or
permission-boundary logic. A test that needs more says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "deny", "implicit-deny"]


@dataclass(frozen=True)
class Request:
    """One request as IAM sees it."""

    action: str
    resource: str = "*"
    #: the caller, for resource policies: {"Service": "..."} or {"AWS": "<arn>"}
    principal: Mapping[str, str] = field(default_factory=dict)
    #: condition keys of the request (aws:SourceArn, kms:ViaService ...)
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _wildcard(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _principal_matches(principal: Any, caller: Mapping[str, str]) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for kind, values in principal.items():
        for value in _listed(values):
            if value == "*":
                return True
            given = caller.get(kind)
            if given is None:
                continue
            if given == value:
                return True
            # an account's root stands for every principal of that account
            root = re.fullmatch(r"arn:aws[a-z-]*:iam::(\d{12}):root", str(value))
            if kind == "AWS" and root and f":{root.group(1)}:" in given:
                return True
    return False


_OPERATOR = re.compile(
    r"^(?P<base>String(?:Not)?(?:Equals(?:IgnoreCase)?|Like)|Arn(?:Not)?(?:Equals|Like)|Bool|"
    r"Numeric(?:Not)?(?:Equals|LessThan(?:Equals)?|GreaterThan(?:Equals)?))"
    r"(?P<ifexists>IfExists)?$"
)


def _compare(base: str, expected: str, given: str) -> bool:
    if base.startswith("Numeric"):
        a, b = float(given), float(expected)
        name = base.replace("Not", "")
        result = {
            "NumericEquals": a == b,
            "NumericLessThan": a < b,
            "NumericLessThanEquals": a <= b,
            "NumericGreaterThan": a > b,
            "NumericGreaterThanEquals": a >= b,
        }[name]
        return result
    if base == "Bool":
        return str(given).lower() == str(expected).lower()
    if "Like" in base:
        return _wildcard(expected, given)
    if "IgnoreCase" in base:
        return expected.lower() == given.lower()
    return expected == given


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    for operator, keys in condition.items():
        match = _OPERATOR.match(operator)
        if match is None:
            raise ValueError(f"condition operator {operator!r} is not evaluated here")
        base, if_exists = match["base"], bool(match["ifexists"])
        negated = "Not" in base
        positive = base.replace("Not", "")
        for key, expected in keys.items():
            given = context.get(key)
            if given is None:
                if if_exists or negated:
                    continue
                return False
            hit = any(
                _compare(positive, str(e), str(g))
                for e in _listed(expected)
                for g in _listed(given)
            )
            if hit == negated:
                return False
    return True


def _statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement and not any(
        _wildcard(a, request.action, case=False) for a in _listed(statement["Action"])
    ):
        return False
    if "NotAction" in statement and any(
        _wildcard(a, request.action, case=False) for a in _listed(statement["NotAction"])
    ):
        return False
    if "Resource" in statement and not any(
        _wildcard(r, request.resource) for r in _listed(statement["Resource"])
    ):
        return False
    if "NotResource" in statement and any(
        _wildcard(r, request.resource) for r in _listed(statement["NotResource"])
    ):
        return False
    if "Principal" in statement and not _principal_matches(
        statement["Principal"], request.principal
    ):
        return False
    return _condition_holds(statement.get("Condition", {}), request.context)


def decide(policy: str | Mapping[str, Any], request: Request) -> Decision:
    """What IAM decides for ``request`` under this one policy document."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = _listed(document.get("Statement"))
    matching = [s for s in statements if _statement_matches(s, request)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return "deny"
    if any(s.get("Effect") == "Allow" for s in matching):
        return "allow"
    return "implicit-deny"


def allows(policy: str | Mapping[str, Any], request: Request) -> bool:
    return decide(policy, request) == "allow"
