"""The ``hybridocean`` command.

``hybridocean demo --out DIR``   runs the mission (see :mod:`hybridocean.mission`): a hidden
shallow-water twin observed by SWOT and nadir altimeters, mapped by OI, geostrophy and the
learned estimator, scored; writes CF netCDF files, PNG maps and ``metrics.json`` into ``DIR``
and prints the score table. ``--physics`` runs the physics checks instead
(:mod:`hybridocean.demo_physics`, JSON summary printed).
``hybridocean info``             prints versions and the available devices.
``hybridocean --version``        prints the version.

Errors
------
A problem with what the user asked for -- an option argparse rejects, an ``--out`` that cannot
be written, an unknown or unavailable ``--device``, ``--threads`` < 1, or a ``ValueError`` /
``TypeError`` / ``OSError`` raised by the library from a user-supplied value -- prints ONE line
``hybridocean: error: <message>`` to stderr and exits with status 2 (argparse's convention), with
no traceback. ``--traceback`` (before the subcommand) re-raises instead, for debugging. Other
exceptions are bugs and propagate with their traceback.

Adding a subcommand
-------------------
A subcommand is a module (or any object) providing two functions::

    def add_parser(subparsers) -> argparse.ArgumentParser:
        p = subparsers.add_parser("observe", help="...", description="...")
        p.add_argument("--out", required=True, help="...")
        return p

    def run(args: argparse.Namespace) -> int:     # the exit status, 0 on success
        out = output_file(args.out)                # hybridocean.cli helpers: UserError on bad input
        ...

and is registered by adding its module path to :data:`SUBCOMMANDS` (one line). The module is
imported when the parser is built, so keep its top-level imports light (import ``torch`` and
the heavy modules inside ``run``): ``hybridocean --help`` and ``--version`` stay fast. In
``run``, raise :class:`UserError` (or let the library's ``ValueError``/``TypeError`` through) for
bad input; use :func:`output_dir`, :func:`output_file`, :func:`torch_device` and
:func:`positive_int` to validate the usual options the same way in every subcommand.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, NoReturn, Optional, Sequence

import hybridocean

PROG = "hybridocean"

#: Exit status of every user error (argparse's own convention for usage errors).
EXIT_USER_ERROR = 2

#: The subcommands, in ``--help`` order: module paths (imported when the parser is built) or
#: objects, each providing ``add_parser(subparsers) -> ArgumentParser`` and ``run(args) -> int``.
#: Add a line here to register a new one (see the module docstring).
SUBCOMMANDS: tuple = (
    "hybridocean.cli:Demo",
    "hybridocean.cli:Info",
    "hybridocean.observations.cli",
    "hybridocean.estimation.cli:Estimate",
    "hybridocean.estimation.cli_train:TrainEstimator",
    "hybridocean.estimation.cli_evaluate:Evaluate",
)


class UserError(Exception):
    """Bad input from the user: :func:`main` prints it as one ``hybridocean: error:`` line, exit 2."""


class _UsageError(Exception):
    """An argparse error, raised instead of argparse's print-usage-and-exit."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage block) and reach :func:`main`.

    ``add_subparsers`` builds the subparsers with the parent's class, so they behave alike.
    """

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        raise _UsageError(message + hint)


def one_line(exc: BaseException) -> str:
    """``str(exc)`` on one line (lines joined with ``"; "``), or the exception's type name if empty.

    An ``OSError`` reads ``"<strerror>: '<filename>'"`` (no ``[Errno N]`` prefix).
    """
    text = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {str(exc.filename)!r}" if exc.filename is not None else "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines) if lines else type(exc).__name__


# ------------------------------------------------------------------ validation helpers
def positive_int(text: str) -> int:
    """argparse ``type=`` for counts such as ``--threads``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _writable_ancestor(path: Path, option: str) -> Path:
    """The nearest existing ancestor of ``path``; ``UserError`` unless it is a writable folder."""
    anc = path.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise UserError(f"{option} {str(path)!r}: {str(anc)!r} is not a directory")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UserError(f"{option} {str(path)!r}: {str(anc)!r} is not writable")
    return anc


