"""`.env.example` documents every setting, and nothing that is not one."""

import re
from pathlib import Path

from agora.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_lists_every_setting() -> None:
    documented = set(re.findall(r"^#?\s*AGORA_([A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    expected = {name.upper() for name in Settings.model_fields}
    assert documented == expected
