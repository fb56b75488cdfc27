"""Extract the google provider's schema for the resource types terraform/ uses: `make tf-schema`.

No provider can be downloaded here, so `terraform validate` cannot run. The provider's schema
ships, though, inside the CDK prebuilt-provider packages on PyPI: a jsii assembly in which each
resource's config lists its arguments and nested blocks, each with a link to its Terraform
Registry anchor (the registry name) and whether it is optional. This script downloads one
package per provider major we accept, and writes tests/fixtures/google_schema.json:

    {provider version: {resource type: {"arguments": {name: required},
                                         "blocks": {name: {"required": bool, "schema": {...}}}}}}

tests/test_terraform_schema.py holds every google_* block of terraform/ against it.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "google_schema.json"
# (package, version): google provider 8.x (CDK Terrain) and 6.x (cdktf), the two ends we accept.
PACKAGES = (("cdktn-provider-google", "21.1.0"), ("cdktf-cdktf-provider-google", "16.12.1"))
_REGISTRY = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/google/([\d.]+)/docs/(resources|data-sources)/(\w+)[ }]"
)
_ANCHOR = re.compile(r"registry\.terraform\.io/providers/hashicorp/google/[\d.]+/docs/[\w-]+/\w+#(\w+) ")


def used_types() -> set[str]:
    """The google_* resource types terraform/ declares."""
    found = set()
    for path in (ROOT / "terraform").glob("*.tf"):
        options = SerializationOptions(strip_string_quotes=True)
        for block in hcl2.loads(path.read_text(), serialization_options=options).get("resource", []):
            found |= {t for t in block if t.startswith("google_")}
    return found


def assembly(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(archive.read(name))) as tar:
            return json.load(tar.extractfile("package/.jsii"))


def extract(types: dict[str, Any], wanted: set[str]) -> tuple[str, dict[str, Any]]:
    """(provider version, {resource type: schema}) for the wanted types."""
    version, found = "", {}
    for fqn, item in types.items():
        match = _REGISTRY.search(item.get("docs", {}).get("summary", ""))
        if item.get("kind") != "class" or not match or match.group(2) != "resources":
            continue
        name = f"google_{match.group(3)}"
        if name in wanted:
            version = match.group(1)
            found[name] = _schema(types, fqn + "Config")
    missing = wanted - set(found)
    if missing:
        raise SystemExit(f"not in the provider {version}: {sorted(missing)}")
    return version, dict(sorted(found.items()))


def _schema(types: dict[str, Any], fqn: str) -> dict[str, Any]:
    arguments: dict[str, bool] = {}
    blocks: dict[str, Any] = {}
    for prop in types[fqn].get("properties", []):
        anchor = _ANCHOR.search(prop.get("docs", {}).get("remarks", ""))
        name = anchor.group(1) if anchor else re.sub(r"(?<!^)([A-Z])", r"_\1", prop["name"]).lower()
        required = not prop.get("optional", False)
        struct = _struct(types, prop["type"])
        if struct:
            blocks[name] = {"required": required, "schema": _schema(types, struct)}
        else:
            arguments[name] = required
    return {"arguments": dict(sorted(arguments.items())), "blocks": dict(sorted(blocks.items()))}


def _struct(types: dict[str, Any], type_ref: Any) -> str | None:
    """The data type a block's property holds, whether one, a list of them, or a union."""
    if isinstance(type_ref, dict):
        fqn = type_ref.get("fqn")
        if fqn and types.get(fqn, {}).get("datatype"):
            return fqn
        for value in type_ref.values():
            found = _struct(types, value)
            if found:
                return found
    if isinstance(type_ref, list):
        for value in type_ref:
            found = _struct(types, value)
            if found:
                return found
    return None


def main(argv: list[str]) -> int:
    """With a directory argument, the wheels are taken from there instead of downloaded."""
    wanted = used_types()
    schema = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(argv[0]) if argv else Path(tmp)
        for package, version in PACKAGES:
            pattern = f"{package.replace('-', '_')}-{version}-*.whl"
            if not list(folder.glob(pattern)):
                pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(folder)]
                subprocess.run([*pip, f"{package}=={version}"], check=True)
            (wheel,) = folder.glob(pattern)
            provider, types = extract(assembly(wheel)["types"], wanted)
            schema[provider] = types
            print(f"{package} {version}: google provider {provider}, {len(types)} resource types")
    OUTPUT.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
