"""JSON Schema of a stack file (`Pulumi.<stack>.yaml`), generated from the settings models.

    python -m stacks.schema > schema/stack-config.schema.json

Editors with YAML language support validate stack files against it; a test fails when the
committed file drifts from the models.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .settings import NAMESPACE, SECRET_KEYS, StackSettings


def stack_config_schema() -> dict[str, Any]:
    models = StackSettings.model_json_schema(by_alias=True)
    properties: dict[str, Any] = {
        "aws:region": {
            "type": "string",
            "description": "AWS region of the stack (default ap-southeast-1).",
        }
    }
    for alias, field_schema in models["properties"].items():
        if alias == "region":  # read from aws:region, not from the namespace
            continue
        properties[f"{NAMESPACE}:{alias}"] = field_schema
    for key, description in SECRET_KEYS.items():
        # written by `pulumi config set --secret --path`: every leaf is {secure: <ciphertext>}
        properties[f"{NAMESPACE}:{key}"] = {"type": "object", "description": description}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{NAMESPACE} stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": properties,
                "required": [f"{NAMESPACE}:environment"],
                # other providers' keys (aws:, pulumi:) are free; ours must be known
                "patternProperties": {f"^(?!{NAMESPACE}:)": {}},
                "additionalProperties": False,
            },
            "encryptionsalt": {"type": "string"},
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
        },
        "$defs": models.get("$defs", {}),
    }


def main() -> int:
    json.dump(stack_config_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
