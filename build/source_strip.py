"""Drop what only readers and type checkers use from the SDK's sources before compiling them.

Like `python -OO`, and like TypeScript erasing types: docstrings, annotations and the bodies of
`if TYPE_CHECKING:` blocks cost bytes in the bundle (Brython compiles even code that never runs,
and makes an `__annotate__` function for every annotated function) and nothing at run time uses
them. Line numbers are kept, so tracebacks still point at the right source lines,
and the result is parsed again so that a transform gone wrong fails the build.
"""

from __future__ import annotations

import ast


def line_offsets(source: str) -> list[int]:
    offsets, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        offsets.append(total)
    return offsets


class Spans:
    """Character spans of the source to blank out, each with what replaces it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._offsets = line_offsets(source)
        self.items: list[tuple[int, int, str, str]] = []

    def offset(self, line: int, column: int) -> int:
        # ast columns are UTF-8 byte offsets within the line.
        start = self._offsets[line - 1]
        text = self.source[start : self._offsets[line]]
        return start + len(text.encode("utf-8")[:column].decode("utf-8"))

    def node(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def blank(self, start: int, end: int, replacement: str = "", newline: str = "\n") -> None:
        """Replace source[start:end]; each newline in it becomes `newline`, keeping the lines."""
        self.items.append((start, end, replacement, newline))

    def apply(self) -> str:
        text = self.source
        for start, end, replacement, newline in sorted(self.items, reverse=True):
            filler = replacement + newline * text[start:end].count("\n")
            text = text[:start] + filler + text[end:]
        return text


def is_type_checking_block(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
        and not node.orelse
    )


def is_typing_only_import(node: ast.AST) -> bool:
    """`from __future__ import annotations` (annotations are gone) and
    `from typing import TYPE_CHECKING` (its blocks are gone)."""
    if not isinstance(node, ast.ImportFrom):
        return False
    names = [alias.name for alias in node.names]
    return (node.module == "__future__" and names == ["annotations"]) or (
        node.module == "typing" and names == ["TYPE_CHECKING"]
    )


def nodes_outside_type_checking(tree: ast.AST) -> list[ast.AST]:
    """Every node, except those inside an `if TYPE_CHECKING:` block (which goes whole)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if not is_type_checking_block(node):
            todo.extend(ast.iter_child_nodes(node))
    return found


def strip_for_browser(source: str) -> str:
    tree = ast.parse(source)
    spans = Spans(source)
    module_level = set(tree.body)
    for node in nodes_outside_type_checking(tree):
        if is_type_checking_block(node) or is_typing_only_import(node):
            # Never run, or only there for what this strip removes: the whole statement goes.
            start, end = spans.node(node)
            spans.blank(start, end, "" if node in module_level else "pass")
            continue
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                start, end = spans.node(first)
                # A module may be empty, and `from __future__` must stay its first statement.
                spans.blank(start, end, "" if isinstance(node, ast.Module) else "pass")
        if isinstance(node, ast.arg) and node.annotation is not None:
            name_end = spans.offset(node.lineno, node.col_offset) + len(node.arg)
            spans.blank(name_end, spans.node(node.annotation)[1])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            start, end = spans.node(node.returns)
            arrow = source.rindex("->", 0, start)
            # Between `)` and `:` a line break needs a continuation.
            spans.blank(arrow, end, newline="\\\n")
        if isinstance(node, ast.AnnAssign):
            target_end = spans.node(node.target)[1]
            if node.value is not None:
                spans.blank(target_end, spans.node(node.value)[0], " = ")
            else:
                start, end = spans.node(node)
                spans.blank(start, end, "pass")
    stripped = spans.apply()
    compile(stripped, "<stripped>", "exec", dont_inherit=True)  # a broken transform fails here
    return stripped
