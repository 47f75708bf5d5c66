from pathlib import Path

from app.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [
        name for name in Settings.model_fields if f"`LEAD_ROUTER_{name.upper()}`" not in README
    ]
    assert missing == []


def test_placeholder_secrets_are_refused_in_production() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="placeholder"):
        Settings(environment="production", secret_key="change-me", encryption_keys="k:AAAA")
    ok = Settings(
        environment="production", secret_key="s" * 40, encryption_keys="k1:" + "A" * 43 + "="
    )
    assert ok.environment == "production"
