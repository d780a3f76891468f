"""Schemathesis over every operation of /openapi.json, against a live server, as an admin and
as a customer: no server error, no answer outside the error envelope, none that breaks its
schema. The run's settings, and why each exception is not a finding, are in schemathesis.toml;
Agora's own check is in fuzz_checks.py.

The server gets a database of its own (the fuzzer creates, changes and deletes freely) on the
engine under test, and Redis when the run has it. `AGORA_FUZZ_SEED` replays a run; without it
the seed is fixed, so that CI is reproducible.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agora.platform.migrate import upgrade
from agora.settings import Settings
from tests.support import backends
from tests.support.server import agora_env, serving

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = os.environ.get("AGORA_FUZZ_SEED", "20261130")
PASSWORD = "fuzz-violet-anchor-48"
UNLIMITED = "1000000000/minute"


@pytest.fixture(scope="module")
async def fuzz_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with backends.scratch_database(str(tmp_path_factory.mktemp("fuzz-db"))) as url:
        yield url


def _sign_in(base: str, email: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["accessToken"]
    return token


def _schemathesis(base: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    return subprocess.run(  # noqa: S603 - the project's own tool, arguments from the test
        [
            st,
            "--no-color",
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--seed",
            SEED,
            "--header",
            f"Authorization: Bearer {token}",
        ],
        cwd=ROOT,  # the hooks module is imported as tests.contract.fuzz_checks
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


@pytest.mark.slow
def test_the_fuzzer_finds_nothing(settings: Settings, fuzz_database: str, tmp_path: Path) -> None:
    fuzz_settings = settings.model_copy(update={"database_url": fuzz_database})
    upgrade(fuzz_settings)
    env = {
        "AGORA_RATE_LIMIT_ANONYMOUS": UNLIMITED,
        "AGORA_RATE_LIMIT_AUTHENTICATED": UNLIMITED,
        "AGORA_RATE_LIMIT_AUTH": UNLIMITED,
        "AGORA_RATE_LIMIT_LOGIN": UNLIMITED,
        "AGORA_SANDBOX_LATENCY_MS": "1",
        "AGORA_PASSWORD_HASH_TIME_COST": "1",
        "AGORA_PASSWORD_HASH_MEMORY_KIB": "1024",
        "AGORA_JOBS_ENABLED": "false",
    }
    if backends.REDIS_URL is not None:
        env["AGORA_REDIS_URL"] = backends.REDIS_URL
        env["AGORA_REDIS_PREFIX"] = f"agora-fuzz-{os.getpid()}:"
    admin = subprocess.run(
        [sys.executable, "-m", "agora", "create-admin", "--email", "fuzz-admin@agora.example"],
        env={**agora_env(fuzz_settings, **env), "AGORA_ADMIN_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert admin.returncode == 0, admin.stdout + admin.stderr
    with serving(fuzz_settings, tmp_path / "server.log", **env) as server:
        customer = httpx.post(
            f"{server.base}/api/v1/auth/register",
            json={"email": "fuzz-customer@agora.example", "password": PASSWORD, "name": "Fuzz"},
            timeout=30,
        )
        assert customer.status_code == 201, customer.text
        failures = []
        for who in ("fuzz-admin@agora.example", "fuzz-customer@agora.example"):
            run = _schemathesis(server.base, _sign_in(server.base, who), tmp_path / who)
            if run.returncode != 0:
                failures.append(f"--- as {who} ---\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}")
        assert not failures, "\n".join(failures)
