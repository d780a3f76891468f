from pathlib import Path

import pytest
from pydantic import ValidationError

from agora.platform.secrets import load_or_create_secret
from agora.settings import Settings


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults_need_no_servers(tmp_path: Path) -> None:
    settings = make(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path}/agora.db"
    assert settings.is_sqlite
    assert settings.cors_origins == []


def test_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_CORS_ORIGINS", "https://a.example, https://b.example/")
    monkeypatch.setenv("AGORA_TRUSTED_PROXIES", '["10.0.0.0/8", "127.0.0.1"]')
    settings = Settings(_env_file=None)
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.trusted_proxies == ["10.0.0.0/8", "127.0.0.1"]


def test_wildcard_origin_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="credentials"):
        make(cors_origins=["*"])
    assert make(cors_origins=["*"], cors_allow_credentials=False).cors_origins == ["*"]


def test_origin_must_be_a_url() -> None:
    with pytest.raises(ValidationError):
        make(cors_origins=["shop.example"])


def test_production_requires_its_secrets() -> None:
    with pytest.raises(ValidationError, match="AGORA_SECRET_KEY"):
        make(env="production")
    with pytest.raises(ValidationError, match="AGORA_JWT_PRIVATE_KEY"):
        make(env="production", secret_key="s" * 40)
    settings = make(env="production", secret_key="s" * 40, jwt_private_key="-----BEGIN...")
    assert settings.secret_key is not None


def test_rate_limits_are_checked() -> None:
    assert make(rate_limit_login="3/hour").rate_limit_login == "3/hour"
    with pytest.raises(ValidationError):
        make(rate_limit_login="lots")


def test_development_secret_is_created_once(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "secret.key"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert load_or_create_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".secret-")]
