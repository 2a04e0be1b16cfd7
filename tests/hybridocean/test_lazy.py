"""Lazy package exports (:mod:`hybridocean._lazy`) and the fast ``hybridocean --help`` they buy.

``hybridocean.observations`` and ``hybridocean.estimation`` export their names lazily (PEP 562),
so building the CLI parser -- which imports their ``cli`` submodules -- must not import torch,
xarray or scipy, while every exported name still resolves to its submodule's object.
"""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from hybridocean._lazy import lazy_exports

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "xarray", "scipy", "pandas", "netCDF4", "matplotlib")


def test_building_the_parser_imports_no_heavy_module():
    # A fresh interpreter: this test process has torch loaded already. Fails on the eager
    # __init__ files (importing hybridocean.observations.cli ran them, importing torch & co).
    code = ("import sys, hybridocean.cli as c; c.build_parser(); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"building the parser imported {r.stdout.strip()}"


@pytest.mark.parametrize("package", ["hybridocean.observations", "hybridocean.estimation"])
def test_every_export_is_its_submodules_object(package):
    pkg = importlib.import_module(package)
    assert len(pkg.__all__) == len(set(pkg.__all__))
    for sub, names in pkg._EXPORTS.items():
        module = importlib.import_module(f"{package}.{sub}")
        for name in names:
            assert getattr(pkg, name) is getattr(module, name), (package, name)
    ns: dict = {}
    exec(f"from {package} import *", ns)
    assert set(pkg.__all__) <= set(ns) and set(pkg.__all__) <= set(dir(pkg))
    with pytest.raises(AttributeError, match=f"{package}.*no_such_name"):
        getattr(pkg, "no_such_name")


def test_estimators_registry():
    from hybridocean.estimation import ESTIMATORS, Cyclogeostrophic, Geostrophic, OptimalInterpolation

    assert ESTIMATORS == {c.method: c for c in (Geostrophic, Cyclogeostrophic, OptimalInterpolation)}
    assert sorted(ESTIMATORS) == ["cyclogeostrophic", "geostrophic", "oi"]


def test_lazy_exports_imports_on_first_use_and_caches(tmp_path, monkeypatch):
    # A throwaway package: its submodule is imported on first use of its name, not before.
    root = tmp_path / "lazy_probe"
    root.mkdir()
    (root / "sub.py").write_text("VALUE = object()\n")
    (root / "__init__.py").write_text(
        "from hybridocean._lazy import lazy_exports\n"
        "CALLS = []\n"
        "__getattr__, __dir__, __all__ = lazy_exports(\n"
        "    __name__, {'sub': ('VALUE',)}, computed={'BUILT': lambda: CALLS.append(1) or len(CALLS)})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("lazy_probe", "lazy_probe.sub"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    pkg = importlib.import_module("lazy_probe")
    assert "lazy_probe.sub" not in sys.modules and pkg.__all__ == ["VALUE", "BUILT"]
    assert {"VALUE", "BUILT", "sub"} <= set(dir(pkg))
    value = pkg.VALUE
    assert value is sys.modules["lazy_probe.sub"].VALUE and vars(pkg)["VALUE"] is value  # cached
    assert (pkg.BUILT, pkg.BUILT, pkg.CALLS) == (1, 1, [1])  # built once
    with pytest.raises(AttributeError, match="lazy_probe.*nope"):
        pkg.nope
    for name in ("lazy_probe", "lazy_probe.sub"):
        sys.modules.pop(name, None)


def test_lazy_exports_rejects_a_name_exported_twice():
    with pytest.raises(ValueError, match=r"pkg\.X is exported twice"):
        lazy_exports("pkg", {"a": ("X",), "b": ("X",)})
    with pytest.raises(ValueError, match=r"pkg\.Y is exported twice"):
        lazy_exports("pkg", {"a": ("Y",)}, computed={"Y": lambda: 0})
