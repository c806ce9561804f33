"""The numpy L-BFGS (textbatch.model.lbfgs) against the torch.optim.LBFGS it ports, on the same
convex problem from the same start: the same steps, so the same answer."""

from __future__ import annotations

import numpy as np
import pytest

from textbatch.model.lbfgs import LBFGS, max_abs

torch = pytest.importorskip("torch")  # the networks extra: in every test environment here


def problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    # ill-conditioned (columns scaled over two decades): a few steps do not reach the minimum,
    # so each step's direction shows
    a = (rng.normal(size=(200, 30)) * np.logspace(-1, 1, 30)).astype(np.float32)
    y = np.sign(rng.normal(size=200)).astype(np.float32)

    def numpy_objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        margin = np.maximum(1 - y * (a @ x), 0)
        loss = 0.5 * float(x @ x) + float(np.square(margin).sum())
        grad = x - 2 * a.T @ (y * margin)
        return loss, grad.astype(np.float32)

    def torch_objective(x):
        margin = torch.clamp(1 - torch.from_numpy(y) * (torch.from_numpy(a) @ x), min=0)
        return 0.5 * (x @ x) + (margin**2).sum()

    return numpy_objective, torch_objective


@pytest.mark.parametrize("steps", [1, 4])
def test_it_takes_torchs_steps(steps: int) -> None:
    numpy_objective, torch_objective = problem()
    ours = LBFGS(np.zeros(30, dtype=np.float32), max_iter=4, history_size=5)
    x = torch.zeros(30, requires_grad=True)
    theirs = torch.optim.LBFGS([x], max_iter=4, history_size=5, line_search_fn="strong_wolfe")

    def closure():
        theirs.zero_grad()
        loss = torch_objective(x)
        loss.backward()
        return loss

    for _ in range(steps):  # each step continues from the last one's history
        ours.step(numpy_objective)
        theirs.step(closure)
        # float32 arithmetic in two libraries: the same steps to about 1e-4
        np.testing.assert_allclose(ours.x, x.detach().numpy(), rtol=2e-3, atol=2e-4)
    assert numpy_objective(ours.x)[0] == pytest.approx(float(torch_objective(x.detach())), rel=1e-4)


def test_max_abs_without_a_temporary() -> None:
    v = np.array([0.5, -3.0, 2.0], dtype=np.float32)
    assert max_abs(v) == 3.0
    assert max_abs(v.astype(np.float64)) == 3.0
    assert max_abs(np.zeros(0, dtype=np.float32)) == 0.0
