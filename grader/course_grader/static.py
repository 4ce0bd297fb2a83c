"""What the answer cells' source says, read without running it (``ast``).

* **Forbidden shortcuts.** Each chapter's ``FORBIDDEN`` maps a test cell to
  (the answer it checks, the dotted names that answer must not use). An
  answer whose function, or any function of the notebook it calls, names a
  forbidden target — directly (``np.tanh``), through an import alias
  (``from numpy import tanh as t``), a module-level alias (``t = np.tanh``),
  or in a default argument or a closure — loses that cell's points with the
  same message the worker's tripwire gives.
* **Review.** Constructs that can change what the grader or the kernel sees
  (``exec``, ``eval``, ``__import__``, ``importlib``, ``inspect``,
  ``sys.modules``, ``get_ipython``, ``ctypes``, frame objects, assigning to a
  library's attributes, classes that redefine comparisons...) are not
  zeroed: the submission is flagged ``review`` with the lines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

REVIEW_NAMES = {
    "exec": "exec", "eval": "eval", "compile": "compile", "__import__": "__import__",
    "get_ipython": "get_ipython", "globals": "globals()", "vars": "vars()", "setattr": "setattr",
    "delattr": "delattr", "breakpoint": "breakpoint", "__builtins__": "__builtins__",
}
REVIEW_MODULES = ("importlib", "inspect", "ctypes", "gc", "builtins", "IPython", "ipykernel", "sys.modules",
                  "sys._getframe", "sys.settrace", "sys.setprofile", "sys.excepthook", "traceback",
                  "course_lib.instructor", "course_lib.grading", "course_grader", "types", "zipfile",
                  "pickle", "marshal", "subprocess", "os.system", "runpy", "code", "codeop")
# course_lib.grading's comparison helpers may be imported by an answer, as the setup cell does
ALLOWED_IMPORTS = ("course_lib.grading.answer", "course_lib.grading.assert_close", "course_lib.grading.assert_equal",
                   "course_lib.grading.assert_shape", "course_lib.grading.assert_true",
                   "course_lib.grading.ch4.FORBID", "course_lib.grading.ch4.LOSS_FORBID",
                   "course_lib.grading.ch4.block_params", "course_lib.grading.ch4.gpt_params",
                   "course_lib.grading.fixtures")
REVIEW_ATTRIBUTES = {
    "f_back", "f_locals", "f_globals", "f_builtins", "f_code", "gi_frame", "cr_frame", "ag_frame", "tb_frame",
    "tb_next", "__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__", "__defaults__",
    "__kwdefaults__", "_getframe", "__self__", "__func__",
}
COMPARISONS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__array__",
               "__array_ufunc__", "__array_function__", "__torch_function__", "__float__", "__index__",
               "__int__", "__len__", "__iter__", "__getattr__", "__getattribute__", "__instancecheck__"}


@dataclass
class Findings:
    forbidden: dict[str, str] = field(default_factory=dict)   # test grade_id -> message
    review: list[str] = field(default_factory=list)


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            return ast.parse("\n".join(lines))
        except SyntaxError:
            return None


class _Notebook:
    """Import aliases, module-level aliases and top-level functions of the notebook's cells."""

    def __init__(self, cells: list[tuple[str, str]]) -> None:
        self.trees = [(label, tree) for label, source in cells if (tree := _parse(source)) is not None]
        self.aliases: dict[str, str] = {}
        self.functions: dict[str, ast.AST] = {}
        for _, tree in self.trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for a in node.names:
                        if a.asname:
                            self.aliases[a.asname] = a.name
                        else:
                            self.aliases.setdefault(a.name.split(".")[0], a.name.split(".")[0])
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    for a in node.names:
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.functions[node.name] = node
                    self.aliases.pop(node.name, None)
        for _ in range(3):  # module-level aliases: t = np.tanh
            for _, tree in self.trees:
                for node in tree.body:
                    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                        target = node.targets[0].id
                        resolved = self.resolve(node.value)
                        if resolved and target not in self.functions:
                            self.aliases[target] = resolved
                        elif isinstance(node.value, (ast.Lambda, ast.Call)) and target not in self.functions:
                            self.functions[target] = node.value

    def resolve(self, node: ast.AST) -> str | None:
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.aliases:
            return self.aliases[head] + ("." + rest if rest else "")
        return None

    def references(self, name: str) -> list[tuple[str, int, str]]:
        """(dotted name, line, attribute) used by function ``name`` and the notebook functions it calls."""
        seen, todo, found = set(), [name], []
        if name in self.aliases:
            found.append((self.aliases[name], 0, ""))
        while todo:
            current = todo.pop()
            if current in seen or current not in self.functions:
                continue
            seen.add(current)
            for node in ast.walk(self.functions[current]):
                if isinstance(node, ast.Name):
                    if node.id in self.functions:
                        todo.append(node.id)
                    elif node.id in self.aliases:
                        found.append((self.aliases[node.id], getattr(node, "lineno", 0), ""))
                elif isinstance(node, ast.Attribute):
                    resolved = self.resolve(node)
                    found.append((resolved or "", getattr(node, "lineno", 0), node.attr))
        return found


