"""The ``|F_a|`` vs ``|F_p|`` report of a trained learned estimator (the incomplete-prior check).

APHYNITY (Yin, Le Guen et al., ICLR 2021) minimises ``||F_a||`` so that the physical model
``F_p`` explains all it can; how much the network still adds measures how incomplete the prior
is. Over the forecast states ``X`` of the given observation windows (encoded, then integrated
over the horizon by the trained dynamics), for each state channel ``c``::

    rms_p[c] = sqrt(mean_{n, k, points} F_p(X_{n,k})_c^2),   rms_a[c] likewise with F_a,
    ratio[c] = rms_a[c] / rms_p[c]      (dimensionless; inf where F_p vanishes, nan without F_p)

in the state's units per second (QG: PV [1/s^2]; shallow water: eta [m/s], u, v [m/s^2]).
"""
from __future__ import annotations

from typing import Any, Dict

import math

import torch

from .obs_training import ObservationWindows


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


__all__ = ["dynamics_report"]
