"""A tiny template language for the demo's HTML files, so the pages stay plain HTML on disk.

- `{{> _part.html}}` is replaced by that file from the same directory (itself rendered);
- `{{name}}` is replaced by `values["name"]`, inserted as given: callers escape what needs it.

A placeholder without a value is a mistake in a page, so it raises instead of printing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
_INCLUDE = re.compile(r"\{\{>\s*([A-Za-z0-9_.-]+)\s*\}\}")
_VALUE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_MAX_DEPTH = 4


class TemplateError(Exception):
    pass


def _expand(text: str, directory: Path, depth: int) -> str:
    if depth > _MAX_DEPTH:
        raise TemplateError("templates include each other too deeply")

    def include(match: re.Match[str]) -> str:
        return _expand((directory / match.group(1)).read_text("utf-8"), directory, depth + 1)

    return _INCLUDE.sub(include, text)


def render_template(name: str, values: Mapping[str, str], directory: Path = TEMPLATES) -> str:
    """The file `name` with its includes expanded and its `{{name}}` placeholders filled."""
    text = _expand((directory / name).read_text("utf-8"), directory, 0)

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise TemplateError(f"{name}: no value for {{{{{key}}}}}")
        return values[key]

    return _VALUE.sub(value, text)
