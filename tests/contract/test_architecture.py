"""The import contracts in pyproject.toml hold, and each one really catches what it forbids.

`make lint` runs lint-imports on the code as it is. Here each contract is run against a copy of
the package with one deliberate violation added: a contract that kept those would guard nothing.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# contract id -> (file of the copy, the import added to it)
VIOLATIONS = {
    "platform": ("platform/clock.py", "import agora.catalog"),
    "layers": ("catalog/domain.py", "import agora.ordering"),
    "catalog-face": ("ordering/domain.py", "import agora.catalog.repository"),
    "identity-face": ("ordering/domain.py", "import agora.identity.repository"),
    "ordering-face": ("payments/domain.py", "import agora.ordering.repository"),
    "payments-face": ("ordering/domain.py", "import agora.payments.repository"),
    "events-face": ("ordering/domain.py", "import agora.events.repository"),
}


def _lint_imports(tree: Path, contract: str) -> subprocess.CompletedProcess[str]:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(  # noqa: S603 - the project's own tool on its own code
        [str(lint_imports), "--no-cache", "--contract", contract],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, importable ahead of the installed one."""
    shutil.copytree(ROOT / "src" / "agora", tmp_path / "agora")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_each_import_contract_is_kept_and_catches_a_violation(tree: Path, contract: str) -> None:
    kept = _lint_imports(tree, contract)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    path, line = VIOLATIONS[contract]
    module = tree / "agora" / path
    source = module.read_text() if module.exists() else ""
    module.write_text(f"{line}  # a deliberate violation\n{source}")

    broken = _lint_imports(tree, contract)
    assert broken.returncode != 0, broken.stdout
    assert "BROKEN" in broken.stdout
    assert line.split()[-1] in broken.stdout  # the report names the forbidden import
