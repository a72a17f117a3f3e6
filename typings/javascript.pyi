"""Brython's `javascript` module, as far as the SDK uses it (see browser/__init__.pyi)."""

from typing import Any

from browser import JSObject

NULL: JSObject  # JS null, which is not None in Python
UNDEFINED: JSObject
JSON: JSObject  # JSON.parse gives Python values: dict, list, str, int, float, bool, None

def pyobj2jsobj(value: object) -> Any: ...