def output_dir(path: str, option: str = "--out") -> Path:
    """Check (and create) the output folder ``path`` of a subcommand; returns it as a ``Path``.

    ``UserError`` naming ``option`` if ``path`` exists and is not a folder, lies under a file,
    is not writable or cannot be created.
    """
    out = Path(path).expanduser()
    if out.exists():
        if not out.is_dir():
            raise UserError(f"{option} {path!r} exists and is not a directory")
        if not os.access(out, os.W_OK | os.X_OK):
            raise UserError(f"{option} {path!r} is not writable")
        return out
    _writable_ancestor(out, option)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{option} {path!r} cannot be created: {e.strerror or one_line(e)}") from None
    return out


def output_file(path: str, option: str = "--out", inputs: Optional[Dict[str, Optional[str]]] = None) -> Path:
    """Check the output file ``path`` of a subcommand (its folder is created by the writer).

    ``UserError`` naming ``option`` if ``path`` is an existing folder, lies under a file, its
    nearest existing folder is not writable, or it is the same file as one of ``inputs``
    (``{option: path or None}``, e.g. ``{"--obs": args.obs}``: writing would destroy that input).
    """
    out = Path(path).expanduser()
    for name, given in (inputs or {}).items():
        if given is not None and _same_file(out, Path(given).expanduser()):
            raise UserError(f"{option} {path!r} is the {name} input file: give another output name")
    if out.is_dir():
        raise UserError(f"{option} {path!r} is a directory; give a file name")
    if out.exists() and not os.access(out, os.W_OK):
        raise UserError(f"{option} {path!r} exists and is not writable")
    _writable_ancestor(out, option)
    return out


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (the same inode if both exist, else the same resolved path)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def torch_device(spec: str, option: str = "--device") -> Any:
    """The ``torch.device`` of ``spec`` after checking that it exists on this machine.

    ``UserError`` naming ``option`` for a string torch does not parse (valid: ``cpu``, ``cuda``,
    ``cuda:N``, ``mps``, ...), for CUDA without a CUDA-enabled torch or GPU, for ``cuda:N`` with
    ``N`` >= the number of GPUs, and for a device type torch cannot allocate on.
    """
    import torch

    try:
        dev = torch.device(spec)
    except (RuntimeError, TypeError, ValueError):
        raise UserError(f"{option} {spec!r} is not a torch device (e.g. cpu, cuda, cuda:0, mps)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "torch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise UserError(f"{option} {spec!r}: CUDA is not available ({why}); use --device cpu")
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise UserError(f"{option} {spec!r}: only {n} CUDA device(s) (cuda:0..cuda:{n - 1})")
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise UserError(f"{option} {spec!r}: the MPS (Apple GPU) backend is not available; use --device cpu")
    elif dev.type != "cpu":
        try:
            torch.empty(0, device=dev)
        except (RuntimeError, AssertionError) as e:
            raise UserError(f"{option} {spec!r} is not usable here: {one_line(e)}") from None
    return dev


# ------------------------------------------------------------------ built-in subcommands
class Demo:
    """``hybridocean demo``: the mission, or the physics checks (:func:`hybridocean.demo.run_demo`)."""

    @staticmethod
    def add_parser(subparsers) -> argparse.ArgumentParser:
        """Register ``demo`` and its options."""
        d = subparsers.add_parser(
            "demo", help="run the mission (twin truth -> SWOT/nadir observations -> OI, learned estimator -> scores)",
            description="Run the mission: simulate a hidden shallow-water ocean, observe its SSH along SWOT swaths "
                        "and nadir tracks, estimate SSH and currents with OI, geostrophy and the learned estimator, "
                        "score them against the truth and print the table. --physics runs the physics checks instead.")
        d.add_argument("--out", default="results/demo", help="output folder (created; default results/demo)")
        d.add_argument("--device", default="cpu",
                       help="torch device (default cpu); the mission runs on the CPU only, --physics also on "
                            "e.g. cuda, cuda:1")
        d.add_argument("--threads", type=positive_int, default=1,
                       help="torch CPU threads, >= 1 (default 1: these small grids are bound by per-op "
                            "overhead, and extra threads only contend)")
        d.add_argument("--quick", action="store_true", help="a much shorter run (for tests)")
        d.add_argument("--physics", action="store_true",
                       help="run the physics checks (geostrophic adjustment, baroclinic instability) instead")
        return d

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        """Validate ``--out``/``--device``, set the threads, run the demo; print the mission's progress
        and score table, or the physics checks' JSON summary."""
        device = torch_device(args.device)  # before output_dir, which creates the folder
        if not args.physics and device.type != "cpu":  # refused here, before the folder is created
            raise UserError(f"--device {args.device!r}: the mission runs on the CPU only (float64 truth, OI and "
                            "training); use --device cpu, or --physics for the physics checks on this device")
        out = output_dir(args.out)
        import torch

        from .demo import run_demo

        torch.set_num_threads(args.threads)
        if args.physics:
            print(json.dumps(run_demo(out, device=device, quick=args.quick, physics=True), indent=2))
            return 0
        summary = run_demo(out, device=device, quick=args.quick, physics=False, log=lambda s: print(s, flush=True))
        print(summary["table"])
        print(f"wrote {len(summary['files'])} files to {out} in {summary['wall_s']:.0f} s")
        return 0


class Info:
    """``hybridocean info``: versions, threads and devices as JSON."""

    @staticmethod
    def add_parser(subparsers) -> argparse.ArgumentParser:
        """Register ``info``."""
        return subparsers.add_parser("info", help="print versions and devices",
                                     description="Print versions, CPU threads and the available devices (JSON).")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        """Print the JSON summary; returns 0."""
        import torch

        print(json.dumps({
            "hybridocean": hybridocean.__version__,
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "cuda": torch.cuda.is_available(),
            "cuda_devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
            "threads": torch.get_num_threads(),
        }, indent=2))
        return 0


# ------------------------------------------------------------------ parser and entry point
def _resolve(entry: Any) -> Any:
    """A :data:`SUBCOMMANDS` entry -> the object with ``add_parser``/``run`` (``"module:attr"`` ok)."""
    if not isinstance(entry, str):
        return entry
    module, _, attr = entry.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attr) if attr else obj


