"""The user guide runs: every ```python block of docs/*.md is executed, page by page.

Each page's blocks run in order in one namespace, from a fresh temporary working directory
(`<tmp>/repo`, with the offline datasets linked at `../shared/datasets` as beside a real
checkout), after `ember.manual_seed(0)`. A failing block is reported with its page and
line. Blocks that must not run are fenced as ```text or ```sh.

Shown output is checked too: comment lines placed directly under a `print(...)` call are
the output that call must produce (compared with runs of whitespace made equal, so long
lines may wrap; a `...` matches anything).

A block preceded by `<!-- requires: torch -->` or `<!-- requires: shared-datasets -->`
needs PyTorch or the datasets in ../shared/datasets; without them, it and the rest of its
page are skipped.
"""
from __future__ import annotations

import ast
import builtins
import importlib.util
import io
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import ember

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
# The documented location of the offline datasets: ../shared/datasets, beside the repository.
SHARED_DATASETS = REPO.parent / "shared" / "datasets"

PAGES = ("index.md", "getting-started.md", "tensors-and-autograd.md", "building-networks.md",
         "training.md", "data.md", "convolutional-networks.md", "recurrent-networks.md",
         "saving-and-resuming.md", "pytorch-users.md")
RUN_LANGUAGES = ("python",)
QUIET_LANGUAGES = ("text", "sh")
FENCE = re.compile(r"^```(\S*)\s*$")
REQUIRES = re.compile(r"^<!--\s*requires:\s*([\w-]+)\s*-->\s*$")
LINK = re.compile(r"\]\(([\w-]+\.md)(#[\w-]+)?\)")


@dataclass
class Block:
    """One fenced code block of a page: its language, first code line (1-based) and code."""

    language: str
    line: int
    code: str = ""
    requires: str | None = None


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown page, in order."""
    blocks, current, pending = [], None, None
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = FENCE.match(text)
        if current is None:
            if fence:
                current, pending = Block(fence.group(1), number + 1, requires=pending), None
            elif REQUIRES.match(text):
                pending = REQUIRES.match(text).group(1)
            elif text.strip():
                pending = None
            continue
        if fence and not fence.group(1):
            blocks.append(current)
            current = None
        else:
            current.code += text + "\n"
    if current is not None:
        raise AssertionError(f"{path.name}: the code block opened at line {current.line - 1} "
                             f"is never closed")
    return blocks


@dataclass
class ShownOutput:
    """The output a block shows under one print call (lines first..last of the call)."""

    first: int
    last: int
    comment_line: int
    expected: str
    printed: list = field(default_factory=list)


def shown_outputs(source: str) -> list[ShownOutput]:
    """For each print(...) call followed directly by comment lines, what they show."""
    lines = source.splitlines()
    shown = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "print"):
            continue
        comments, number = [], node.end_lineno         # lines[number] is the next line
        while number < len(lines) and lines[number].lstrip().startswith("#"):
            comments.append(lines[number].lstrip()[1:])
            number += 1
        if comments:
            shown.append(ShownOutput(node.lineno, node.end_lineno, node.end_lineno + 1,
                                     "\n".join(comments)))
    return shown


def output_matches(expected: str, actual: str) -> bool:
    """Equal up to runs of whitespace; `...` in expected matches any text."""
    pattern = r"\s+".join(".*?".join(re.escape(part) for part in token.split("..."))
                          for token in expected.split())
    return re.fullmatch(pattern, " ".join(actual.split()), flags=re.S) is not None


def recording_print(filename: str, shown: list[ShownOutput]):
    """A print that also records, per call site in `filename`, what it printed."""

    def print_(*args, **kwargs):
        builtins.print(*args, **kwargs)
        if kwargs.get("file") not in (None, sys.stdout):
            return
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != filename:
            frame = frame.f_back
        for output in shown:
            if frame is not None and output.first <= frame.f_lineno <= output.last:
                text = io.StringIO()
                builtins.print(*args, **{**kwargs, "file": text})
                output.printed.append(text.getvalue())

    return print_


def missing_requirement(name: str) -> str | None:
    """Why a block's requirement is not met here, or None when it is."""
    if name == "torch":
        if importlib.util.find_spec("torch") is None:
            if os.environ.get("EMBER_REQUIRE_TORCH"):
                raise AssertionError("PyTorch is required (EMBER_REQUIRE_TORCH) but missing")
            return "PyTorch is not installed"
        return None
    if name == "shared-datasets":
        return None if SHARED_DATASETS.is_dir() else f"no datasets at {SHARED_DATASETS}"
    raise AssertionError(f"unknown requirement {name!r} in a docs page")


def run_page(path: Path) -> None:
    """Run the page's python blocks in one namespace; raise naming the failing block."""
    where = f"docs/{path.name}"
    ember.manual_seed(0)
    namespace = {"__name__": f"docs.{path.stem}"}
    for block in read_blocks(path):
        if block.language not in RUN_LANGUAGES:
            continue
        if block.requires is not None:
            reason = missing_requirement(block.requires)
            if reason is not None:
                pytest.skip(f"{where}: the block at line {block.line} and those after it "
                            f"need {block.requires}: {reason}")
        # Padding with newlines gives tracebacks and call sites the .md file's line numbers.
        source = "\n" * (block.line - 1) + block.code
        try:
            code = compile(source, str(path), "exec")
            shown = shown_outputs(source)
            namespace["print"] = recording_print(str(path), shown)
            exec(code, namespace)
        except Exception as exc:  # noqa: BLE001 - reported with the block's place
            details = "".join(traceback.format_exception(exc))
            raise AssertionError(f"{where}: the python block at line {block.line} failed: "
                                 f"{type(exc).__name__}: {exc}\n{details}") from None
        for output in shown:
            actual = "".join(output.printed)
            if not output_matches(output.expected, actual):
                raise AssertionError(
                    f"{where}: the output shown at line {output.comment_line} (under the "
                    f"print at line {output.first}) is not what it prints.\n"
                    f"shown:\n{output.expected}\nprinted:\n{actual}")


