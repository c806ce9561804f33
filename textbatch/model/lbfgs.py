"""L-BFGS with a strong-Wolfe line search, in numpy (float32), for the nbsvm fit without torch.

A line-by-line port of torch.optim.LBFGS (PyTorch, BSD-3-Clause; itself ported from Lua
torch's optim `lbfgs.lua` and `lswolfe.lua`), with the same defaults and the same state kept
between `step` calls (the curvature history carries over from one epoch to the next), so the
fit follows the path the torch version did. The parameters are one flat float32 array; the
objective returns (loss, gradient) at a point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _cubic_interpolate(
    x1: float, f1: float, g1: float, x2: float, f2: float, g2: float, bounds=None
) -> float:
    xmin_bound, xmax_bound = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def max_abs(v: np.ndarray) -> float:
    """The largest |v_i| (BLAS i?amax: no temporary array)."""
    if not len(v):
        return 0.0
    return abs(float(v[_blas("i{}amax", v)(v)]))


def _axpy(x: np.ndarray, y: np.ndarray, a: float) -> np.ndarray:
    """y += a * x in place (BLAS ?axpy), returned."""
    return _blas("{}axpy", y)(x, y, a=a)


def _blas(name: str, v: np.ndarray) -> Any:
    from scipy.linalg import blas  # scipy: a dependency of the CPU families' training

    return getattr(blas, name.format("s" if v.dtype == np.float32 else "d"))


def _strong_wolfe(obj, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    d_norm = max_abs(d)
    f_new, g_new = obj(x, t, d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        tmp = t
        t = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = (
                    max(bracket) - eps
                    if abs(t - max(bracket)) < abs(t - min(bracket))
                    else (min(bracket) + eps)
                )
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS:
    """torch.optim.LBFGS(lr=1, max_iter, history_size, line_search_fn="strong_wolfe")."""

    def __init__(
        self,
        x: np.ndarray,
        *,
        max_iter: int = 20,
        history_size: int = 100,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
    ) -> None:
        self.x = x
        self.max_iter, self.max_eval = max_iter, max_iter * 5 // 4
        self.history_size = history_size
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.n_iter = 0
        self.d: np.ndarray | None = None
        self.t = 0.0
        self.old_dirs: list[np.ndarray] = []
        self.old_stps: list[np.ndarray] = []
        self.ro: list[float] = []
        self.h_diag = 1.0
        self.prev_flat_grad: np.ndarray | None = None

    def step(self, objective: Objective) -> float:
        loss, flat_grad = objective(self.x)
        current_evals = 1
        if max_abs(flat_grad) <= self.tolerance_grad:
            return loss
        d, t = self.d, self.t
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            self.n_iter += 1
            if self.n_iter == 1:
                d = -flat_grad
                self.old_dirs, self.old_stps, self.ro, self.h_diag = [], [], [], 1.0
            else:
                y = flat_grad - self.prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(self.old_dirs) == self.history_size:
                        self.old_dirs.pop(0)
                        self.old_stps.pop(0)
                        self.ro.pop(0)
                    self.old_dirs.append(y)
                    self.old_stps.append(s)
                    self.ro.append(1.0 / ys)
                    self.h_diag = ys / float(y @ y)
                # the two-loop recursion, in place (BLAS axpy): a fresh array of a million
                # features per step costs more in page faults than the arithmetic
                al = [0.0] * len(self.old_dirs)
                q = -flat_grad
                for i in range(len(self.old_dirs) - 1, -1, -1):
                    al[i] = float(self.old_stps[i] @ q) * self.ro[i]
                    q = _axpy(self.old_dirs[i], q, -al[i])
                q *= np.float32(self.h_diag)
                d = r = q
                for i in range(len(self.old_dirs)):
                    be_i = float(self.old_dirs[i] @ r) * self.ro[i]
                    r = _axpy(self.old_stps[i], r, al[i] - be_i)
            self.prev_flat_grad = flat_grad  # never changed in place: no copy needed
            prev_loss = loss
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) if self.n_iter == 1 else 1.0
            gtd = float(flat_grad @ d)
            if gtd > -self.tolerance_change:
                break
            x_init = self.x

            def along(
                x: np.ndarray, step: float, direction: np.ndarray
            ) -> tuple[float, np.ndarray]:
                return objective(_axpy(direction, x.copy(), step))

            loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                along, x_init, t, d, loss, flat_grad, gtd, max_ls=self.max_eval - current_evals
            )
            self.x = _axpy(d, x_init.copy(), t)
            opt_cond = max_abs(flat_grad) <= self.tolerance_grad
            current_evals += ls_func_evals
            if n_iter == self.max_iter or current_evals >= self.max_eval or opt_cond:
                break
            if abs(t) * max_abs(d) <= self.tolerance_change:
                break
            if abs(loss - prev_loss) < self.tolerance_change:
                break
        self.d, self.t = d, t
        return loss
