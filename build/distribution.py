"""The bundle as it is distributed: a copy named by its content's hash, and a manifest.

`static/allegro.<hash>.js` (with its `.br` and `.gz`) never changes, so it can be cached forever;
`static/manifest.json` names it, with its size and its Subresource Integrity hash, for the
collector that serves it and for `allegro-collector snippet` (docs/build.md: Distribution).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

MANIFEST = "manifest.json"
HASH_CHARS = 16  # of the SHA-256 hex digest: the file's name, not its integrity
# `.br` and `.gz` are written beside the bundle by bundle.py; the hashed copies get the same.
ENCODINGS = {"br": ".br", "gzip": ".gz"}


def hashed_name(data: bytes) -> str:
    return f"allegro.{hashlib.sha256(data).hexdigest()[:HASH_CHARS]}.js"


def integrity(data: bytes) -> str:
    """The `integrity` attribute's value: SHA-384, base64 (the SRI specification's format)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


OLD_HASHED = re.compile(rf"allegro\.[0-9a-f]{{{HASH_CHARS}}}\.js(\.br|\.gz)?")


def write_distribution(bundle: Path) -> dict[str, object]:
    """Write the hashed copies of `bundle` and the manifest beside it; remove older copies."""
    data = bundle.read_bytes()
    name = hashed_name(data)
    directory = bundle.parent
    for old in directory.iterdir():
        if OLD_HASHED.fullmatch(old.name) and not old.name.startswith(name):
            old.unlink()
    (directory / name).write_bytes(data)
    encoded = {}
    for encoding, suffix in ENCODINGS.items():
        compressed = bundle.with_name(bundle.name + suffix).read_bytes()
        (directory / (name + suffix)).write_bytes(compressed)
        encoded[encoding] = {"file": name + suffix, "bytes": len(compressed)}
    manifest: dict[str, object] = {
        "file": name,
        "bytes": len(data),
        "integrity": integrity(data),
        "encodings": encoded,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return manifest
