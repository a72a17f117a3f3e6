"""build/source_strip.py: docstrings and annotations go, behaviour and line numbers stay."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from source_strip import strip_for_browser

ROOT = Path(__file__).resolve().parents[2]
SDK_SOURCES = sorted((ROOT / "allegro_sdk").rglob("*.py"))


class Erase(ast.NodeTransformer):
    """What the strip is meant to do, expressed on the syntax tree."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                if isinstance(node, ast.Module):
                    body.pop(0)
                else:
                    body[0] = ast.Pass()
        if isinstance(node, ast.arg):
            node.annotation = None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node.body = [n for n in node.body if not type_only(n)]
        self.generic_visit(node)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is None:
            return ast.Pass()
        return ast.Assign(targets=[node.target], value=node.value)


def type_only(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` blocks and the imports only annotations need."""
    if isinstance(node, ast.If):
        return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    if isinstance(node, ast.ImportFrom):
        names = [alias.name for alias in node.names]
        return (node.module, names) in (
            ("__future__", ["annotations"]),
            ("typing", ["TYPE_CHECKING"]),
        )
    return False


def is_docstring(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def statement_lines(tree: ast.AST) -> list[tuple[str, int]]:
    """Where each statement the strip leaves alone begins."""
    return [
        (type(node).__name__, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
        and not isinstance(node, (ast.Pass, ast.Assign, ast.AnnAssign))
        and not is_docstring(node)
        and not type_only(node)
        and not inside_type_checking(node, tree)
    ]


def inside_type_checking(node: ast.AST, tree: ast.AST) -> bool:
    return any(
        type_only(block) and node in list(ast.walk(block)) and node is not block
        for block in ast.walk(tree)
        if isinstance(block, ast.If)
    )


@pytest.mark.parametrize("path", SDK_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_sdk_module_keeps_its_meaning_and_its_lines(path: Path) -> None:
    source = path.read_text("utf-8")
    stripped = strip_for_browser(source)
    expected = ast.dump(Erase().visit(ast.parse(source)))
    assert ast.dump(ast.parse(stripped)) == expected
    assert statement_lines(ast.parse(stripped)) == statement_lines(ast.parse(source))
    assert len(stripped.splitlines()) == len(source.splitlines())


def test_every_kind_of_annotation_and_docstring_goes() -> None:
    source = '''"""Module doc."""
from __future__ import annotations


class Box:
    """Class doc."""

    size: int
    label: str = "x"

    def method(self, a: int, *args: str, key: dict[
        str, int
    ] | None = None, **more: object) -> tuple[
        int, str
    ]:
        """Method doc,
        on two lines."""
        total: int = a
        return (total, "é")
'''
    stripped = strip_for_browser(source)
    assert "doc" not in stripped
    assert ": int" not in stripped and "->" not in stripped and "dict[" not in stripped
    assert len(stripped.splitlines()) == len(source.splitlines())
    namespace: dict[str, object] = {}
    exec(compile(stripped, "box.py", "exec"), namespace)
    box = namespace["Box"]
    assert box().method(3) == (3, "é")  # type: ignore[operator]
    assert box.label == "x"  # type: ignore[attr-defined]