def _matches(reference: str, attribute: str, target: str) -> bool:
    if reference and (reference == target or reference.startswith(target + ".")):
        return True
    if target.startswith("torch.Tensor.") and attribute == target.rsplit(".", 1)[1] and not reference:
        return True   # a tensor method: x.softmax(...), loss.backward()
    return False


def forbidden_uses(notebook: _Notebook, forbidden: dict) -> dict[str, str]:
    out = {}
    for grade_id, (name, targets) in forbidden.items():
        for reference, _, attribute in notebook.references(name):
            hit = next((t for t in targets if _matches(reference, attribute, t)), None)
            if hit:
                label = reference or hit
                out[grade_id] = (f"{name}: your answer calls {label}, which this exercise asks you "
                                 "to write yourself. Use only basic operations here.")
                break
    return out


def _under(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def review(cells: list[tuple[str, str]], context: list[tuple[str, str]] = ()) -> list[str]:
    """Lines of learner cells that use constructs an instructor should look at (``context``: cells read
    for their imports only)."""
    notebook = _Notebook(list(context) + list(cells))
    found = []
    for label, source in cells:
        tree = _parse(source)
        lines = source.splitlines()
        if tree is None:
            continue

        def note(node: ast.AST, what: str) -> None:
            line = getattr(node, "lineno", 1)
            text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            found.append(f"{label} line {line}: {what}: {text[:120]}")

        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [f"{node.module}.{a.name}" for a in node.names] if node.module and not node.level
                         else ["(relative import)"])
                for name in names:
                    if name.startswith(ALLOWED_IMPORTS):
                        continue
                    if name == "(relative import)" or _under(name, REVIEW_MODULES):
                        note(node, f"imports {name}")
            elif isinstance(node, ast.Name) and node.id in REVIEW_NAMES:
                note(node, f"uses {REVIEW_NAMES[node.id]}")
            elif isinstance(node, ast.Attribute):
                resolved = notebook.resolve(node) or ""
                if node.attr in REVIEW_ATTRIBUTES:
                    note(node, f"uses .{node.attr}")
                elif _under(resolved, REVIEW_MODULES) and not resolved.startswith(ALLOWED_IMPORTS):
                    note(node, f"uses {resolved}")
                if isinstance(node.ctx, (ast.Store, ast.Del)):
                    base = notebook.resolve(node.value)
                    if base is not None:
                        note(node, f"changes {base}.{node.attr} (a library's attribute)")
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in COMPARISONS:
                        note(item, f"class {node.name} defines {item.name}")
            elif isinstance(node, ast.Global) and any(n in notebook.aliases for n in node.names):
                note(node, "rebinds an imported name")
    return list(dict.fromkeys(found))


def read_source(answer_cells: list[tuple[str, str]], setup_cells: list[tuple[str, str]],
                forbidden: dict) -> Findings:
    """Forbidden shortcuts in the answers, and lines to review in the learner's cells.

    ``answer_cells`` are the learner's cells (solution cells and cells the
    learner added); ``setup_cells`` the course's locked cells (read for their
    imports only).
    """
    notebook = _Notebook(setup_cells + answer_cells)
    return Findings(forbidden=forbidden_uses(notebook, forbidden), review=review(answer_cells, setup_cells))
