"""The ``|F_a|`` vs ``|F_p|`` report of a trained learned estimator (the incomplete-prior check).

APHYNITY (Yin, Le Guen et al., ICLR 2021) minimises ``||F_a||`` so that the physical model
``F_p`` explains all it can; how much the network still adds measures how incomplete the prior
is. Over the forecast states ``X`` of the given observation windows (encoded, then integrated
over the horizon by the trained dynamics), for each state channel ``c``::

    rms_p[c] = sqrt(mean_{n, k, points} F_p(X_{n,k})_c^2),   rms_a[c] likewise with F_a,
    ratio[c] = rms_a[c] / rms_p[c]      (dimensionless; inf where F_p vanishes, nan without F_p)

in the state's units per second (QG: PV [1/s^2]; shallow water: eta [m/s], u, v [m/s^2]).

Also the estimator's output SSH (:func:`output_ssh`, option ``output``): ``"state"``, the SSH
``H(X)`` of the (ensemble-mean) state; ``"encoder"``, the encoder's own SSH map ``s z_0`` at the
state time (with a first guess: first guess + learned correction). They differ only for a QG
state, whose map ``H(S(eta))`` (SSH -> PV -> streamfunction with ``psi = 0`` on the walls -> SSH)
reshapes the map near walls and at the grid scale; for shallow water and the neural dynamics the
state's SSH channel *is* ``s z_0``.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import torch

from physics.operators import velocity_from_psi
from physics.qg import QG

from .fourdvar_models import faces_to_centres
from .learned_first_guess import first_guess_frames
from .obs_training import (ObservationWindows, QGStateMap, build_windows, ensemble_forecasts, ensemble_mean,
                           frame_spacing, gridded_view)

#: the values of the learned estimator's ``output`` option (module docstring)
OUTPUTS = ("encoder", "state")


def resolve_output(output: Optional[str], qg: bool) -> str:
    """``output`` checked; ``None`` -> ``"encoder"`` for a QG state (``qg``), else ``"state"``."""
    if output is None:
        return "encoder" if qg else "state"
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS} or None (default by physics), got {output!r}")
    return output


@torch.no_grad()
def output_ssh(est, x: torch.Tensor, z: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``(ssh (T, ny, nx) [m] float64 CPU, states)`` of the encoded states ``x`` ``(T, C, ny, nx)``
    and encoder outputs ``z`` (``est.output``, module docstring). ``"state"`` (or any non-QG
    state): ``ssh = H(Xbar_k)`` of the ensemble mean ``Xbar`` (:func:`~.obs_training.ensemble_mean`),
    ``states = Xbar``. ``"encoder"`` with a QG state: ``ssh_k = (s z_0[k] + sum_{j=1}^{n_k-1}
    H(Phi_{j dt}(X_{k-j}))) / n_k``, ``n_k = min(M, k + 1)`` (``M = ensemble``; the encoder's map
    alone for ``M = 1``), ``states = None`` (the caller takes the geostrophic currents of ``ssh``)."""
    tr, T = est.trainer, x.shape[0]
    if est.output == "state" or not isinstance(est.state_map, QGStateMap):
        states = ensemble_mean(tr, x, est.dt, est.ensemble)
        return est.state_map.observe(states).to(torch.float64).cpu(), states
    ssh = est.scale * z[:, 0]
    M = min(est.ensemble, T)
    if M > 1:
        fc = ensemble_forecasts(tr, x, est.dt, M)
        ssh, count = ssh.clone(), torch.ones(T, dtype=ssh.dtype, device=ssh.device)
        for j in range(1, M):
            ssh[j:] += est.state_map.observe(fc[: T - j, j])
            count[j:] += 1
        ssh = ssh / count.view(-1, 1, 1)
    return ssh.to(torch.float64).cpu(), None