@pytest.fixture
def docs_workdir(tmp_path, monkeypatch):
    """A temporary working directory `repo/` with the datasets at ../shared/datasets, as
    beside a real checkout, so that pages can use the documented relative paths."""
    workdir = tmp_path / "repo"
    workdir.mkdir()
    if SHARED_DATASETS.is_dir():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "datasets").symlink_to(SHARED_DATASETS, target_is_directory=True)
    monkeypatch.chdir(workdir)
    return workdir


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page, docs_workdir):
    run_page(DOCS / page)


def test_readme_examples_run(docs_workdir):
    run_page(REPO / "README.md")


def test_every_page_is_listed_and_has_code():
    on_disk = sorted(p.name for p in DOCS.glob("*.md"))
    assert on_disk == sorted(PAGES), "a docs page was added or removed: update PAGES"
    for page in PAGES:
        blocks = read_blocks(DOCS / page)
        assert any(b.language in RUN_LANGUAGES for b in blocks), f"{page} runs no code"


def test_every_block_says_whether_it_runs():
    """An unlabeled fence would be skipped silently: each must be python, text or sh."""
    for page in PAGES:
        for block in read_blocks(DOCS / page):
            assert block.language in RUN_LANGUAGES + QUIET_LANGUAGES, (
                f"docs/{page}: the block at line {block.line} is fenced as "
                f"```{block.language}; use ```python (runs), ```text or ```sh (does not)")


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_pages_resolve():
    for page in PAGES:
        for target, anchor in LINK.findall((DOCS / page).read_text(encoding="utf-8")):
            assert (DOCS / target).is_file(), f"docs/{page} links to missing {target}"
            if anchor:
                text = (DOCS / target).read_text(encoding="utf-8")
                anchors = {github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
                assert anchor[1:] in anchors, f"docs/{page} links to missing {target}{anchor}"


# --- the runner itself --------------------------------------------------------------------


def write_page(folder: Path, text: str) -> Path:
    page = folder / "example.md"
    page.write_text(text)
    return page


def test_a_failing_block_names_its_page_and_line(tmp_path):
    page = write_page(tmp_path, "# Broken\n\n```python\nx = 1\n```\n\ntext\n\n```python\n"
                                "y = x +\n```\n")
    with pytest.raises(AssertionError, match=r"docs/example.md: the python block at line 10 "
                                             r"failed: SyntaxError"):
        run_page(page)
    page = write_page(tmp_path, "```python\nx = 1\n```\n\n```text\nnot python\n```\n\n"
                                "```python\nassert x == 2, 'x is one'\n```\n")
    with pytest.raises(AssertionError, match=r"line 10 failed: AssertionError: x is one"):
        run_page(page)


def test_shown_output_is_checked(tmp_path):
    page = write_page(tmp_path, "```python\nfor i in range(2):\n    print(i,\n          i * 10)"
                                "\n# 0 0\n# 1 10\nprint('a  long   line')\n# a long\n#  line\n"
                                "print(list(range(50)))\n# [0, 1, ..., 49]\n```\n")
    run_page(page)                              # wrapped, spaced and elided output matches
    page = write_page(tmp_path, "```python\nprint(1 + 1)\n# 3\n```\n")
    with pytest.raises(AssertionError, match=r"the output shown at line 3 \(under the print "
                                             r"at line 2\) is not what it prints"):
        run_page(page)


def test_blocks_after_a_missing_requirement_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "SHARED_DATASETS", tmp_path / "nowhere")
    page = write_page(tmp_path, "```python\nx = 1\n```\n\n<!-- requires: shared-datasets -->\n"
                                "\n```python\nraise SystemExit\n```\n")
    with pytest.raises(pytest.skip.Exception, match="line 8 and those after it need "
                                                    "shared-datasets"):
        run_page(page)


# --- core behaviours the guide describes as matching PyTorch --------------------------------


def test_augmented_assignment_on_a_leaf_that_requires_grad_raises():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ember.GraphError, match="leaf"):
        w -= 0.1                       # the hand-written SGD step, forgetting no_grad


def test_zero_dim_tensors_promote_like_pytorch(torch):
    cases = [("float32", "float64"), ("int32", "int64"), ("float16", "float32")]
    for vector_dtype, scalar_dtype in cases:
        results = []
        for lib in (ember, torch):
            vector = lib.ones(3, dtype=getattr(lib, vector_dtype))
            scalar = lib.tensor(2, dtype=getattr(lib, scalar_dtype))
            results.append(str((vector * scalar).dtype).rpartition(".")[2])
        assert results[0] == results[1], f"{vector_dtype} * 0-d {scalar_dtype}: {results}"
