"""Fused right-hand-side kernels of the layered QG model (:mod:`physics.qg`).

Two discretisations of the same terms for fields ``(B, N, ny, nx)`` at corners:

* :func:`fd_rhs` -- finite differences: the fields are padded once (circular on periodic
  grids, zero ghosts on closed ones, as ``physics.operators.shift(..., ghost="zero")``) and every
  stencil neighbour is a view of the padded tensor. It returns the Arakawa Jacobian in a
  flux-grouped form (equal to :func:`physics.operators.arakawa_jacobian` to round-off --
  tested), centred x-derivatives and the five-point Laplacian without re-padding.
* :func:`spectral_terms` -- pseudo-spectral (periodic only): derivatives by FFT, products in
  physical space, advection in flux form ``J(psi, q) = d(u q)/dx + d(v q)/dy`` (the pyqg form),
  no dealiasing.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .grid import Grid
from .qg_stencil import get_plan, records_graph


def pad_corners(x: torch.Tensor, grid: Grid, width: int = 1) -> torch.Tensor:
    """Pad the last two dims of ``(B, N, ny, nx)`` by ``width``: periodic wrap or zero ghosts."""
    w = (width,) * 4
    return F.pad(x, w, mode="circular" if grid.periodic else "constant")


def _win(x: torch.Tensor, c0: int, nc: int, off: int, length: int) -> torch.Tensor:
    """``x[:, c0:c0 + nc, off:off + length]`` of a ``(B, C, L)`` tensor with unit last stride, as ONE
    ``as_strided`` (a narrow costs two view ops; this kernel takes ~25 windows per call)."""
    sb, sc, sl = x.stride()
    assert sl == 1
    return x.as_strided((x.shape[0], nc, length), (sb, sc, 1), x.storage_offset() + c0 * sc + off)


def _unflat(x: torch.Tensor, ny: int, nx: int) -> torch.Tensor:
    """Rows of length ``W = nx + 4`` (``(B, N, ny W)``, unit last stride) -> ``(B, N, ny, nx)``
    view without the two pad columns on each side."""
    W = nx + 4
    sb, sc, sl = x.stride()
    assert sl == 1
    return x.as_strided((x.shape[0], x.shape[1], ny, nx), (sb, sc, W, 1), x.storage_offset() + 2)


def _views(p: torch.Tensor) -> tuple:
    """``(c, e, w, n, s)`` neighbour views of a field padded by one."""
    return p[..., 1:-1, 1:-1], p[..., 1:-1, 2:], p[..., 1:-1, :-2], p[..., 2:, 1:-1], p[..., :-2, 1:-1]


Coef = Optional[torch.Tensor]


def fd_rhs(psi: torch.Tensor, q: torch.Tensor, grid: Grid, c_dpsi: Coef = None, c_dq: Coef = None,
           c_lap: Coef = None, need_lap: bool = False) -> tuple:
    """Finite-difference QG right-hand side at corners, fused (see :func:`_fd_rhs_impl`).

    On periodic grids under autograd it runs as one :class:`_PeriodicFDRHS` node whose backward
    is the exact discrete adjoint (two more Jacobians), instead of a graph of ~40 small ops.
    """
    tensors = [t for t in (psi, q, c_dpsi, c_dq, c_lap) if t is not None]
    if grid.periodic and torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        need_lap = need_lap or c_lap is not None
        rhs, lap = _PeriodicFDRHS.apply(psi, q, c_dpsi, c_dq, c_lap, grid, need_lap)
        return rhs, (lap if need_lap else None)
    return _fd_rhs_impl(psi, q, grid, c_dpsi, c_dq, c_lap, need_lap)


def _dx_lap(f: torch.Tensor, grid: Grid) -> tuple:
    """Centred ``d/dx`` and five-point Laplacian of a corner field (pad by one)."""
    c, e, w, n, s = _views(pad_corners(f, grid))
    return (e - w) * (0.5 / grid.dx), (e + w - 2 * c) * (1.0 / grid.dx**2) + (n + s - 2 * c) * (1.0 / grid.dy**2)


def _reduce_coef(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Sum a ``(B, N, ny, nx)`` product down to the shape of coefficient ``like``."""
    return x.sum(dim=(0, 2, 3)).reshape(like.shape)


