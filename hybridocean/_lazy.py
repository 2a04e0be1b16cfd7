"""Lazy package exports (PEP 562): import a submodule only when one of its names is first used.

A package ``__init__`` that imported every submodule eagerly made ``import hybridocean.x.cli``
(which runs ``hybridocean/x/__init__.py`` first) pull in torch, xarray and scipy, so that
``hybridocean --help`` took seconds. With :func:`lazy_exports` the ``__init__`` declares which
submodule defines each exported name; ``from hybridocean.x import Name`` and
``hybridocean.x.Name`` still work and import only ``Name``'s submodule (and what it needs)::

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {"core": ("Observations", ...), ...})

Layer: standard library only (imported by package ``__init__`` files at any layer).
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]],
                 computed: Optional[Mapping[str, Callable[[], Any]]] = None,
                 ) -> Tuple[Callable[[str], Any], Callable[[], List[str]], List[str]]:
    """The module ``__getattr__``, ``__dir__`` and ``__all__`` of a package with lazy exports.

    Args:
        package: the package's ``__name__`` (e.g. ``"hybridocean.observations"``).
        exports: submodule name (relative, e.g. ``"core"``) -> the public names it defines that the
            package re-exports. Each name may appear once. The submodules themselves are also
            reachable as attributes (``package.core``), as with eager imports.
        computed: exported name -> zero-argument function building its value on first access
            (e.g. a registry built from several submodules' classes); the value is then cached.

    Returns:
        ``(__getattr__, __dir__, __all__)``: ``__getattr__(name)`` imports the defining submodule,
        stores the value in the package namespace (so later look-ups do not come back here) and
        returns it, or raises ``AttributeError`` naming the package for an unknown name;
        ``__dir__()`` lists the namespace plus every lazy name; ``__all__`` is every exported name
        in declaration order (``from package import *`` imports them all).

    Raises:
        ValueError: a name exported twice (by two submodules, or also in ``computed``).
    """
    computed = dict(computed or {})
    where: Dict[str, str] = {}
    for sub, names in exports.items():
        for name in names:
            if name in where or name in computed:
                raise ValueError(f"exports: {package}.{name} is exported twice (again by .{sub})")
            where[name] = sub
    public = list(where) + list(computed)

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        elif name in computed:
            value = computed[name]()
        elif name in exports:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> List[str]:
        return sorted(set(vars(sys.modules[package])) | set(public) | set(exports))

    return __getattr__, __dir__, public
