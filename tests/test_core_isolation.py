"""qkv_core is pure computation: it must never import streamlit (or the UI package)."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import qkv_core

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "qkv_core"
FORBIDDEN = ("streamlit", "qkv_ui", "altair")


def _imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_core_module_imports_the_ui_statically():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_names(path) & set(FORBIDDEN))
        for path in CORE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_every_core_module_loads_no_streamlit():
    modules = [f"qkv_core.{m.name}" for m in pkgutil.iter_modules(qkv_core.__path__)]
    assert modules, "qkv_core has no modules to check"
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
