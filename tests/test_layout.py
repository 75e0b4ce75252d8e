"""The layout a course relies on: the core stays short, its backward loop fits on a slide, the
core imports nothing above it, and no module imports another that imports it back."""

import ast
import inspect
import pathlib

import microgradseq as mg
from microgradseq import autograd

PACKAGE = pathlib.Path(mg.__file__).parent


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: pathlib.Path, modules: set) -> set:
    """The library modules a file imports (a package's `from . import x` counts as x, not the package)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            submodules = {f"{target}.{alias.name}" for alias in node.names} & modules
            found |= submodules or ({target} & modules)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names} & modules
    found.discard(name)
    return found


def import_graph() -> dict:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: imports_of(path, modules) for name, path in paths.items()}


def test_no_module_imports_one_that_imports_it_back():
    graph = import_graph()
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for child in graph[node]:
                if child == start:
                    cycles.append(path)
                elif child not in path:
                    stack.append((child, path + [child]))
    # a package's __init__ importing its own submodules, which import siblings, is not a cycle;
    # a submodule importing its package (to read an attribute) and being imported by it is
    package_edges = [cycle for cycle in cycles if len(cycle) > 1]
    assert not package_edges, package_edges[:5]


def test_the_core_imports_nothing_from_ops_nn_bptt_viz_or_anomaly():
    core = import_graph()["microgradseq.autograd"]
    assert not {m for m in core if m.split(".")[1] in ("ops", "nn", "bptt", "viz", "anomaly", "tensor")}


def test_layers_only_look_down():
    """bptt works with any step function and optim with any tensors: neither needs nn; viz reads any
    graph and needs nothing from nn, bptt or optim."""
    graph = import_graph()
    above = {"bptt": ("nn", "viz"), "optim": ("nn", "viz", "bptt"), "viz": ("nn", "bptt", "optim")}
    # the one exception, as PyTorch's torch.optim.swa_utils: an AveragedModel is a Module, and update_bn
    # walks a model's BatchNorm layers
    graph["microgradseq.optim.swa_utils"] = {m for m in graph["microgradseq.optim.swa_utils"]
                                             if m not in ("microgradseq.nn.module", "microgradseq.nn.normalization")}
    for name, imported in graph.items():
        parts = name.split(".")
        if len(parts) > 1 and parts[1] in above:
            wrong = {m for m in imported if m.split(".")[1:2] and m.split(".")[1] in above[parts[1]]}
            assert not wrong, f"{name} imports {sorted(wrong)}"


def code_lines(source: str) -> int:
    """Lines of code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstring_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
            first = node.body[0]
            docstring_lines |= set(range(first.lineno, first.end_lineno + 1))
    return sum(1 for number, line in enumerate(source.splitlines(), 1)
               if line.strip() and not line.strip().startswith("#") and number not in docstring_lines)


def test_the_backward_loop_is_at_most_30_lines_of_code():
    assert code_lines(inspect.getsource(autograd.run_backward)) <= 30


def test_the_core_with_its_library_imports_is_at_most_300_lines():
    graph = import_graph()
    core = {"microgradseq.autograd"} | graph["microgradseq.autograd"]
    total = sum(len((PACKAGE.parent / (name.replace(".", "/") + ".py")).read_text().splitlines())
                for name in core)
    assert total <= 300, total


def test_no_fingerprinting_in_the_library():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "crc32" not in text and "checksum" not in text, path


def test_the_backward_loop_in_the_engine_docs_is_the_source():
    page = (PACKAGE.parent / "docs" / "engine.md").read_text()
    block = page.split("<!-- backward-loop -->\n```py\n", 1)[1].split("```", 1)[0]
    assert block == inspect.getsource(autograd.run_backward)


def test_the_tanh_listing_in_the_engine_docs_is_the_source():
    from microgradseq.ops import elementwise
    page = (PACKAGE.parent / "docs" / "engine.md").read_text()
    block = page.split("derivative side by side:\n\n```py\n", 1)[1].split("```", 1)[0]
    source = inspect.getsource(elementwise)
    start = source.index("def tanh(")
    assert block == source[start:start + len(block)]
