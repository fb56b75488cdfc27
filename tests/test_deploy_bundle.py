"""The deployed function, as Cloud Functions builds it: the zip's files and requirements.txt alone.

`.venv-deploy` (made by `make test`) holds requirements.txt and nothing else: no test tools,
and no setuptools, as on the python312+ runtimes. Whatever the code imports that only the
dev venv provides would fail here first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import FIXTURES, ROOT
from test_terraform import archive_files

DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"

SERVE_ONE_REQUEST = """
import json, sys
import functions_framework
app = functions_framework.create_app("handle_webhook", "main.py")
body = open(sys.argv[1], "rb").read()
response = app.test_client().post("/", data=body, headers={"Content-Type": "application/json"})
print(json.dumps({"status": response.status_code, "answer": response.get_json(),
                  "pkg_resources": "pkg_resources" in sys.modules}))
"""


def test_the_zip_alone_serves_a_request(tmp_path: Path) -> None:
    assert DEPLOY_PYTHON.exists(), "run `make test`, which builds .venv-deploy from requirements.txt"
    bundle = tmp_path / "bundle"
    for name in archive_files():
        (bundle / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, bundle / name)
    assert not (bundle / "tests").exists()
    result = subprocess.run(
        [str(DEPLOY_PYTHON), "-c", SERVE_ONE_REQUEST, str(FIXTURES / "incident.json")],
        cwd=bundle,
        env={
            "PATH": os.environ["PATH"],
            "STATUSPAGE_PAGE_ID": "j2mfxwj97wnj",
            "DRY_RUN": "true",
            "EXTRA_ALLOWED_CIDRS": "127.0.0.1/32",  # the test client's address; no ranges fetch
            "IP_RANGES_SNAPSHOT": str(tmp_path / "none.json"),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200
    assert outcome["answer"]["result"] == "dry_run"
    assert outcome["answer"]["text"].startswith("[status] Monitoring: A fix has been implemented")
    assert outcome["pkg_resources"] is False
    setuptools = subprocess.run(
        [str(DEPLOY_PYTHON), "-c", "import setuptools"], capture_output=True, check=False
    )
    assert setuptools.returncode != 0, "the deploy venv must be without setuptools, like the runtime"