class _PeriodicFDRHS(torch.autograd.Function):
    """``fd_rhs`` with a hand-written adjoint (periodic grids).

    With ``lam = d loss / d rhs`` and the Arakawa identity ``sum a J(b, c) = sum b J(c, a)``
    (exact on periodic grids: polarisation of ``sum a J(a, b) = sum b J(a, b) = 0``), and
    ``Dx^T = -Dx``, ``Lap^T = Lap``:

        d/dpsi = -J(q, lam) - c_dpsi Dx lam + Lap(c_lap lam + dloss/dlap)
        d/dq   =  J(psi, lam) - c_dq Dx lam
        d/dc   =  sum(lam * (Dx psi, Dx q, Lap psi)) over batch and space.
    """

    @staticmethod
    def forward(ctx, psi, q, c_dpsi, c_dq, c_lap, grid, need_lap):
        ctx.grid = grid
        ctx.save_for_backward(psi, q, c_dpsi, c_dq, c_lap)
        rhs, lap = _fd_rhs_impl(psi, q, grid, c_dpsi, c_dq, c_lap, need_lap=need_lap)
        return rhs, (lap if lap is not None else rhs.new_zeros(0))  # 0-size placeholder

    @staticmethod
    def backward(ctx, lam, g_lap):
        psi, q, c_dpsi, c_dq, c_lap = ctx.saved_tensors
        grid = ctx.grid
        g_psi, g_q = fd_rhs_vjp(psi, q, lam, grid, c_dpsi, c_dq, c_lap)
        if g_lap is not None and g_lap.numel():
            g_psi = g_psi + _dx_lap(g_lap, grid)[1]
        grads = [g_psi, g_q, None, None, None, None, None]
        need = ctx.needs_input_grad
        if need[2] or need[3] or need[4]:
            dxp, lapp = _dx_lap(psi, grid)
            dxq = _dx_lap(q, grid)[0]
            for k, (c, d) in enumerate(((c_dpsi, dxp), (c_dq, dxq), (c_lap, lapp)), start=2):
                if need[k]:
                    grads[k] = _reduce_coef(lam * d, c)
        return tuple(grads)


def fd_rhs_vjp(psi: torch.Tensor, q: torch.Tensor, lam: torch.Tensor, grid: Grid, c_dpsi: Coef = None,
               c_dq: Coef = None, c_lap: Coef = None) -> tuple:
    """Exact discrete adjoint of :func:`fd_rhs` on a periodic grid (the equations of
    :class:`_PeriodicFDRHS`): ``(d/dpsi, d/dq)`` of ``sum(lam * rhs)``, each ``(B, N, ny, nx)``.

    One fused stencil call on the ``3N`` channels ``[q, lam, psi]``, pairing ``a = [q, lam]`` with
    ``b = [lam, psi]`` (overlapping channel windows, ``lam`` padded and differenced once), gives
    ``-J(a, b) = [-J(q, lam), J(psi, lam)]`` plus ``Dx lam`` and ``Lap lam`` as by-products.
    """
    N = psi.shape[1]
    if records_graph(psi, q, lam):  # double backward: differentiable path
        jj, lap_a, dx_a = _fd_rhs_fields(torch.cat((q, lam, psi), 1), N, grid, need_lap=c_lap is not None,
                                         return_dpsi_dx=True)
    else:
        jj, lap_a, dx_a = get_plan((q, lam, psi), N, grid.periodic).run(
            (q, lam, psi), grid.dx, grid.dy, need_lap=c_lap is not None, return_dpsi_dx=True)
    g_psi, g_q = jj[:, :N], jj[:, N:]
    dx_lam = dx_a[:, N:]
    if c_dpsi is not None:
        g_psi = g_psi.addcmul_(c_dpsi, dx_lam, value=-1.0)
    if c_dq is not None:
        g_q = g_q.addcmul_(c_dq, dx_lam, value=-1.0)
    if c_lap is not None:
        g_psi = g_psi.addcmul_(c_lap, lap_a[:, N:])
    return g_psi, g_q


