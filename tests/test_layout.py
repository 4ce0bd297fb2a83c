"""The words that say where things are: every module of course_lib is listed,
one line each, in the package docstring and in the README's layout."""

from pathlib import Path

import course_lib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "course_lib"


def modules() -> list[str]:
    """course_lib's modules and subpackages, without the package's own __init__."""
    names = [p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    names += [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    return sorted(names)


def test_the_package_docstring_lists_every_module_once():
    lines = [line.strip() for line in course_lib.__doc__.splitlines()]
    for name in modules():
        assert sum(line.startswith(f"- ``{name}``:") for line in lines) == 1, name


def test_the_readme_layout_lists_every_module_once():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("## ", 1)[0]
    entries = [line.split()[0] for line in layout.splitlines()
               if line.startswith("  ") and not line.startswith("   ")]  # course_lib's entries
    for name in modules():
        file = f"{name}/" if (PACKAGE / name).is_dir() else f"{name}.py"
        assert entries.count(file) == 1, file
    assert len(entries) == len(modules())
