"""The package graph stays acyclic: every module imports only its own floor and the floors below it.

The floors are docs/architecture.md's, lowest first. Imports are read with ``ast`` (nothing is
imported); a function-local import of a lamina module is allowed only where a comment on its line
says which cycle it breaks.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "lamina"

# The top-level name of each module or package, by floor (lowest first).
FLOORS = [
    {"config", "naming", "tree", "registry", "serialization", "dtypes", "version", "memory", "devices", "weight_budget",
     "rematerialization"},
    {"dtype_policies", "symbolic"},
    {"ops", "activations", "initializers", "regularizers", "constraints", "random", "variables", "quantizers"},
    {"losses", "metrics", "optimizers"},
    {"engine"},
    {"distribution"},
    {"layers"},
    {"saving"},
    {"callbacks"},
    {"training"},
    {"models"},
    {"utils", "testing", "backend", "applications", "mixed_precision", "datasets", "wrappers",
     "preprocessing", "visualization", "distillation"},
    {"demo", "__main__", "__init__", "cli"},
]
FLOOR = {name: index for index, names in enumerate(FLOORS) for name in names}


def _modules():
    return sorted(path for path in PACKAGE.rglob("*.py"))


def _top_name(path):
    """The top-level name a module file belongs to: ``lamina/engine/layer.py`` -> ``engine``."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _lamina_imports(path):
    """(imported module, line, in a function) for each import of a lamina module in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names
                             if alias.name.split(".")[0] == "lamina")
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - child.level + 1] + [base]).strip(".")
                if base.split(".")[0] == "lamina":
                    if base == "lamina":  # `from lamina import layers` imports the submodules named
                        found.extend((f"lamina.{alias.name}", child.lineno, in_function) for alias in child.names)
                    else:
                        found.append((base, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def _floor_of(module):
    parts = module.split(".")
    return FLOOR.get(parts[1] if len(parts) > 1 else "__init__")


def test_every_module_has_a_floor():
    unplaced = sorted({_top_name(path) for path in _modules()} - set(FLOOR))
    assert not unplaced, f"add these to FLOORS (and docs/architecture.md): {unplaced}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_imports(path):
    own = FLOOR[_top_name(path)]
    upward = [(module, line) for module, line, _ in _lamina_imports(path)
              if _floor_of(module) is not None and _floor_of(module) > own]
    assert not upward, f"{path.relative_to(PACKAGE)} imports upward: {upward}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_function_local_lamina_imports_say_which_cycle_they_break(path):
    lines = path.read_text().splitlines()
    unexplained = [(module, line) for module, line, in_function in _lamina_imports(path)
                   if in_function and "cycle" not in lines[line - 1]]
    assert not unexplained, f"{path.relative_to(PACKAGE)}: function-local imports without a reason: {unexplained}"


def test_packages_on_one_floor_do_not_import_each_other_in_a_circle():
    edges = {}
    for path in _modules():
        source = _top_name(path)
        for module, _, _ in _lamina_imports(path):
            target = module.split(".")[1] if "." in module else "__init__"
            if target != source:
                edges.setdefault(source, set()).add(target)

    def reaches(start, goal, seen):
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    circles = sorted(name for name in edges if reaches(name, name, {name}))
    assert not circles, f"packages in an import circle: {circles}"