def _fd_rhs_impl(psi: torch.Tensor, q: torch.Tensor, grid: Grid, c_dpsi: Coef = None, c_dq: Coef = None,
                 c_lap: Coef = None, need_lap: bool = False, return_dpsi_dx: bool = False) -> tuple:
    """Finite-difference QG right-hand side at corners, fused.

    ``rhs = -J(psi, q) + c_dpsi * dpsi/dx + c_dq * dq/dx + c_lap * Lap psi`` with the Arakawa
    (1966) Jacobian ``J = (J++ + J+x + Jx+) / 3``, centred ``d/dx f = (f[i+1] - f[i-1]) / (2 dx)``
    and the five-point Laplacian; the coefficients broadcast against ``(B, N, 1, 1)``
    (e.g. ``c_dpsi = -Q_y``, ``c_dq = -U``, ``c_lap = -drag`` on the bottom layer).
    Ghosts: periodic wrap, or zero (``psi = q = 0`` on/behind walls).
    Returns ``(rhs, lap_psi)``; ``lap_psi`` is ``None`` unless ``c_lap`` or ``need_lap``.

    With ``a = psi``, ``b = q`` and the two-cell differences ``Dx f = f_e - f_w``,
    ``Dy f = f_n - f_s``, the three Arakawa stencils regroup exactly into

        12 dx dy J = (Dx a Dy b - Dy a Dx b)                 [J++]
                   + Dx(a Dy b) - Dy(a Dx b)                 [J+x]
                   + Dy(b Dx a) - Dx(b Dy a)                 [Jx+]

    (e.g. ``a_e (b_ne - b_se) - a_w (b_nw - b_sw) = Dx(a Dy b)``), ~20 array operations instead
    of ~40; ``psi`` and ``q`` are padded together by two cells so that every difference is a view.
    The coefficients must have ``N`` entries (shape ``(N, 1, 1)`` or ``(N,)``).
    """
    if not records_graph(psi, q, c_dpsi, c_dq, c_lap):  # preallocated plan, same arithmetic
        return get_plan((psi, q), psi.shape[1], grid.periodic).run(
            (psi, q), grid.dx, grid.dy, c_dpsi, c_dq, c_lap, need_lap, return_dpsi_dx)
    return _fd_rhs_fields(torch.cat((psi, q), 1), psi.shape[1], grid, c_dpsi, c_dq, c_lap, need_lap, return_dpsi_dx)


def _fd_rhs_fields(fields: torch.Tensor, b0: int, grid: Grid, c_dpsi: Coef = None, c_dq: Coef = None,
                   c_lap: Coef = None, need_lap: bool = False, return_dpsi_dx: bool = False) -> tuple:
    """:func:`_fd_rhs_impl` on stacked channels ``fields`` ``(B, C, ny, nx)``: ``a`` (psi) is channels
    ``0 .. C - b0 - 1`` and ``b`` (q) channels ``b0 .. C - 1`` (the windows may overlap); the outputs
    have ``N = C - b0`` channels. ``_fd_rhs_impl`` stacks ``[psi, q]`` (``b0 = N``)."""
    B, C, ny, nx = fields.shape
    N = C - b0
    W = nx + 4  # padded row length; fields are handled as flat rows of the padded array so that
    # every stencil neighbour is ONE contiguous narrow (offset +-1: e/w, +-W: n/s). Results in the
    # two pad columns of each row are junk (row wrap-around) and are cut off at the end.
    p = pad_corners(fields, grid, 2).flatten(-2)  # (B, C, (ny + 4) W)
    L1 = (ny + 2) * W  # region 1: padded rows 1 .. ny + 2
    L2 = ny * W  # region 2: padded rows 2 .. ny + 1 (the stored rows), offset W in region 1
    c = _win(p, 0, C, W, L1)
    dx = _win(p, 0, C, W + 1, L1) - _win(p, 0, C, W - 1, L1)
    dy = _win(p, 0, C, 2 * W, L1) - _win(p, 0, C, 0, L1)
    a1, b1 = _win(c, 0, N, 0, L1), _win(c, b0, N, 0, L1)
    # products fused with addcmul (x - y z in one pass), sums accumulated in place
    fx = torch.addcmul(a1 * _win(dy, b0, N, 0, L1), b1, _win(dy, 0, N, 0, L1), value=-1)  # a Dy b - b Dy a
    fy = torch.addcmul(b1 * _win(dx, 0, N, 0, L1), a1, _win(dx, b0, N, 0, L1), value=-1)  # b Dx a - a Dx b
    dxa_i, dxb_i = _win(dx, 0, N, W, L2), _win(dx, b0, N, W, L2)
    j12 = torch.addcmul(dxa_i * _win(dy, b0, N, W, L2), _win(dy, 0, N, W, L2), dxb_i, value=-1)
    j12 = j12.add_(_win(fx, 0, N, W + 1, L2)).sub_(_win(fx, 0, N, W - 1, L2))  # + Dx fx (fx differenced in x)
    j12 = j12.add_(_win(fy, 0, N, 2 * W, L2)).sub_(_win(fy, 0, N, 0, L2))  # + Dy fy
    rhs = j12.mul_(-1.0 / (12.0 * grid.dx * grid.dy))
    if c_dpsi is not None:
        rhs = rhs.addcmul_(c_dpsi.view(-1, 1) * (0.5 / grid.dx), dxa_i)
    if c_dq is not None:
        rhs = rhs.addcmul_(c_dq.view(-1, 1) * (0.5 / grid.dx), dxb_i)
    lap = None
    if c_lap is not None or need_lap:
        lap = torch.add((_win(p, 0, N, 2 * W + 1, L2) + _win(p, 0, N, 2 * W - 1, L2)) * (1.0 / grid.dx**2),
                        _win(p, 0, N, 3 * W, L2) + _win(p, 0, N, W, L2), alpha=1.0 / grid.dy**2)
        lap = lap.sub_(_win(p, 0, N, 2 * W, L2), alpha=2.0 / grid.dx**2 + 2.0 / grid.dy**2)
        if c_lap is not None:
            rhs = rhs.addcmul_(c_lap.view(-1, 1), lap)
        lap = _unflat(lap, ny, nx)
    rhs = _unflat(rhs, ny, nx).contiguous()
    if return_dpsi_dx:
        return rhs, lap, _unflat(dxa_i * (0.5 / grid.dx), ny, nx)
    return rhs, lap


