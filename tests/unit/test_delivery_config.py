"""Environment profiles and .env.example stay complete and secret-free; production refuses
unsafe settings; `helpline config show` redacts secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from helpline.config import Settings, load_settings

try:
    from _delivery import REPO, run, tool
except ImportError:  # tests/unit became a package
    from ._delivery import REPO, run, tool

# Pure checks are `unit`; those that run the CLI in a subprocess are `tools`.

ENVIRONMENTS = ("development", "test", "staging", "production")
SECRET_FIELDS = {"secret_key", "api_key_pepper", "database_url", "redis_url"}
STRONG = "x" * 40


def parse_env(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


@pytest.mark.unit
class TestProfiles:
    def test_env_example_lists_every_setting(self):
        listed = parse_env(REPO / ".env.example")
        for name in Settings.model_fields:
            assert f"HELPLINE_{name.upper()}" in listed, name

    @pytest.mark.parametrize("env_name", ENVIRONMENTS)
    def test_profile_holds_known_non_secret_settings(self, env_name: str):
        values = parse_env(REPO / "config" / f"{env_name}.env")
        known = {f"HELPLINE_{n.upper()}" for n in Settings.model_fields}
        assert set(values) <= known, set(values) - known
        assert not {f"HELPLINE_{n.upper()}" for n in SECRET_FIELDS} & set(values)

    @pytest.mark.parametrize("env_name", ["staging", "production"])
    def test_release_profiles_refuse_to_start_without_secrets(self, env_name: str):
        with pytest.raises(ValidationError) as info:
            load_settings(env=env_name, config_dir=REPO / "config")
        message = str(info.value)
        assert f"refusing to start in {env_name}" in message
        assert "HELPLINE_SECRET_KEY" in message
        assert "HELPLINE_DATABASE_URL is unset" in message
        assert "HELPLINE_REDIS_URL is unset" in message

    @pytest.mark.parametrize("env_name", ["staging", "production"])
    def test_release_profiles_load_with_secrets(self, env_name: str):
        settings = load_settings(
            env=env_name,
            config_dir=REPO / "config",
            secret_key=STRONG,
            api_key_pepper=STRONG,
            database_url="postgresql://u:p@db/helpline",
            redis_url="redis://cache:6379/0",
        )
        assert settings.debug is False
        assert settings.renders_json_logs
        assert settings.host == "0.0.0.0"
        assert settings.workers >= 2

    def test_production_refuses_debug_and_wildcard_cors(self):
        with pytest.raises(ValidationError) as info:
            load_settings(
                env="production", config_dir=REPO / "config", secret_key=STRONG,
                api_key_pepper=STRONG, database_url="postgresql://u:p@db/h",
                redis_url="redis://r", debug=True, cors_origins=["*"],
            )  # fmt: skip
        assert "HELPLINE_DEBUG is on" in str(info.value)
        assert "HELPLINE_CORS_ORIGINS contains '*'" in str(info.value)


@pytest.mark.tools
class TestConfigShow:
    def test_redacts_secrets(self, tmp_path: Path):
        helpline = tool("helpline")
        result = run(
            [helpline, "config", "show"],
            cwd=tmp_path,
            env={
                "HELPLINE_ENV": "production",
                "HELPLINE_CONFIG_DIR": str(REPO / "config"),
                "HELPLINE_SECRET_KEY": "s3cr3t-" + STRONG,
                "HELPLINE_API_KEY_PEPPER": "p3pp3r-" + STRONG,
                "HELPLINE_DATABASE_URL": "postgresql://app:db-pa55@db:5432/helpline",
                "HELPLINE_REDIS_URL": "redis://:redis-pa55@cache:6379/0",
            },
        )
        assert result.returncode == 0, result.stderr
        for secret in ("s3cr3t-", "p3pp3r-", "db-pa55", "redis-pa55"):
            assert secret not in result.stdout
        shown = json.loads(result.stdout)
        assert shown["env"] == "production"
        assert shown["workers"] == int(
            parse_env(REPO / "config/production.env")["HELPLINE_WORKERS"]
        )
        assert re.fullmatch(r"postgresql://app:\*+@db:5432/helpline", shown["database_url"])
