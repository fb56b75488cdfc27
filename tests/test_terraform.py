"""terraform/ checked offline: no provider can be downloaded here, so `terraform validate` cannot
run. Instead, checkov, `terraform fmt`, and tests that parse the .tf files with python-hcl2 and
tie them to the code they deploy."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any

import hcl2
import pytest
from conftest import ROOT
from hcl2.utils import SerializationOptions
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from bot.config import Config, ConfigError

TERRAFORM = ROOT / "terraform"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# Read by the code, deliberately left to their production defaults by Terraform.
DEFAULTED = {"ATLASSIAN_IP_RANGES_URL", "IP_RANGES_TTL_SECONDS", "IP_RANGES_SNAPSHOT", "EXTRA_ALLOWED_CIDRS"}
# Read for older deployments; Terraform folds its variable into THREAD_MODE instead.
DEPRECATED = {"THREAD_UPDATES"}


def load() -> dict[str, Any]:
    """All .tf files merged: {"resource": {type: {name: body}}, "locals": {...}, ...}."""
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    merged: dict[str, Any] = {"resource": {}, "data": {}, "locals": {}, "variable": {}, "output": {}}
    for path in sorted(TERRAFORM.glob("*.tf")):
        parsed = hcl2.loads(path.read_text(), serialization_options=options)
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for rtype, named in block.items():
                    merged[kind].setdefault(rtype, {}).update(named)
        for block in parsed.get("locals", []):
            merged["locals"].update(block)
        for kind in ("variable", "output"):
            for block in parsed.get(kind, []):
                merged[kind].update(block)
        merged.setdefault("terraform", []).extend(parsed.get("terraform", []))
    return merged


TF = load()
FUNCTION = TF["resource"]["google_cloudfunctions2_function"]["webhook"]
BUILD = FUNCTION["build_config"][0]
SERVICE = FUNCTION["service_config"][0]
LOCALS = TF["locals"]


def env_reads() -> set[str]:
    """Every environment variable Config reads, found by recording its lookups."""
    seen: set[str] = set()

    class Recorder(dict):
        def get(self, key: str, default: Any = None) -> Any:
            seen.add(key)
            return super().get(key, default)

        def __getitem__(self, key: str) -> Any:
            seen.add(key)
            return super().__getitem__(key)

    Config.from_env(Recorder(STATUSPAGE_PAGE_ID="p"))
    return seen


def test_entry_point_is_an_http_function_defined_in_main() -> None:
    tree = ast.parse((ROOT / "main.py").read_text())
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    entry = functions[BUILD["entry_point"]]
    assert [ast.unparse(d) for d in entry.decorator_list] == ["functions_framework.http"]


def test_runtime_is_a_cloud_functions_python_runtime() -> None:
    assert BUILD["runtime"] in {"python312", "python313"}


def test_service_config_limits() -> None:
    assert 0 < SERVICE["timeout_seconds"] <= 60  # Statuspage waits 30 s
    assert SERVICE["max_instance_count"] == "${var.max_instances}"
    assert SERVICE["available_memory"] == "${var.memory}"
    assert SERVICE["service_account_email"] == "${google_service_account.function.email}"
    # More than one request at a time needs a whole vCPU, and gunicorn as many threads.
    assert SERVICE["available_cpu"] == "${var.available_cpu}"
    assert TF["variable"]["available_cpu"]["default"] == "1"
    assert SERVICE["max_instance_request_concurrency"] == "${var.max_instance_request_concurrency}"
    assert LOCALS["environment"]["THREADS"] == "${tostring(var.max_instance_request_concurrency)}"


def test_every_variable_the_code_reads_is_set_or_deliberately_defaulted() -> None:
    deployed = set(LOCALS["environment"]) | set(LOCALS["optional_environment"])
    assert env_reads() - DEFAULTED - DEPRECATED <= deployed
    assert env_reads() >= DEFAULTED | DEPRECATED, "a defaulted variable the code no longer reads"
    assert not DEPRECATED & deployed
    assert SERVICE["environment_variables"].startswith(
        "${merge(local.environment, {for k, v in local.optional"
    )
    assert LOCALS["environment"]["LOG_EXECUTION_ID"] == "true"


def test_the_deployed_environment_starts_the_function() -> None:
    """The env Terraform builds, with sample variable values, passes Config's checks."""
    sample = {
        "statuspage_page_id": "pg1",
        "project_id": "proj",
        "secret_prefix": "pre_",
        "trusted_proxy_hops": "2",
    }

    def value(expression: str) -> str:
        if expression == "${google_storage_bucket.state.name}":
            return "proj-incident-twitter-bot-state"
        if expression == '${join(",", var.destinations)}':
            return ",".join(TF["variable"]["destinations"]["default"])
        if expression == "${local.thread_mode}":  # neither thread_mode nor thread_updates set
            assert LOCALS["thread_mode"] == (
                '${coalesce(var.thread_mode, var.thread_updates == false ? "off" : "reply")}'
            )
            return "reply"
        match = re.fullmatch(r"\$\{(?:tostring\()?var\.(\w+)\)?\}", expression)
        if not match:
            return expression
        name = match.group(1)
        default = TF["variable"][name].get("default")
        return sample.get(name, str(default).lower() if isinstance(default, bool) else str(default))

    env = {key: value(expr) for key, expr in LOCALS["environment"].items()}
    config = Config.from_env(env)
    assert (config.page_id, config.project, config.secret_prefix, config.trusted_proxy_hops) == (
        "pg1",
        "proj",
        "pre_",
        2,
    )
    assert config.dry_run is False
    assert config.state_bucket == "proj-incident-twitter-bot-state"
    assert (config.thread_mode, config.link_in, config.thread_retry_hours) == ("reply", "every", 24)
    assert (config.x_post_price_usd, config.x_link_post_price_usd) == (0.015, 0.2)
    with pytest.raises(ConfigError):
        Config.from_env({k: v for k, v in env.items() if k != "STATUSPAGE_PAGE_ID"})


