"""The house rules of the package, read from its source: layers with one-way imports, no import circles, inference
that never imports training, small modules, imports at the top unless a lazy one says why."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gantransfer"

#: The layers, lowest first: a module may import only modules of its own layer or of the layers before it.
LAYERS = ("core", "pipeline", "methods", "training", "notebook", "tools", "cli")
#: What inference is: nothing here may import training, notebook support or tools, even lazily.
INFERENCE = ("core", "pipeline", "methods")
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): path
            for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS or parts[1:] == ["cli"] else None


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(imported gantransfer module, line, at module level)`` for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    for node in tree.body:      # imports inside a module-level try (optional dependencies) count as top
        if isinstance(node, ast.Try):
            top.update(id(n) for n in node.body + [h for hnd in node.handlers for h in hnd.body])
    found = []
    known = set(_modules())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gantransfer"):
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                found.append((target if target in known else node.module, node.lineno, id(node) in top))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gantransfer"):
                    found.append((alias.name, node.lineno, id(node) in top))
    return found


def _graph() -> dict[str, set[str]]:
    return {module: {target for target, _, _ in _imports(path) if target != module}
            for module, path in _modules().items()}


def test_layers_import_only_downwards():
    wrong = []
    for module, path in _modules().items():
        layer = _layer(module)
        if layer is None:
            continue
        for target, line, _ in _imports(path):
            other = _layer(target)
            if other is not None and LAYERS.index(other) > LAYERS.index(layer):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({layer}) imports {target} ({other})")
    assert not wrong, "imports up the layers:\n" + "\n".join(wrong)


def test_every_module_lives_in_a_layer():
    stray = [m for m in _modules() if m != "gantransfer" and _layer(m) is None]
    assert not stray, f"modules outside the layers' folders: {stray}"


def test_no_import_circles():
    graph = _graph()
    cycles = []

    def visit(node, stack, on_stack, done):
        on_stack.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # a package's __init__ re-exporting its own modules is not a circle through them
            if nxt == node.rsplit(".", 1)[0] or node == nxt.rsplit(".", 1)[0]:
                continue
            if nxt in on_stack:
                cycles.append(" → ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in done:
                visit(nxt, stack, on_stack, done)
        stack.pop()
        on_stack.discard(node)
        done.add(node)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [], set(), done)
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def test_inference_never_imports_training_even_lazily():
    wrong = [f"{m} imports {t}" for m, targets in _graph().items() if _layer(m) in INFERENCE
             for t in targets if _layer(t) not in INFERENCE]
    assert not wrong, wrong


def test_stylize_command_loads_no_training_code():
    """What `gantransfer stylize` imports at start-up (the parser and the inference path) holds no training module."""
    code = ("import sys; from gantransfer import cli; cli._build_parser(); import gantransfer.methods.registry; "
            "print(sorted(m for m in sys.modules if m.startswith(('gantransfer.training', 'gantransfer.tools'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out


def test_modules_are_small():
    big = {m: n for m, p in _modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_lazy_imports_state_their_reason():
    """An import inside a function carries a ``# lazy: why`` comment on its line or just above (a block of
    imports shares one)."""
    missing = []
    for module, path in _modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        top = {id(n) for n in tree.body}
        for node in tree.body:
            if isinstance(node, ast.Try):
                top.update(id(n) for n in node.body + [h for hnd in node.handlers for h in hnd.body])
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                i = node.lineno - 1
                # this line, or the comment lines and imports directly above it up to a comment that says why
                while i >= 0 and "lazy:" not in lines[i]:
                    stripped = lines[i].strip()
                    if i != node.lineno - 1 and not (stripped.startswith(("#", "import ", "from ")) or not stripped):
                        break
                    i -= 1
                if i < 0 or "lazy:" not in lines[i]:
                    missing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not missing, "imports inside functions without a '# lazy: reason' comment:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", ["stylize"])
def test_the_one_entry_point_is_at_the_top(name):
    import gantransfer
    from gantransfer.methods import registry

    assert getattr(gantransfer, name) is registry.stylize
