"""`allegro-collector snippet`: what it prints matches the built bundle and allows itself by CSP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from allegro_collector.cli import main

STATIC = Path(__file__).resolve().parents[2] / "static"


def snippet_output(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main(["snippet", *argv], environ={})
    return capsys.readouterr().out


def test_the_script_tag_loads_the_hashed_bundle_from_the_collector_with_its_integrity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = json.loads((STATIC / "manifest.json").read_text("utf-8"))
    out = snippet_output(capsys, "--collector", "https://collect.example/")
    tag = (
        f'<script async src="https://collect.example/sdk/{manifest["file"]}" '
        f'integrity="{manifest["integrity"]}" crossorigin="anonymous" '
        'data-collector="https://collect.example"></script>'
    )
    assert tag in out.splitlines()
    bundle = (STATIC / manifest["file"]).read_bytes()
    # `make build` also writes a debug build beside it: the manifest names the SDK sites load.
    assert bundle == (STATIC / "allegro.js").read_bytes()
    assert manifest["integrity"] == (
        "sha384-" + base64.b64encode(hashlib.sha384(bundle).digest()).decode()
    )


def test_the_csp_hash_is_the_inline_snippets(capsys: pytest.CaptureFixture[str]) -> None:
    out = snippet_output(capsys, "--collector", "https://collect.example")
    inline = re.search(r"<script>(.*?)</script>", out, re.DOTALL)
    assert inline is not None and "a.track('page_view')" in inline.group(1)
    # The README's strict-CSP section prints the hash of this same line.
    readme = (STATIC.parent / "README.md").read_text("utf-8")
    assert f"<script>{inline.group(1)}</script>" in readme
    digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
    csp = next(line for line in out.splitlines() if line.startswith("Content-Security-Policy:"))
    assert csp == (
        f"Content-Security-Policy: script-src 'sha256-{digest}' https://collect.example; "
        "connect-src https://collect.example"
    )
    assert f"'sha256-{digest}'" in readme


def test_a_cdn_base_url_is_named_in_src_and_csp(capsys: pytest.CaptureFixture[str]) -> None:
    out = snippet_output(
        capsys,
        "--collector",
        "https://collect.example",
        "--sdk-base-url",
        "https://cdn.example/allegro/",
    )
    assert 'src="https://cdn.example/allegro/allegro.' in out
    assert "https://cdn.example; connect-src https://collect.example" in out


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("collect.example", "must be an http(s) URL"),
        ("https://collect.example/v1", "without a path"),
    ],
)
def test_a_wrong_collector_url_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], url: str, complaint: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["snippet", "--collector", url], environ={})
    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


def test_without_a_bundle_it_says_where_it_looked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(
            ["snippet", "--collector", "https://c.example", "--sdk-dir", str(tmp_path)], environ={}
        )
    assert exit_.value.code == 2
    assert f"the SDK bundle in {tmp_path} is incomplete" in capsys.readouterr().err