def test_readme_documents_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in env_reads() | set(LOCALS["environment"]) | set(LOCALS["optional_environment"]):
        assert f"`{name}`" in readme, name
    example = (TERRAFORM / "terraform.tfvars.example").read_text()
    for name in TF["variable"]:
        assert f"`{name}`" in readme, name
        assert re.search(rf"^#? ?{name} +=", example, re.MULTILINE), name


def test_readme_links_to_what_exists() -> None:
    for page in ("README.md", "CONTRIBUTING.md", "docs/design.md", "docs/operations.md"):
        text = (ROOT / page).read_text()
        for target in re.findall(r"\]\(((?!https?:)[^)#]+)(?:#[^)]*)?\)", text):
            assert (ROOT / page).parent.joinpath(target).exists(), f"{page} links to {target}"


def test_every_secret_the_code_reads_is_created_and_granted() -> None:
    suffixes = LOCALS["x_secret_suffixes"]
    assert Config(page_id="p", secret_prefix="PRE_").credential_names == tuple(f"PRE_{s}" for s in suffixes)
    assert (
        LOCALS["x_secret_ids"]
        == '${[for suffix in local.x_secret_suffixes : "${var.secret_prefix}${suffix}"]}'
    )
    assert "local.destination_secret_ids[name]" in LOCALS["secret_ids"]
    assert LOCALS["optional_environment"]["WEBHOOK_TOKEN_SECRET"] == (
        '${var.webhook_token_enabled ? local.token_secret_id : ""}'
    )
    secret = TF["resource"]["google_secret_manager_secret"]["function"]
    assert secret["for_each"] == "${toset(local.secret_ids)}"
    assert secret["replication"] == [{"auto": [{}]}]
    grant = TF["resource"]["google_secret_manager_secret_iam_member"]["function"]
    assert grant["for_each"] == "${google_secret_manager_secret.function}"
    assert grant["role"] == "roles/secretmanager.secretAccessor"
    assert grant["member"] == "${google_service_account.function.member}"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
