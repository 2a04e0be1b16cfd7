"""The ``hybridocean`` command: one-line user errors with exit status 2, ``--version``, the
subcommand registry. In process (``main([...])``) and end to end (a subprocess).

Every user-error case is rejected before any simulation starts, so each runs in milliseconds
in process (the subprocess cases pay one Python + torch start-up each).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hybridocean
from hybridocean import cli

REPO = Path(__file__).resolve().parents[2]


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hybridocean: error: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture
def no_demo(monkeypatch):
    """Make the demo itself fail loudly if a rejected command ever reached it."""
    import hybridocean.demo

    def ran(*a, **k):
        raise AssertionError("run_demo must not be called for bad input")

    monkeypatch.setattr(hybridocean.demo, "run_demo", ran)


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"hybridocean {hybridocean.__version__}\n"


def _user_error_cases(tmp_path: Path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (["demo", "--threads", "0"], "--threads: must be an integer >= 1, got '0'"),
        (["demo", "--threads", "-1"], "--threads: must be an integer >= 1, got '-1'"),
        (["demo", "--threads", "two"], "--threads: must be an integer >= 1"),
        (["demo", "--device", "gpu0"], "--device 'gpu0' is not a torch device"),
        (["demo", "--out", str(a_file)], "exists and is not a directory"),
        (["demo", "--out", str(a_file / "sub" / "dir")], "is not a directory"),
        (["demo", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
        ([], "the following arguments are required: COMMAND"),
    ]
    import torch

    if torch.cuda.is_available():
        cases.append((["demo", "--device", "cuda:999"], "CUDA device(s)"))
    else:
        cases.append((["demo", "--device", "cuda"], "CUDA is not available"))
    return cases


def test_user_errors_are_one_line_with_status_2(tmp_path, capsys, no_demo):
    for argv, expected in _user_error_cases(tmp_path):
        assert cli.main(argv) == cli.EXIT_USER_ERROR == 2, argv
        captured = capsys.readouterr()
        assert expected in _one_error_line(captured.err), (argv, captured.err)
        assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]  # nothing was created


def test_mission_refuses_a_non_cpu_device_before_creating_the_folder(tmp_path, capsys, no_demo):
    """``meta`` is a device torch allocates on, so only the mission's CPU-only rule can refuse it:
    a one-line error naming ``--device``, and no output folder left behind."""
    assert cli.main(["demo", "--device", "meta", "--out", str(tmp_path / "o")]) == 2
    assert "--device 'meta': the mission runs on the CPU only" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere; needs POSIX modes")
def test_unwritable_out(tmp_path, capsys, no_demo):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        for out in (locked, locked / "new"):
            assert cli.main(["demo", "--out", str(out)]) == 2
            assert "is not writable" in _one_error_line(capsys.readouterr().err)
    finally:
        locked.chmod(0o700)


def test_errors_from_the_library_reach_the_user_as_one_line(monkeypatch, tmp_path, capsys):
    import hybridocean.demo

    for exc, shown in ((ValueError("H must be > 0, got -1.0\n  (layer 2)"), "H must be > 0, got -1.0; (layer 2)"),
                       (TypeError("f0 must be a real number"), "f0 must be a real number"),
                       (PermissionError(13, "Permission denied", "x.nc"), "Permission denied: 'x.nc'")):
        monkeypatch.setattr(hybridocean.demo, "run_demo", lambda *a, _e=exc, **k: (_ for _ in ()).throw(_e))
        assert cli.main(["demo", "--out", str(tmp_path / "o")]) == 2
        assert _one_error_line(capsys.readouterr().err) == f"hybridocean: error: {shown}"


def test_bugs_still_raise_and_traceback_flag_reraises(monkeypatch, tmp_path):
    import hybridocean.demo

    monkeypatch.setattr(hybridocean.demo, "run_demo", lambda *a, **k: (_ for _ in ()).throw(KeyError("bug")))
    with pytest.raises(KeyError, match="bug"):
        cli.main(["demo", "--out", str(tmp_path / "o")])
    monkeypatch.setattr(hybridocean.demo, "run_demo", lambda *a, **k: (_ for _ in ()).throw(ValueError("why")))
    with pytest.raises(ValueError, match="why"):
        cli.main(["--traceback", "demo", "--out", str(tmp_path / "o")])


def test_demo_gets_checked_device_threads_and_folder(monkeypatch, tmp_path, capsys):
    import torch

    import hybridocean.demo

    seen = {}

    def fake(out, device, quick, physics, log=None):
        seen.update(out=out, device=device, quick=quick, physics=physics, threads=torch.get_num_threads())
        return {"ok": True}

    monkeypatch.setattr(hybridocean.demo, "run_demo", fake)
    threads = torch.get_num_threads()
    try:
        assert cli.main(["demo", "--out", str(tmp_path / "new" / "dir"), "--threads", "2", "--quick", "--physics"]) == 0
    finally:
        torch.set_num_threads(threads)
    assert seen == {"out": tmp_path / "new" / "dir", "device": torch.device("cpu"), "quick": True, "physics": True,
                    "threads": 2}
    assert (tmp_path / "new" / "dir").is_dir() and json.loads(capsys.readouterr().out) == {"ok": True}


def test_demo_mission_prints_the_table(monkeypatch, tmp_path, capsys):
    """Without --physics the mission runs (physics=False), its progress lines go through ``log``
    and its score table is printed."""
    import hybridocean.demo

    def fake(out, device, quick, physics, log=None):
        assert physics is False and quick is False
        log("progress line")
        return {"table": "method  mu\nOI  0.9", "files": ["a", "b"], "wall_s": 1.0}

    monkeypatch.setattr(hybridocean.demo, "run_demo", fake)
    assert cli.main(["demo", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == ["progress line", "method  mu", "OI  0.9"] and "wrote 2 files" in out


def test_info(capsys):
    assert cli.main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["hybridocean"] == hybridocean.__version__ and info["threads"] >= 1


def test_subcommand_registry(monkeypatch, capsys):
    """A new subcommand is one SUBCOMMANDS entry providing add_parser(subparsers) and run(args)."""

    class Echo:
        @staticmethod
        def add_parser(subparsers):
            p = subparsers.add_parser("echo", help="test")
            p.add_argument("--n", type=cli.positive_int, required=True)
            return p

        @staticmethod
        def run(args):
            if args.n == 3:
                raise cli.UserError("--n 3 is unlucky")
            print(args.n)
            return 0

    monkeypatch.setattr(cli, "SUBCOMMANDS", cli.SUBCOMMANDS + (Echo,))
    assert cli.main(["echo", "--n", "5"]) == 0 and capsys.readouterr().out == "5\n"
    assert cli.main(["echo", "--n", "3"]) == 2
    assert _one_error_line(capsys.readouterr().err) == "hybridocean: error: --n 3 is unlucky"
    assert cli.main(["echo", "--n", "0"]) == 2
    assert "argument --n: must be an integer >= 1" in _one_error_line(capsys.readouterr().err)
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("demo", "info", "echo"))


def test_output_file_helper(tmp_path):
    assert cli.output_file(str(tmp_path / "new" / "x.nc")) == tmp_path / "new" / "x.nc"
    with pytest.raises(cli.UserError, match="is a directory"):
        cli.output_file(str(tmp_path))
    (tmp_path / "f").write_text("")
    with pytest.raises(cli.UserError, match="is not a directory"):
        cli.output_file(str(tmp_path / "f" / "x.nc"), option="--obs")


def _run(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "hybridocean.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # three interpreter start-ups with torch: ~4 s each on a loaded 2-core host
def test_end_to_end_subprocess(tmp_path):
    r = _run("--version")
    assert (r.returncode, r.stdout, r.stderr) == (0, f"hybridocean {hybridocean.__version__}\n", "")
    (tmp_path / "f").write_text("")
    for args, expected in ((("demo", "--threads", "0"), "--threads: must be an integer >= 1"),
                           (("demo", "--out", str(tmp_path / "f" / "out")), "is not a directory")):
        r = _run(*args)
        assert r.returncode == 2 and r.stdout == "", (args, r)
        assert expected in _one_error_line(r.stderr)
