"""The tutorials in ``tutorials/`` run end to end: each notebook is executed in a fresh kernel.

The notebooks are jupytext "percent" scripts (``# %%`` cells; diff-friendly, never any stored
output). Each is converted with jupytext and executed with nbclient in a new ``python3`` kernel
of this interpreter (``ipykernel``), with the current folder set to a temporary directory: the
figures a notebook writes land there, never in the repository, and the kernel imports the
*installed* ``physics`` / ``hybridocean`` (no ``sys.path`` manipulation; the temporary folder is
not the checkout). Every physics claim of a notebook is an ``assert`` in a cell, so a wrong
result, like any exception, fails the cell and this test (nbclient raises ``CellExecutionError``
naming the cell).

Budget: each notebook runs in under 2 minutes on an idle 2-core CPU; the per-cell timeout below
is generous because the CI machine may be shared and loaded.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

import hybridocean  # noqa: E402
import physics  # noqa: E402

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))

#: Seconds a single cell may run (the longest cells train or integrate for ~30 s when idle).
CELL_TIMEOUT = 600

#: Modules a notebook needs beyond the package's own dependencies (skip, not fail, without them).
EXTRA_IMPORTS = {"01_physics_you_can_trust.py": ("pyqg_jax", "jax")}


def test_tutorials_are_found():
    # Guards the glob: a renamed folder must not silently turn the notebook tests into no tests.
    assert [p.name for p in NOTEBOOKS] == ["01_physics_you_can_trust.py", "02_aphynity_reaction_diffusion.py",
                                          "03_real_ssh_to_currents.py", "04_learning_the_hidden_state.py"]


def test_notebooks_have_no_outputs_and_are_percent_scripts():
    # Diff-friendly sources: jupytext percent format, a python3 kernelspec, and nothing executed.
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name
        assert path.read_text().count("# %%") >= 5, path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    for module in EXTRA_IMPORTS.get(path.name, ()):
        pytest.importorskip(module)
    nb = jupytext.read(path)
    # First cell (added here, not in the notebook): the kernel must run this interpreter and
    # import the installed packages, not copies next to the working folder.
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import sys, physics, hybridocean\n"
        f"assert sys.prefix == {sys.prefix!r}, sys.prefix\n"
        f"assert physics.__file__ == {physics.__file__!r}, physics.__file__\n"
        f"assert hybridocean.__file__ == {hybridocean.__file__!r}, hybridocean.__file__"))
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
    )
    t0 = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - t0
    # the kernel ran this interpreter's environment, in the temporary folder, and wrote its figures there
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs, f"{path.name} wrote no figure into its working folder"
    assert not any((TUTORIALS / name).exists() for name in pngs), "a notebook wrote figures into tutorials/"
    print(f"{path.name}: {wall:.1f} s, figures {pngs}", file=sys.stderr)
