"""Generated reference pages must match the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools  # starts subprocesses: not `unit` (pure, no I/O)
ROOT = Path(__file__).resolve().parents[2]


def test_generated_pages_are_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_docs_site_builds_strictly(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in ("schema", "rest-api", "configuration", "cli"):
        assert (tmp_path / "site" / "reference" / page / "index.html").exists(), page
    examples = (tmp_path / "site" / "examples" / "index.html").read_text()
    assert "Cannot reset my password" in examples  # the runnable scripts are included verbatim


def test_every_generated_markdown_page_is_in_the_nav():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_docs
    finally:
        sys.path.pop(0)
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.removeprefix("docs/") for p in gen_docs.PAGES if p.endswith(".md")]
    assert pages
    assert [page for page in pages if page not in nav] == []


def test_configuration_reference_names_every_setting():
    from helpline.config import Settings

    page = (ROOT / "docs" / "reference" / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        assert f"`HELPLINE_{name.upper()}`" in page
        assert field.description, f"Settings.{name} has no description"
    assert "`HELPLINE_SECRET_KEY` **secret**" in page
