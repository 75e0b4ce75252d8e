"""The README and docs/*.md: every Python block runs on its own, and every link stays inside the repository."""

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [(page, number, block) for page in PAGES
          for number, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S), 1)]
# [text](target) and ![alt](target); the target ends at the first space or closing parenthesis
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)")


@pytest.mark.parametrize("page, number, block", BLOCKS, ids=[f"{p.name}-{n}" for p, n, _ in BLOCKS])
def test_each_code_block_runs_on_its_own(page, number, block, tmp_path, monkeypatch):
    """A block runs in a fresh namespace, as a student pasting only that block runs it."""
    monkeypatch.chdir(tmp_path)
    exec(compile(block, f"{page.name} block {number}", "exec"), {"__name__": "__docs__"})


def test_every_page_has_code_to_run():
    assert {page.name for page, _, _ in BLOCKS} >= {"README.md", "autodiff.md", "bptt.md", "tbptt.md", "drawing.md"}


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)       # code is not a link,
    text = re.sub(r"`[^`\n]*`", "", text)                              # inline code neither
    return [target for target in LINK.findall(text) if not urlsplit(target).scheme]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repository(page):
    links = relative_links(page)
    for target in links:
        path = unquote(urlsplit(target).path)
        if not path:
            continue                                                    # a link to a heading on the same page
        resolved = (page.parent / path).resolve()
        assert resolved.is_relative_to(ROOT), f"{page.name}: {target} points outside the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"


def test_the_link_check_sees_the_readme_s_links():
    links = relative_links(ROOT / "README.md")
    assert "docs/tbptt.md" in links and "CHANGELOG.md" in links and "docs/images/tbptt_cut.svg" in links


OUTSIDE_DOCUMENTS = ("SP" + "EC", "ST" + "YLE")   # (spelled apart: this file is scanned too)
OUTSIDE = ("../" + "shared",) + tuple(name + ".md" for name in OUTSIDE_DOCUMENTS)
OUTSIDE_WORDS = re.compile(r"\b(" + "|".join(OUTSIDE_DOCUMENTS) + r")\b")     # the same, named without a path
NOT_THE_PROJECT = {".git", ".venv", "build", "__pycache__", ".pytest_cache", ".hypothesis", "microgradseq-demo"}


def project_files() -> list[Path]:
    """The repository's own text files: sources, docs, tests, configuration."""
    files = []
    for path in sorted(ROOT.rglob("*")):
        parts = set(path.relative_to(ROOT).parts)
        if path.is_file() and not parts & NOT_THE_PROJECT and not any(p.endswith(".egg-info") for p in parts) \
                and path.suffix in {".md", ".py", ".toml", ".txt", ".cfg", ""}:
            files.append(path)
    return files


def test_no_file_refers_outside_the_repository():
    files = project_files()
    assert ROOT / "README.md" in files and ROOT / "microgradseq" / "viz" / "draw.py" in files
    for path in files:
        text = path.read_text(errors="replace")
        for outside in OUTSIDE:
            assert outside not in text, f"{path.relative_to(ROOT)} refers to {outside}, which a clone does not have"
        named = OUTSIDE_WORDS.search(text)
        assert named is None, f"{path.relative_to(ROOT)} refers to a {named.group()} a clone does not have"


def test_the_readme_keeps_ci_s_test_line_and_the_demo_line():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert sum(line.endswith("  # run the tests") for line in lines) == 1
    assert sum(line.endswith("  # run the demo") for line in lines) == 1
    assert "TODO" not in "\n".join(lines)


def test_the_readme_is_about_one_screen_before_learn_more_and_the_history_is_in_the_changelog():
    readme = (ROOT / "README.md").read_text()
    before = readme.split("## Learn more")[0]
    assert len(before.splitlines()) <= 50 and len(before.split()) <= 400
    assert "Recent changes" not in readme and "rounds back" not in readme
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog") and "## Unreleased" in changelog
