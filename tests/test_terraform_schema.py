"""terraform/ against the google provider's own schema: a stand-in for `terraform validate`.

No provider can be downloaded here. tests/fixtures/google_schema.json holds the schema of the
resource types we use, for the oldest and newest provider majors we accept (6.x and 8.x),
extracted from the CDK prebuilt-provider packages by tests/google_schema.py (`make tf-schema`).
Every google_* block must be valid on both: no unknown argument or block, no argument written
as a block or the reverse, no required one missing. Every reference must resolve.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import hcl2
import pytest
from conftest import FIXTURES, ROOT
from hcl2.utils import SerializationOptions

TERRAFORM = ROOT / "terraform"
SCHEMA = json.loads((FIXTURES / "google_schema.json").read_text())
META = {"count", "for_each", "depends_on", "lifecycle", "provider", "__is_block__"}
_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=True, with_comments=False)


def parsed(texts: dict[str, str]) -> dict[str, Any]:
    return {name: hcl2.loads(text, serialization_options=_OPTIONS) for name, text in texts.items()}


def sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(TERRAFORM.glob("*.tf"))}


def resources(files: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(file, type, name, body) of every resource block."""
    found = []
    for file, tree in files.items():
        for block in tree.get("resource", []):
            for rtype, named in block.items():
                if rtype == "__is_block__":
                    continue
                for name, body in named.items():
                    if name != "__is_block__":
                        found.append((file, rtype, name, body))
    return found


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


def problems(body: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """What the provider would refuse in one block's body."""
    found = []
    for key, value in body.items():
        if key in META:
            continue
        if key in schema["arguments"]:
            if _is_block(value):
                found.append(f"{where}: {key} is an argument, written as a block")
        elif key in schema["blocks"]:
            if not _is_block(value):
                found.append(f"{where}: {key} is a block, written as an argument")
                continue
            for item in value:
                found += problems(item, schema["blocks"][key]["schema"], f"{where}.{key}")
        else:
            found.append(f"{where}: unknown argument or block {key!r}")
    found += [
        f"{where}: required argument {n!r} missing"
        for n, req in schema["arguments"].items()
        if req and n not in body
    ]
    found += [
        f"{where}: required block {n!r} missing"
        for n, b in schema["blocks"].items()
        if b["required"] and n not in body
    ]
    return found


def schema_problems(texts: dict[str, str]) -> list[str]:
    found = []
    for file, rtype, name, body in resources(parsed(texts)):
        if not rtype.startswith("google_"):
            continue
        for provider, types in SCHEMA.items():
            if rtype not in types:
                found.append(f"{file}: {rtype} is not in the extracted schema: run `make tf-schema`")
                continue
            found += problems(body, types[rtype], f"{file}: {rtype}.{name} (provider {provider})")
    return found


def reference_problems(texts: dict[str, str]) -> list[str]:
    """Every var., local., data. and resource reference names something declared, once."""
    files = parsed(texts)
    declared: Counter[str] = Counter()
    for tree in files.values():
        for block in tree.get("variable", []):
            declared.update(f"var.{k}" for k in block if k != "__is_block__")
        for block in tree.get("locals", []):
            declared.update(f"local.{k}" for k in block if k != "__is_block__")
        for kind, prefix in (("resource", ""), ("data", "data.")):
            for block in tree.get(kind, []):
                for rtype, named in block.items():
                    if rtype != "__is_block__":
                        declared.update(f"{prefix}{rtype}.{n}" for n in named if n != "__is_block__")
    found = [f"{name} is declared {n} times" for name, n in declared.items() if n > 1]
    for file, text in texts.items():
        code = re.sub(r"(?m)#.*$", "", text)  # comments may name anything
        code = re.sub(r"moved\s*\{[^}]*\}", "", code)  # a moved block names an address that no longer is
        used = set(re.findall(r"\b(?:var|local)\.\w+", code))
        used |= set(re.findall(r"\bdata\.\w+\.\w+", code))
        used |= {m.group(0) for m in re.finditer(r"(?<![.\w])(?:google|time|archive)_\w+\.\w+", code)}
        found += [f"{file}: {name} is not declared" for name in sorted(used - set(declared))]
    return found


def test_every_google_block_is_valid_on_provider_6_and_8() -> None:
    assert set(SCHEMA) == {"6.50.0", "8.7.0"}
    assert schema_problems(sources()) == []


def test_every_reference_resolves_to_one_declaration() -> None:
    assert reference_problems(sources()) == []


@pytest.mark.parametrize(
    ("before", "after", "reported"),
    [
        ("timeout_seconds ", "timeout_second ", "unknown argument or block 'timeout_second'"),
        ("  retry_config {", "  retry_config = {", "retry_config is a block, written as an argument"),
        (
            '  location    = var.region\n  description = "Relays',
            '  description = "Relays',
            "required argument 'location' missing",
        ),
        (
            "uniform_bucket_level_access = true",
            "uniform_bucket_level_access { }",
            "is an argument, written as a block",
        ),
    ],
)
def test_the_schema_check_catches_what_validate_would(before: str, after: str, reported: str) -> None:
    texts = sources()
    file = next(f for f, t in texts.items() if before in t)
    texts[file] = texts[file].replace(before, after, 1)
    assert any(reported in p for p in schema_problems(texts)), schema_problems(texts)


def test_the_reference_check_catches_a_misspelled_name() -> None:
    texts = sources()
    texts["function.tf"] = texts["function.tf"].replace("var.max_instances", "var.max_instance", 1)
    texts["iam.tf"] += '\nlocals {\n  function_account_id = "again"\n}\n'
    found = reference_problems(texts)
    assert "function.tf: var.max_instance is not declared" in found
    assert "local.function_account_id is declared 2 times" in found


def test_the_extracted_schema_covers_the_types_terraform_uses() -> None:
    used = {rtype for _, rtype, _, _ in resources(parsed(sources())) if rtype.startswith("google_")}
    for types in SCHEMA.values():
        assert used <= set(types)
    # Spot checks that the extraction read names, blocks and requiredness right.
    function = SCHEMA["8.7.0"]["google_cloudfunctions2_function"]
    assert function["arguments"]["name"] is True and function["arguments"]["description"] is False
    assert function["blocks"]["build_config"]["schema"]["blocks"]["source"]["schema"]["blocks"][
        "storage_source"
    ]
    assert (
        "deletion_policy" in function["arguments"]
        and "deletion_policy" not in (SCHEMA["6.50.0"]["google_cloudfunctions2_function"]["arguments"])
    )


def test_the_schema_script_is_where_the_make_target_runs_it() -> None:
    assert "tests/google_schema.py" in (ROOT / "Makefile").read_text()
    assert Path(__file__).with_name("google_schema.py").exists()


def test_every_google_resource_waits_for_the_apis() -> None:
    """Apply order: each google_* resource depends on google_project_service.enabled, in its
    depends_on or through a resource it references (the monitoring ones included)."""
    bodies = {f"{t}.{n}": json.dumps(b) for _, t, n, b in resources(parsed(sources()))}

    def references(key: str) -> set[str]:
        found = re.finditer(r"\b((?:google|time)_\w+)\.(\w+)", bodies[key])
        return {f"{m.group(1)}.{m.group(2)}" for m in found} & set(bodies)

    def waits(key: str, seen: frozenset[str] = frozenset()) -> bool:
        return key == "google_project_service.enabled" or any(
            waits(ref, seen | {key}) for ref in references(key) - seen
        )

    assert [key for key in bodies if key.startswith("google_") and not waits(key)] == []
    assert "google_project_service.enabled" in references("google_monitoring_notification_channel.email")