@pytest.mark.parametrize("destinations", [["x"], ["x", "bluesky", "mastodon"], ["mastodon"]])
def test_terraform_creates_exactly_the_secrets_the_enabled_destinations_read(destinations, tmp_path) -> None:
    """secrets.tf's locals, evaluated by `terraform console`, against Config.secret_names."""
    text = (TERRAFORM / "secrets.tf").read_text()
    (tmp_path / "locals.tf").write_text(text[: text.index('resource "google_secret_manager_secret"')])
    (tmp_path / "variables.tf").write_text(
        'variable "secret_prefix" { type = string }\nvariable "webhook_token_enabled" { type = bool }\n'
        'variable "destinations" { type = list(string) }\n'
    )
    result = subprocess.run(
        [
            "terraform",
            "console",
            "-var",
            "secret_prefix=PRE_",
            "-var",
            "webhook_token_enabled=true",
            "-var",
            f"destinations={json.dumps(destinations)}",
        ],
        cwd=tmp_path,
        input="jsonencode(local.secret_ids)",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    created = json.loads(json.loads(result.stdout.strip().splitlines()[-1]))
    env = {
        "STATUSPAGE_PAGE_ID": "p",
        "SECRET_PREFIX": "PRE_",
        "DESTINATIONS": ",".join(destinations),
        "BLUESKY_HANDLE": "h",
        "MASTODON_BASE_URL": "https://m.example",
    }
    read = [name for names in Config.from_env(env).secret_names.values() for name in names]
    assert created == [*read, "PRE_statuspage_webhook_token"]


def test_no_secret_value_is_managed_by_terraform() -> None:
    assert "google_secret_manager_secret_version" not in TF["resource"]
    assert "google_secret_manager_secret_version" not in TF["data"]


def test_the_function_account_has_least_privilege() -> None:
    resources = TF["resource"]
    function = [m for m in resources["google_project_iam_member"].values() if "function" in m["member"]]
    assert [m["role"] for m in function] == ["roles/logging.logWriter"]
    # The build's own account: the roles Google documents for it, storage on the source bucket only.
    build = resources["google_project_iam_member"]["build"]
    assert build["member"] == "${google_service_account.build.member}"
    assert build["for_each"] == '${toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])}'
    source = resources["google_storage_bucket_iam_member"]["build_source"]
    assert (source["bucket"], source["role"]) == (
        "${google_storage_bucket.source.name}",
        "roles/storage.objectAdmin",
    )
    for function_resource in TF["resource"]["google_cloudfunctions2_function"].values():
        assert function_resource["build_config"][0]["service_account"] == "${google_service_account.build.id}"
    iam_types = [t for t in resources if re.search(r"_iam_(member|binding|policy)$", t)]
    assert sorted(iam_types) == [
        "google_cloud_run_service_iam_member",
        "google_project_iam_member",
        "google_secret_manager_secret_iam_member",
        "google_storage_bucket_iam_member",
    ]
    state = resources["google_storage_bucket_iam_member"]["function_state"]
    assert (state["bucket"], state["role"], state["member"]) == (
        "${google_storage_bucket.state.name}",
        "roles/storage.objectAdmin",
        "${google_service_account.function.member}",
    )
    text = "".join(p.read_text() for p in TERRAFORM.glob("*.tf"))
    assert text.count("allUsers") == 1 and "allAuthenticatedUsers" not in text
    public = resources["google_cloud_run_service_iam_member"]["public_invoker"]
    assert (public["role"], public["member"]) == ("roles/run.invoker", "allUsers")
    assert public["service"] == "${google_cloudfunctions2_function.webhook.name}"
    # The sweep: private; only the scheduler's own account may invoke it, and nothing else.
    sweep = resources["google_cloud_run_service_iam_member"]["sweep_invoker"]
    assert (sweep["service"], sweep["role"], sweep["member"]) == (
        "${google_cloudfunctions2_function.sweep[0].name}",
        "roles/run.invoker",
        "${google_service_account.scheduler[0].member}",
    )
    assert set(resources["google_cloud_run_service_iam_member"]) == {"public_invoker", "sweep_invoker"}
    granted = [
        name
        for rtype in iam_types
        for name, body in resources[rtype].items()
        if "google_service_account.scheduler" in str(body.get("member"))
    ]
    assert granted == ["sweep_invoker"]


def test_the_sweep_is_a_private_function_of_the_same_source_called_by_the_scheduler() -> None:
    sweep = TF["resource"]["google_cloudfunctions2_function"]["sweep"]
    build, service = sweep["build_config"][0], sweep["service_config"][0]
    tree = ast.parse((ROOT / "main.py").read_text())
    entry = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}[build["entry_point"]]
    assert [ast.unparse(d) for d in entry.decorator_list] == ["functions_framework.http"]
    assert build["entry_point"] == "handle_sweep" and build["source"] == BUILD["source"]
    assert service["environment_variables"] == SERVICE["environment_variables"]
    assert service["service_account_email"] == SERVICE["service_account_email"]
    # The run's own budget (bot/sweep.py) ends well within the function's timeout.
    from bot.sweep import RUN_BUDGET_SECONDS

    assert service["timeout_seconds"] >= RUN_BUDGET_SECONDS + 30
    assert sweep["count"] == "${var.sweep_enabled ? 1 : 0}"
    assert TF["variable"]["sweep_enabled"]["default"] is True
    (job,) = TF["resource"]["google_cloud_scheduler_job"].values()
    target = job["http_target"][0]
    assert target["uri"] == "${google_cloudfunctions2_function.sweep[0].service_config[0].uri}"
    assert target["oidc_token"][0] == {
        "service_account_email": "${google_service_account.scheduler[0].email}",
        "audience": target["uri"],
    }
    assert job["schedule"] == "${var.sweep_schedule}"
    assert TF["variable"]["sweep_schedule"]["default"] == "*/5 * * * *"
    assert int(job["attempt_deadline"].rstrip("s")) > service["timeout_seconds"]
    assert "cloudscheduler.googleapis.com" in (TERRAFORM / "apis.tf").read_text()