def fd_laplacian(f: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Five-point Laplacian of a corner field with the ghosts of :func:`pad_corners`."""
    c, e, w, n, s = _views(pad_corners(f, grid))[:5]
    return (e + w - 2 * c) * (1.0 / grid.dx**2) + (n + s - 2 * c) * (1.0 / grid.dy**2)


def spectral_terms(psih: torch.Tensor, q: torch.Tensor, U: torch.Tensor, ik: torch.Tensor, il: torch.Tensor,
                   grid: Grid) -> torch.Tensor:
    """Pseudo-spectral advection ``-(d((u + U) q)/dx + d(v q)/dy)`` on the ``rfft2`` modes.

    ``psih`` ``(B, N, ny, nx//2+1)`` is the transformed streamfunction, ``q`` ``(B, N, ny, nx)``
    the PV in physical space, ``U`` ``(N, 1, 1)`` the background flow [m/s], ``ik``/``il`` the
    derivative symbols of :func:`physics.spectral.centered_derivative_symbols`. The velocity is
    ``u = -dpsi/dy``, ``v = dpsi/dx``. Returns the transformed tendency ``(B, N, ny, nx//2+1)``.
    """
    uvh = torch.stack((-il * psih, ik * psih))  # (2, B, N, ny, nk)
    u, v = torch.fft.irfft2(uvh, s=grid.shape)
    fluxh = torch.fft.rfft2(torch.stack(((u + U) * q, v * q)))
    return -(ik * fluxh[0] + il * fluxh[1])


class QGSpectralPath:
    """The pseudo-spectral tendency of :class:`physics.qg.QG` (``spectral=True``), a mixin: it uses
    the model's ``layer_inverse``, ``ik``, ``il``, ``k2``, ``U``, ``modes``, parameters and grid."""

    def _layer_inverse_complex(self) -> torch.Tensor:
        """``layer_inverse`` as a complex tensor with zero imaginary part, cached (a real x complex
        product would convert ``M`` on every call; the product is the same number exactly)."""
        M = self.layer_inverse
        key = (M.data_ptr(), M.dtype, M.device, M._version)
        if getattr(self, "_Mc_key", None) != key:
            self._Mc = M.to(torch.promote_types(M.dtype, torch.complex64))
            self._Mc_key = key
        return self._Mc

    def _spectral_linear(self) -> torch.Tensor:
        """Multiplier ``L`` (complex, ``(N, ny, nx//2+1)``) of the linear terms on ``psi^``:
        ``-i k Q_y - drag k^2 [bottom] + nu k^4 + nu4 k^6`` (``zeta^ = -k^2 psi^``)."""
        if self._lin_cached:
            return self.spectral_lin
        lin = -self.ik * self._background_gradient()
        if "drag" in self._active:
            lin = lin + self.p("drag") * self.drag_layers * self.k2  # -drag zeta
        if "nu" in self._active:
            lin = lin + self.p("nu") * self.k2**2  # nu Lap zeta
        if "nu4" in self._active:
            lin = lin + self.p("nu4") * self.k2**3  # -nu4 Lap^2 zeta
        return lin

    def _rhs_spectral(self, q: torch.Tensor) -> torch.Tensor:
        qh = torch.fft.rfft2(q)
        if self.modes is None:
            psih = qh * self._multiplier()
        else:  # psi^_i = sum_j M_ij q^_j with M = P diag(1 / (lambda - kappa_m^2)) P^-1 per wavenumber
            psih = (self._layer_inverse_complex() * qh.unsqueeze(1)).sum(2)
        dqh = spectral_terms(psih, q, self.U, self.ik, self.il, self.grid) + self._spectral_linear() * psih
        dq = torch.fft.irfft2(dqh, s=self.grid.shape)
        if "tau0" in self._active:
            dq = dq + self.p("tau0") * self.wind_shape
        return dq


__all__ = ["pad_corners", "fd_rhs", "fd_rhs_vjp", "fd_laplacian", "spectral_terms", "QGSpectralPath"]
