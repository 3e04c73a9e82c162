"""Code-size figures: the largest files and the longest functions, by lines.

    python benchmarks/code_size.py [--top 15] [--root emoget_cli]

Counts physical lines (blank and comment lines included) of the `.py` files under the root, and
for each function/method the lines from its `def` (decorators included) to its last line. Used
for issue #8's before/after figures; prints a table, asserts nothing.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def file_sizes(root: Path) -> list[tuple[int, str]]:
    return sorted(((len(p.read_text().splitlines()), str(p)) for p in root.rglob("*.py")),
                  reverse=True)


def function_sizes(root: Path) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        stack: list[tuple[ast.AST, str]] = [(tree, "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                        out.append((child.end_lineno - first + 1, f"{path}:{name}"))
                    stack.append((child, name + "."))
    return sorted(out, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("emoget_cli"))
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    files = file_sizes(args.root)
    funcs = function_sizes(args.root)
    print(f"{len(files)} files, {sum(n for n, _ in files)} lines under {args.root}")
    print(f"\nlargest files (lines)")
    for n, name in files[:args.top]:
        print(f"  {n:5d}  {name}")
    print(f"\nlongest functions (lines, decorators included)")
    for n, name in funcs[:args.top]:
        print(f"  {n:5d}  {name}")
    over = [n for n, _ in funcs if n > 60]
    print(f"\nfunctions over 60 lines: {len(over)}")


if __name__ == "__main__":
    main()