@torch.no_grad()
def dynamics_report(est, data: ObservationWindows) -> Dict[str, Any]:
    """The report of the module docstring over ``data`` (windows of :func:`~.obs_training.build_windows`).

    Returns ``{"mode", "channels", "rms_fp", "rms_fa", "ratio"`` (lists per channel),
    ``"ratio_total"`` (``sqrt(sum_c mean F_a^2 / sum_c mean F_p^2)`` over channels in units of
    each channel's ``rms_p``, i.e. the mean of ``ratio^2`` weighted equally), ``"n_states"``,
    ``"physical_parameters"`` (physical units), ``"lambda"``, ``"fa_norm2_last"``,
    ``"best_val_mse"``}.
    """
    tr = est.trainer
    task = tr.task
    data = task.prepare(tr, data, "data")
    model = tr.model
    C = est.state_channels
    sp, sa, n = torch.zeros(C, dtype=torch.float64), torch.zeros(C, dtype=torch.float64), 0
    for k in range(0, len(data), tr.config.eval_batch_size):
        b = data.subset(slice(k, k + tr.config.eval_batch_size))
        _, states, _ = task.forecast(tr, b, grad=False)
        x = states.flatten(0, 1)
        t0 = x.new_zeros(())
        fp, fa = model.physics_term(t0, x), model.augmentation(t0, x)
        sp += fp.pow(2).sum(dim=(0, 2, 3)).to(torch.float64).cpu()
        sa += fa.pow(2).sum(dim=(0, 2, 3)).to(torch.float64).cpu()
        n += x.shape[0] * x.shape[2] * x.shape[3]
    rp, ra = (sp / n).sqrt(), (sa / n).sqrt()
    if est.physics is None:
        ratio = [math.nan] * C
        total = math.nan
    else:
        ratio = [float(a / p) if p > 0 else (math.inf if a > 0 else 0.0) for a, p in zip(ra, rp)]
        finite = [r for r in ratio if math.isfinite(r)]
        total = math.sqrt(sum(r * r for r in finite) / len(finite)) if finite else math.inf
    names = list(getattr(est.physics, "CHANNELS", ())) or [f"c{c}" for c in range(C)]
    if len(names) != C:
        names = [f"q{c + 1}" for c in range(C)]
    h = tr.history
    return {"mode": model.mode, "channels": names, "rms_fp": rp.tolist(), "rms_fa": ra.tolist(), "ratio": ratio,
            "ratio_total": total, "n_states": int(n // (data.features.shape[-1] * data.features.shape[-2])),
            "physical_parameters": model.physical_parameters(), "lambda": float(tr.lam),
            "fa_norm2_last": h.fa_norm2[-1] if h.fa_norm2 else None, "best_val_mse": h.best_val_mse}


def observation_misfit(est, obs, times=None, inputs=None, first_guess_maps=None) -> float:
    """Masked dimensionless misfit ``sum m (H(X) - y)^2 / (s^2 sum m)`` of ``obs`` over the
    forecast windows of the trained ``est``, encoded from ``inputs`` (default ``obs``) on the same
    frames; the first guess (if any) from ``inputs`` or the precomputed ``first_guess_maps``."""
    est._require_fit()
    target, _, t = gridded_view(obs, est.grid, times, "obs")
    src = target if inputs is None else gridded_view(inputs, est.grid, t, "inputs")[0]
    fg = first_guess_frames(est.first_guess, first_guess_maps, obs if inputs is None else inputs, est.grid, t,
                            "first_guess_maps", est.first_guess_seconds)
    data = build_windows(src, target, est.window, est.horizon, frame_spacing(t, "times"), est.scale,
                         lookahead=est.lookahead, first_guess=fg)
    tr = est.trainer
    return tr.task.validation_loss(tr, tr.task.prepare(tr, data, "obs"))


def report_over(est, obs=None, times=None, first_guess_maps=None) -> Dict[str, Any]:
    """:func:`dynamics_report` of ``est`` over the windows of ``obs`` on ``times`` (default: the
    training windows of its ``fit``; ``ValueError`` after a load, which keeps none)."""
    est._require_fit()
    if obs is None:
        if est._train_windows is None:
            raise ValueError("obs: required (this estimator was loaded, its training data is not kept)")
        return dynamics_report(est, est._train_windows)
    view, _, t = gridded_view(obs, est.grid, times, "obs")
    if abs(frame_spacing(t, "times") - est.dt) > 1e-6 * est.dt:
        raise ValueError(f"times must be spaced by the training dt = {est.dt} s")
    fg = first_guess_frames(est.first_guess, first_guess_maps, obs, est.grid, t, "first_guess_maps",
                            est.first_guess_seconds)
    data = build_windows(view, view, est.window, est.horizon, est.dt, est.scale, lookahead=est.lookahead,
                         first_guess=fg)
    return dynamics_report(est, data)


@torch.no_grad()
def state_velocities(est, states: torch.Tensor, at: str = "center") -> Tuple[torch.Tensor, torch.Tensor]:
    """The states' own velocities ``(u, v)`` ``(T, ny, nx)`` [m/s], float64 CPU: shallow water's
    ``u, v`` channels, or the QG streamfunction's ``u = -dpsi/dy``, ``v = dpsi/dx`` (first
    layer; geostrophic by construction); on the C-grid faces (``at="uv"``) or averaged to the
    centres (``at="center"``, :func:`~.fourdvar_models.faces_to_centres`)."""
    if not est.state_velocities:
        raise ValueError("state_currents: this estimator's state has no velocities (neural latent channels)")
    if at not in ("center", "uv"):
        raise ValueError(f"at must be 'center' or 'uv', got {at!r}")
    if isinstance(est.physics, QG):
        u, v = velocity_from_psi(est.physics.streamfunction(states)[:, 0], est.grid)  # C-grid faces
    else:
        u, v = states[:, 1], states[:, 2]
    u, v = u.to(torch.float64).cpu(), v.to(torch.float64).cpu()
    return faces_to_centres(u, v, est.grid) if at == "center" else (u, v)


__all__ = ["OUTPUTS", "dynamics_report", "observation_misfit", "output_ssh", "report_over", "resolve_output", "state_velocities"]
