"""The web interface's API types (frontend/src/lib/api/schema.d.ts) must match the app's API.

scripts/gen_api_client writes them with openapi-typescript and records the SHA-256 of the OpenAPI
document it read; this check recomputes that document without Node.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from helpline.app import create_app
from helpline.config import Settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "frontend" / "src" / "lib" / "api" / "schema.d.ts"


def current_document() -> bytes:
    """Exactly what `HELPLINE_ENV=test helpline openapi export --output …` writes."""
    document = create_app(Settings(env="test")).openapi()
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def recorded_digest(text: str) -> str | None:
    match = re.search(r"^// openapi-sha256: ([0-9a-f]{64})$", text, re.MULTILINE)
    return match.group(1) if match else None


def test_client_types_are_generated_from_the_current_api():
    text = SCHEMA.read_text(encoding="utf-8")
    digest = hashlib.sha256(current_document()).hexdigest()
    assert recorded_digest(text) == digest, (
        "frontend/src/lib/api/schema.d.ts is stale: run scripts/gen_api_client"
    )
    assert "export interface paths" in text
    assert '"/api/v1/tickets/{ticket_id}"' in text


def test_digest_check_notices_a_changed_document():
    text = SCHEMA.read_text(encoding="utf-8")
    changed = json.loads(current_document())
    changed["info"]["version"] = "0.0.0-changed"
    other = (json.dumps(changed, indent=2, sort_keys=True) + "\n").encode()
    assert recorded_digest(text) != hashlib.sha256(other).hexdigest()
    assert recorded_digest("// no header\n") is None
