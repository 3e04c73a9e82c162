"""The repository stands on its own: code cites docs/ (whose cited sections exist), never a
design file that lives outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [*ROOT.glob("emoget_cli/**/*.py"), *ROOT.glob("tests/*.py"),
           *ROOT.glob("benchmarks/*.py"), ROOT / "README.md", *ROOT.glob("docs/*.md")]
#: the design notes the project was planned with; they are not part of the repository
OUTSIDE = ["REFERENCE", "ARCHITECTURE", "STYLE", "EMOTICONS"]
CITATION = re.compile(r"docs/([A-Za-z0-9_-]+\.md)#([a-z0-9-]+)")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_no_file_names_a_design_note_outside_the_repository():
    pattern = re.compile(r"\b(" + "|".join(OUTSIDE) + r")\.md\b|" + "shared" + "/design")
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in SOURCES
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
            if pattern.search(line)]
    assert hits == []


def test_every_cited_docs_section_exists():
    cited = {(m.group(1), m.group(2)) for p in SOURCES
             for m in CITATION.finditer(p.read_text(errors="replace"))}
    assert len(cited) >= 10  # the gan, face and warp code cite their facts
    missing = []
    for name, anchor in sorted(cited):
        page = ROOT / "docs" / name
        headings = {_anchor(h) for h in re.findall(r"^#+ (.+)$", page.read_text(), re.M)} \
            if page.is_file() else set()
        if anchor not in headings:
            missing.append(f"docs/{name}#{anchor}")
    assert missing == []