def build_parser(subcommands: Optional[Sequence[Any]] = None) -> argparse.ArgumentParser:
    """The ``hybridocean`` parser with every subcommand of ``subcommands`` (default
    :data:`SUBCOMMANDS`) registered.

    Each subparser gets ``set_defaults(_run=entry.run)``, which :func:`main` dispatches to.
    """
    p = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"{PROG} {hybridocean.__version__}")
    p.add_argument("--traceback", action="store_true", help="show the full traceback of an error (debugging)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for entry in SUBCOMMANDS if subcommands is None else subcommands:
        obj = _resolve(entry)
        sp = obj.add_parser(sub)
        sp.set_defaults(_run=obj.run)
    return p


def _leading_options(argv: Sequence[str]) -> list:
    """The options before the subcommand (the first token not starting with ``-``)."""
    out = []
    for tok in argv:
        if not tok.startswith("-"):
            break
        out.append(tok)
    return out


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``hybridocean`` console script; returns the exit status.

    0 on success, :data:`EXIT_USER_ERROR` (2) after a one-line error for bad input, the code
    of ``--help``/``--version`` (0), 130 on Ctrl-C. Bugs propagate as exceptions.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--version" in _leading_options(argv):  # answered before importing any subcommand module
        print(f"{PROG} {hybridocean.__version__}")
        return 0
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except _UsageError as e:
        return _fail(str(e))
    except SystemExit as e:  # --help / --version print and exit: hand back their status
        return e.code if isinstance(e.code, int) else 0
    try:
        return int(args._run(args) or 0)
    except (UserError, ValueError, TypeError, OSError) as e:
        if args.traceback:
            raise
        return _fail(one_line(e))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    # ``python -m hybridocean.cli``: run the canonical module, not this ``__main__`` copy, so that
    # the subcommand entries "hybridocean.cli:Demo" and UserError are the same objects
    from hybridocean.cli import main as _main

    sys.exit(_main())
