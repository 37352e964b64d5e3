"""Documentation that cannot drift: every ``python -m pyserini_ckd...`` command in the README's and docs/' code
blocks names a module that exists and only flags its parser knows, and the README's Python block runs."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
MODULE = re.compile(r"(?:^|\s)-m\s+(pyserini_ckd(?:\.[\w.]+)?)")


def code_blocks(path: Path) -> List[Tuple[str, str]]:
    return [(lang, body) for lang, body in FENCE.findall(path.read_text(encoding="utf-8"))]


def commands(text: str) -> List[str]:
    """Shell lines of a code block, continuation lines joined, comments dropped."""
    out = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if MODULE.search(line):
            out.append(line)
    return out


def documented_commands() -> List[Tuple[str, str]]:
    found = []
    for path in DOCS:
        for lang, body in code_blocks(path):
            if lang in ("", "bash", "sh", "console"):
                found += [(f"{path.relative_to(ROOT)}", c) for c in commands(body)]
    return found


def parser_flags(module: str) -> Set[str]:
    """Every option string the module's command line accepts (sections included)."""
    if module == "pyserini_ckd.encode":
        from pyserini_ckd.encode import _section_parsers

        parsers = list(_section_parsers().values())
    else:
        spec = importlib.util.find_spec(module)
        name = module + ".__main__" if spec.submodule_search_locations else module
        parsers = [importlib.import_module(name).build_parser()]
    flags = set()
    for parser in parsers:
        flags |= set(parser._option_string_actions)
    return flags


def pyserini_flags(target: str) -> str:
    """The source text in which Pyserini's module ``target`` declares its flags (hybrid reuses the others')."""
    sources = [target] + {"pyserini.search.hybrid": ["pyserini.search.faiss", "pyserini.search.lucene"]}.get(target, [])
    text = ""
    for name in sources:
        spec = importlib.util.find_spec(name)
        assert spec is not None, f"no module {name}"
        if spec.submodule_search_locations:
            spec = importlib.util.find_spec(name + ".__main__")
        text += Path(spec.origin).read_text()
    return text


def check_command(where: str, command: str) -> List[str]:
    """Problems with one documented command (empty when it matches the code)."""
    module = MODULE.search(command).group(1)
    if importlib.util.find_spec(module) is None:
        return [f"{where}: no module {module}: {command}"]
    try:
        tokens = shlex.split(command.replace("[", " ").replace("]", " ").replace("|", " "))
    except ValueError:
        tokens = command.replace("[", " ").replace("]", " ").replace("|", " ").split()
    rest = tokens[tokens.index(module) + 1:]
    if module == "pyserini_ckd.pyserini_run":
        if not rest:
            return [f"{where}: pyserini_run without a module: {command}"]
        target = rest[0] if rest[0].startswith("pyserini") else f"pyserini.{rest[0]}"
        if importlib.util.find_spec(target) is None:
            return [f"{where}: no module {target}: {command}"]
        source = pyserini_flags(target)
        ours = {"--encoder-class"}  # what pyserini_run adds to Pyserini's parsers
        return [f"{where}: {target} has no flag {flag}: {command}" for flag in _flags(rest[1:])
                if flag not in ours and f"'{flag}'" not in source and f'"{flag}"' not in source]
    known = parser_flags(module)
    return [f"{where}: {module} has no flag {flag}: {command}" for flag in _flags(rest) if flag not in known]


def _flags(tokens: List[str]) -> List[str]:
    return [t.split("=", 1)[0] for t in tokens if t.startswith("--") and len(t) > 2]


def test_every_documented_command_matches_its_parser():
    found = documented_commands()
    assert len(found) >= 30, found  # the README and docs/ document every stage
    problems = [p for where, c in found for p in check_command(where, c)]
    assert not problems, "\n".join(problems)


def test_a_misspelt_flag_is_caught():
    readme = "```bash\npython -m pyserini_ckd.search --dataset DATA --split test --dense W/dense \\\n    --ouptut W/run.trec\n```\n"
    (lang, body), = FENCE.findall(readme)
    command, = commands(body)
    assert check_command("README.md", command) == [f"README.md: pyserini_ckd.search has no flag --ouptut: {command}"]
    assert check_command("x.md", "python -m pyserini_ckd.serach --dataset D") == ["x.md: no module pyserini_ckd.serach: python -m pyserini_ckd.serach --dataset D"]
    bad = "python -m pyserini_ckd.pyserini_run pyserini.search.faiss --index I --topcs T"
    assert check_command("x.md", bad) == [f"x.md: pyserini.search.faiss has no flag --topcs: {bad}"]


def test_every_docs_page_is_reachable_from_the_readme_in_one_link():
    readme = (ROOT / "README.md").read_text()
    linked = {m for m in re.findall(r"\]\((docs/[^)#]+)", readme)}
    pages = {str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md")}
    assert pages <= linked, pages - linked
    for page in linked:
        assert (ROOT / page).is_file(), page
    assert len(readme.splitlines()) <= 200


def test_relative_links_in_docs_resolve():
    for path in DOCS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path.relative_to(ROOT)} links to missing {target}"


def test_readme_python_block_runs_on_a_tiny_collection(tiny_dataset, tiny_model, tmp_path, monkeypatch):
    blocks = [body for lang, body in code_blocks(ROOT / "README.md") if lang == "python"]
    assert len(blocks) == 1
    code = blocks[0]
    substitutions: Dict[str, str] = {'"my-collection"': repr(str(tiny_dataset)), 'init="minilm"': f"init={str(tiny_model)!r}",
                                     'Path("work")': f"Path({str(tmp_path / 'work')!r})"}
    for old, new in substitutions.items():
        assert old in code, old
        code = code.replace(old, new)
    printed = []
    monkeypatch.setattr("builtins.print", lambda *a, **k: printed.append(a))
    exec(compile(code, "README.md:python", "exec"), {"__name__": "readme"})
    assert len(printed) == 1 and 0.0 <= printed[0][0] <= 1.0
    assert (tmp_path / "work" / "dense" / "index").is_file() and (tmp_path / "work" / "student" / "model.safetensors").is_file()