PROJECT_ID = "^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
FUNCTION_NAME = "^[a-z][a-z0-9-]{0,48}[a-z0-9]$"
NAME_CASES = [
    ("incident-twitter-bot", "incident-twitter-bot"),  # today's: the names must not change
    ("p" * 29, "a" * 28),  # a 64-character state bucket name before
    ("p" * 29, "ab"),  # "ab-fn": too short an account id before
    ("p" * 29, "a" * 29),  # an account id ending in "-" before
    ("p" * 30, "a" * 24 + "-" * 5 + "b"),
    ("p" * 30, "a" * 50),
    ("p" * 6, "a" * 27),
    ("p" * 6, "a" * 24),
    ("p" * 6, "a" * 25),
]


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
@pytest.mark.parametrize(("project", "function"), NAME_CASES)
def test_derived_names_fit_their_limits_whatever_the_inputs(project: str, function: str, tmp_path) -> None:
    """terraform/names.tf evaluated by Terraform itself (`terraform console`, no provider needed)."""
    for name, value in (("project_id", project), ("function_name", function)):
        pattern = {"project_id": PROJECT_ID, "function_name": FUNCTION_NAME}[name]
        assert f'regex("{pattern}", var.{name})' in TF["variable"][name]["validation"][0]["condition"]
        assert re.fullmatch(pattern, value)  # inputs the variables' validations admit
    (tmp_path / "names.tf").write_text((TERRAFORM / "names.tf").read_text())
    (tmp_path / "variables.tf").write_text(
        'variable "project_id" { type = string }\nvariable "function_name" { type = string }\n'
    )
    keys = [
        "state_bucket_name",
        "source_bucket_name",
        "function_account_id",
        "build_account_id",
        "scheduler_account_id",
        "sweep_name",
    ]
    expression = "jsonencode({" + ", ".join(f"{k} = local.{k}" for k in keys) + "})"
    result = subprocess.run(
        ["terraform", "console", "-var", f"project_id={project}", "-var", f"function_name={function}"],
        cwd=tmp_path,
        input=expression,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    names = json.loads(json.loads(result.stdout.strip().splitlines()[-1]))
    for bucket in (names["state_bucket_name"], names["source_bucket_name"]):
        assert re.fullmatch(r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]", bucket), bucket
    accounts = [names[k] for k in ("function_account_id", "build_account_id", "scheduler_account_id")]
    for account in accounts:
        assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", account), account
    assert len(set(accounts)) == 3 and names["state_bucket_name"] != names["source_bucket_name"]
    assert len(names["sweep_name"]) <= 63
    if (project, function) == NAME_CASES[0]:  # an existing deployment keeps its resources
        assert names["state_bucket_name"] == "incident-twitter-bot-incident-twitter-bot-state"
        assert names["function_account_id"] == "incident-twitter-bot-fn"


def archive_files() -> set[str]:
    """What archive_file zips: each pattern of local.source_patterns, as fileset() expands it."""
    assert LOCALS["source_files"].startswith("${sort(distinct(flatten([for pattern in local.source_patterns")
    files = set()
    for pattern in LOCALS["source_patterns"]:
        files |= {str(p.relative_to(ROOT)) for p in ROOT.glob(pattern) if p.is_file()}
    return files


def runtime_imports() -> tuple[set[str], set[str]]:
    """(files of bot/ that main.py imports, transitively; top-level third-party modules)."""
    local, third_party, queue = set(), set(), [ROOT / "main.py"]
    while queue:
        path = queue.pop()
        rel = str(path.relative_to(ROOT))
        if rel in local:
            continue
        local.add(rel)
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                top = name.split(".")[0]
                if top == "bot":
                    candidate = ROOT / (name.replace(".", "/") + ".py")
                    package = ROOT / name.replace(".", "/") / "__init__.py"
                    queue += [p for p in (candidate, package) if p.exists()]
                elif top not in sys.stdlib_module_names:
                    third_party.add(top)
    return local, third_party


def test_archive_holds_what_main_imports_and_no_tests() -> None:
    files = archive_files()
    local, _ = runtime_imports()
    assert local <= files
    assert "requirements.txt" in files
    assert not any(f.startswith(("tests/", "terraform/", ".venv", ".git")) for f in files)
    for name in files:  # archive_file's `content` is text: every file must be UTF-8
        (ROOT / name).read_text(encoding="utf-8")
    snapshot = LOCALS["source_patterns"]
    assert "bot/ip_ranges_snapshot.json" in snapshot


def test_requirements_provide_every_third_party_import() -> None:
    _, third_party = runtime_imports()
    requirements = {
        Requirement(line).name.lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    providers = importlib.metadata.packages_distributions()
    for module in third_party:
        dists = {d.lower() for d in providers.get(module, [])}
        assert dists & requirements, f"{module} comes from {dists}, not in requirements.txt"
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line, f"runtime dependency not pinned exactly: {line}"


def test_source_object_name_carries_the_zip_hash() -> None:
    obj = TF["resource"]["google_storage_bucket_object"]["source"]
    assert "${data.archive_file.source.output_sha256}" in obj["name"]
    bucket = TF["resource"]["google_storage_bucket"]["source"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"


def test_state_bucket_is_private_and_forgets_after_90_days() -> None:
    bucket = TF["resource"]["google_storage_bucket"]["state"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    (rule,) = bucket["lifecycle_rule"]
    assert rule["condition"] == [{"age": 90}] and rule["action"] == [{"type": "Delete"}]
    assert LOCALS["environment"]["STATE_BUCKET"] == "${google_storage_bucket.state.name}"


def test_apis_are_enabled_and_kept_on_destroy() -> None:
    wanted = {
        "cloudfunctions",
        "run",
        "cloudbuild",
        "artifactregistry",
        "secretmanager",
        "logging",
        "storage",
        "iam",
    }
    services = set(re.findall(r'"([a-z]+)\.googleapis\.com"', (TERRAFORM / "apis.tf").read_text()))
    assert wanted <= services
    enabled = TF["resource"]["google_project_service"]["enabled"]
    assert enabled["disable_on_destroy"] is False


def test_provider_admits_v6_to_v8() -> None:
    (block,) = TF["terraform"]
    google = block["required_providers"][0]["google"]
    assert google["source"] == "hashicorp/google"
    spec = SpecifierSet(google["version"].replace(" ", ""))
    assert "6.0.0" in spec and "7.9.0" in spec and "8.7.0" in spec
    assert "5.9.0" not in spec and "9.0.0" not in spec
    assert block["required_version"] == ">= 1.5"


def test_variables_are_typed_and_described() -> None:
    required = {
        "project_id",
        "region",
        "statuspage_page_id",
        "secret_prefix",
        "function_name",
        "max_instances",
        "memory",
        "trusted_proxy_hops",
        "webhook_token_enabled",
        "alert_email",
    }
    assert required <= set(TF["variable"])
    for name, body in TF["variable"].items():
        assert body.get("type") and body.get("description"), name
    assert TF["variable"]["region"]["default"] == "us-west1"
    assert TF["variable"]["secret_prefix"]["default"] == "getsentryhelp_twitter_"
    assert (TERRAFORM / "terraform.tfvars.example").exists()


def test_alert_counts_the_results_the_code_logs() -> None:
    from test_properties import RESULTS

    alerts = LOCALS["alerts"]
    counted = set(re.findall(r'"(\w+)"', alerts["undelivered"]["filter"].split("jsonPayload.result=")[1]))
    # The answers' results, and the sweep's alarm line (tests/test_sweep.py logs it).
    assert counted == {"failed", "unknown", "rate_limited", "missed_by_webhook"}
    assert counted - {"missed_by_webhook"} <= RESULTS
    # Both functions' lines: the sweep logs its own deliveries.
    metric = TF["resource"]["google_logging_metric"]["alert"]
    assert metric["for_each"] == "${local.alerts}"
    assert metric["filter"] == "${local.our_services} AND ${each.value.filter}"
    assert 'service_name=("${var.function_name}" OR "${local.sweep_name}")' in LOCALS["our_services"]
    policy = TF["resource"]["google_monitoring_alert_policy"]["alert"]
    assert policy["for_each"] == '${var.alert_email == "" ? {} : local.alerts}'
    assert policy["depends_on"] == ["${google_project_service.enabled}", "${time_sleep.metrics_propagate}"]
    channel = TF["resource"]["google_monitoring_notification_channel"]["email"]
    assert channel["count"] == '${var.alert_email == "" ? 0 : 1}'
    assert channel["depends_on"] == ["${google_project_service.enabled}"]


def test_webhook_url_output_has_the_token_placeholder() -> None:
    value = TF["output"]["webhook_url"]["value"]
    assert "?token=<TOKEN>" in value and "var.webhook_token_enabled" in value


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason() -> None:
    for path in TERRAFORM.glob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=CKV2?_\w+:\S.{10,}", line), f"skip without a reason: {line}"
    assert CHECKOV.exists(), "run `make test`, which installs checkov into .venv-checkov"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(ROOT)),
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",  # no call to PyPI
        "BC_SKIP_MAPPING": "TRUE",  # no call to Prisma Cloud
    }
    result = subprocess.run(
        [str(CHECKOV), "-d", str(TERRAFORM), "--framework", "terraform", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout
    passed = int(re.search(r"Passed checks: (\d+)", result.stdout).group(1))
    assert passed >= 5


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_terraform_fmt() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff"],
        cwd=TERRAFORM,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
