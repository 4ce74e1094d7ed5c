"""The OpenAPI document as a contract: clients generated from it type-check and work against a live server.

Once per run: the document is fetched from the app, a Python client is generated
with openapi-python-client and TypeScript types with openapi-typescript (both into
the git-ignored ``tests/client/generated``). Then ``mypy --strict`` and ``tsc
--strict`` check the example programs and the contract's refusals with zero
errors, and both programs run their week against a real loopback HTTP server.
The TypeScript half needs Node and npm (``make test`` runs ``npm ci`` here); it
is skipped, with the reason, where they are missing.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from diary import create_app
from diary import db as dbmod
from tests.conftest import PASSWORD, make_clinic
from tests.live import serve

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "generated"
BIN = Path(sys.executable).parent
EMAIL = "week@clinic.example"
TIMEOUT = 300


def run(argv, **kwargs):
    """Run a tool; fail the test with its output when it does not exit 0."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert done.returncode == 0, (
        f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A migrated database with one clinic and clinician, served on a loopback port; yields the base URL."""
    path = str(tmp_path_factory.mktemp("client") / "diary.sqlite3")
    dbmod.migrate(path)
    conn = dbmod.connect(path)
    make_clinic(conn, "Week Clinic", EMAIL)
    conn.close()
    with serve(create_app({"DATABASE": path, "LOG_LEVEL": "WARNING"})) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def document(live):
    """The live server's OpenAPI document, written where both generators read it."""
    import urllib.request

    with urllib.request.urlopen(live + "/api/v1/openapi.json", timeout=10) as answer:
        spec = json.loads(answer.read())
    GENERATED.mkdir(exist_ok=True)
    path = GENERATED / "openapi.json"
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return path


def test_python_client_type_checks_and_runs_the_week(live, document):
    package = GENERATED / "diary_client"
    shutil.rmtree(package, ignore_errors=True)
    run(
        [
            BIN / "openapi-python-client",
            "generate",
            "--path",
            document,
            "--output-path",
            package,
            "--meta",
            "none",
            "--config",
            HERE / "openapi-python-client.yaml",
        ],
        cwd=HERE,
    )
    checked = run(
        [
            BIN / "mypy",
            "--strict",
            "--cache-dir",
            GENERATED / ".mypy_cache",
            "example_week.py",
            "contract_rejects.py",
        ],
        cwd=HERE,
        env=dict(os.environ, MYPYPATH=str(GENERATED)),
    )
    assert "Success: no issues found in 2 source files" in checked.stdout
    week = run(
        [sys.executable, "example_week.py", live, EMAIL],
        cwd=HERE,
        input=PASSWORD + "\n",
        env=dict(os.environ, PYTHONPATH=str(GENERATED)),
    )
    summary = json.loads(week.stdout.strip().splitlines()[-1])
    assert summary["taken_days"] == 7 and len(summary["baseline"]) == 3, summary


def _node_tools():
    """The installed TypeScript tooling, installing it with npm ci when npm is here; or a reason to skip."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        return None, "node is not installed (apt-get install nodejs npm); the TypeScript check needs it"
    installed = HERE / "node_modules" / ".package-lock.json"
    lock = HERE / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        if npm is None:
            return None, "npm is not installed, so tests/client/node_modules cannot be installed"
        run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE)
    return node, None


def test_typescript_types_check_and_run_the_week(live, document):
    node, reason = _node_tools()
    if node is None:
        pytest.skip(reason)
    tools = HERE / "node_modules" / ".bin"
    run([tools / "openapi-typescript", document, "-o", GENERATED / "api.d.ts"], cwd=HERE)
    compiled = run([tools / "tsc", "-p", "tsconfig.json"], cwd=HERE)
    assert compiled.stdout == "", compiled.stdout
    week = run([node, GENERATED / "ts-out" / "example_week.js", live, EMAIL], cwd=HERE, input=PASSWORD + "\n")
    summary = json.loads(week.stdout.strip().splitlines()[-1])
    assert summary["taken_days"] == 7 and len(summary["baseline"]) == 3, summary
