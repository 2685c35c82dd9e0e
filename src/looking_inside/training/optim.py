"""torch's fused optimiser kernels, called without ``torch.optim``'s per-step Python.

For a perceptron step of ~500 us, ``Optimizer.step`` spent ~95 us, of which the
fused kernel that does the update is ~15 us; the rest is bookkeeping (hooks,
profiler scopes, grouping the tensors by device, re-reading the state). Here torch's
own ``step`` runs once, creating the optimiser state exactly as torch does; after
that each step calls the same kernel on the same tensors, so the update is
bit-identical (``tests/test_manual.py`` checks it against ``torch.optim``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class FusedStep:
    """``step()`` for a fused ``torch.optim.Adam`` or ``SGD`` with one parameter
    group; any other optimiser (or setting) falls back to its own ``step``."""

    def __init__(self, opt: torch.optim.Optimizer) -> None:
        self.opt = opt
        self._grads: list[torch.Tensor | None] = []
        self._call: Callable[[], None] | None = None

    @torch.no_grad()
    def step(self) -> None:
        params = self.opt.param_groups[0]["params"]
        # The kernel reads the gradient tensors it was bound to: rebind if any
        # parameter's .grad was replaced (the manual pass reuses them; autograd not).
        if self._call is None or any(
                p.grad is not g for p, g in zip(params, self._grads, strict=True)):
            self._call = self._bind()
        if self._call is None:
            self.opt.step()  # torch creates the state (or the case is not ours)
            self._call = self._bind()
            return
        self._call()

    def _bind(self) -> Callable[[], None] | None:
        opt = self.opt
        if len(opt.param_groups) != 1:
            return None
        group = opt.param_groups[0]
        params: list[torch.Tensor] = list(group["params"])
        grads = [p.grad for p in params]
        state = [opt.state.get(p) for p in params]
        if (not group.get("fused") or group.get("maximize") or group.get("differentiable")
                or any(g is None for g in grads) or any(not s for s in state)
                or len({p.device for p in params}) != 1):
            return None
        self._grads = grads
        g: list[torch.Tensor] = [t for t in grads if t is not None]
        if isinstance(opt, torch.optim.Adam) and not group["amsgrad"]:
            exp_avg = [s["exp_avg"] for s in state]  # type: ignore[index]
            exp_avg_sq = [s["exp_avg_sq"] for s in state]  # type: ignore[index]
            steps = [s["step"] for s in state]  # type: ignore[index]
            kernel = (torch._fused_adamw_ if group.get("decoupled_weight_decay")
                      else torch._fused_adam_)
            lr, (beta1, beta2) = group["lr"], group["betas"]
            wd, eps = group["weight_decay"], group["eps"]
            if isinstance(lr, torch.Tensor):
                return None

            def adam() -> None:
                torch._foreach_add_(steps, 1)
                kernel(params, g, exp_avg, exp_avg_sq, [], steps, amsgrad=False, lr=lr,
                       beta1=beta1, beta2=beta2, weight_decay=wd, eps=eps,
                       maximize=False, grad_scale=None, found_inf=None)
            return adam
        if isinstance(opt, torch.optim.SGD) and group["momentum"]:
            buffers = [s.get("momentum_buffer") for s in state]  # type: ignore[union-attr]
            if any(b is None for b in buffers):
                return None
            bufs: list[torch.Tensor] = [b for b in buffers if b is not None]
            kw = {k: group[k] for k in ("weight_decay", "momentum", "lr", "dampening",
                                        "nesterov")}

            def sgd() -> None:
                torch._fused_sgd_(params, g, bufs, maximize=False, is_first_step=False,
                                  grad_scale=None, found_inf=None, **kw)
            return sgd
        return None
