"""Settings validation and the problem catalogue."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helpline.config import Environment, Settings, redact_url
from helpline.errors import HelplineError, problem_catalogue
from helpline.http import parse_if_match

pytestmark = pytest.mark.unit

SAFE = {
    "secret_key": "s" * 40,
    "api_key_pepper": "p" * 40,
    "database_url": "postgresql://app:pw@db:5432/helpline",
    "redis_url": "redis://redis:6379/0",
}


class TestProductionRefusesUnsafeSettings:
    def test_safe_production_settings_load(self):
        s = Settings(env=Environment.production, **SAFE)
        assert s.env is Environment.production

    @pytest.mark.parametrize(
        ("override", "reason"),
        [
            ({"secret_key": "dev-insecure-secret-key-change-me"}, "HELPLINE_SECRET_KEY"),
            ({"secret_key": "short"}, "HELPLINE_SECRET_KEY"),
            (
                {"api_key_pepper": "dev-insecure-api-key-pepper-change-me"},
                "HELPLINE_API_KEY_PEPPER",
            ),
            ({"debug": True}, "HELPLINE_DEBUG"),
            ({"cors_origins": "*"}, "HELPLINE_CORS_ORIGINS"),
            ({"database_url": None}, "HELPLINE_DATABASE_URL"),
            ({"redis_url": None}, "HELPLINE_REDIS_URL"),
        ],
    )
    @pytest.mark.parametrize("env", [Environment.production, Environment.staging])
    def test_each_unsafe_value_is_refused(self, override, reason, env):
        with pytest.raises(ValidationError, match=f"refusing to start in {env.value}.*{reason}"):
            Settings(env=env, **{**SAFE, **override})

    def test_development_allows_defaults(self):
        s = Settings(env=Environment.development)
        assert s.uses_embedded_database
        assert s.uses_embedded_redis

    def test_bad_database_scheme(self):
        with pytest.raises(ValueError, match="postgresql"):
            Settings(database_url="mysql://x/y")


class TestRedaction:
    def test_secrets_and_passwords_hidden(self):
        s = Settings(env=Environment.production, **SAFE)
        shown = s.redacted()
        assert shown["secret_key"] == "**********"
        assert shown["api_key_pepper"] == "**********"
        assert "pw" not in shown["database_url"]
        assert shown["database_url"].startswith("postgresql://app:****@")
        assert "s" * 40 not in str(shown)

    def test_url_without_password_unchanged(self):
        assert redact_url("redis://h:6379/0") == "redis://h:6379/0"


class TestProblemCatalogue:
    def test_slugs_are_unique_and_statuses_are_errors(self):
        catalogue = problem_catalogue()
        slugs = [c.slug for c in catalogue]
        assert len(slugs) == len(set(slugs))
        assert all(400 <= c.status <= 599 for c in catalogue)
        assert {"ticket-not-found", "validation-error", "api-key-expired"} <= set(slugs)

    def test_problem_body_shape(self):
        body = HelplineError("boom").to_problem(instance="/x", request_id="r1")
        assert body == {
            "type": "/problems/internal-error",
            "title": "Internal server error",
            "status": 500,
            "detail": "boom",
            "instance": "/x",
            "request_id": "r1",
        }


class TestIfMatch:
    @pytest.mark.parametrize(
        ("header", "version"), [('"3"', 3), ('W/"3"', 3), ("3", 3), ("*", None), (None, None)]
    )
    def test_parses(self, header, version):
        assert parse_if_match(header) == version

    @pytest.mark.parametrize("header", ['"abc"', '"-1"', '"99999999999"', ""])
    def test_rejects_garbage(self, header):
        with pytest.raises(HelplineError):
            parse_if_match(header)
