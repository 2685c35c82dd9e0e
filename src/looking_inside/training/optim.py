"""Adam and SGD as torch's fused kernels, called without ``torch.optim``.

``torch.optim.Adam(fused=True)`` and ``SGD(fused=True)`` each end a step in one
kernel (``torch._fused_adam_``, ``torch._fused_sgd_``); everything around it is
Python that costs more than the update itself at our sizes:
- per step, ~80 us of a ~330 us perceptron step (hooks, profiler scopes, grouping
  the tensors by device, re-reading the state), for a ~15 us kernel;
- once per process, ~2 s: constructing any ``torch.optim`` optimiser imports
  ``torch._dynamo`` (its methods are wrapped so that the compiler skips them), the
  largest part of a trainer process's start.

Here the state is made as torch makes it (zeros, a float32 step counter; SGD's
momentum buffers on the first step) and the same kernel runs on it, so the update is
torch's, bit for bit: ``tests/test_manual.py`` compares both after every step.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class _Fused:
    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float
                 ) -> None:
        self.params = list(params)
        if len({(p.device, p.dtype) for p in self.params}) > 1:
            # torch groups such tensors into one kernel call each; one group is ours.
            raise ValueError("parameters on several devices or of several dtypes")
        self.lr, self.weight_decay = lr, weight_decay

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def _with_grads(self) -> list[int]:
        # Like torch: a parameter without a gradient is left as it is.
        return [i for i, p in enumerate(self.params) if p.grad is not None]


class FusedAdam(_Fused):
    """``torch.optim.Adam(params, lr, weight_decay=..., fused=True)``'s update."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = betas, eps
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format)
                        for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format)
                           for p in self.params]
        # A float32 tensor on the parameters' device, as torch keeps it for fused Adam.
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device)
                      for p in self.params]
        # The kernel's argument lists, and the .grad tensors they were made from.
        self._seen: list[torch.Tensor | None] | None = None
        self._args: list[list[torch.Tensor]] = []

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        # Rebuild the argument lists only when a .grad tensor was replaced (autograd
        # makes new ones each step; the manual pass writes into the same ones).
        if self._seen is None or any(a is not b for a, b in
                                     zip(grads, self._seen, strict=True)):
            idx = self._with_grads()
            self._args = [[self.params[i] for i in idx],
                          [g for g in grads if g is not None],
                          [self.exp_avg[i] for i in idx], [self.exp_avg_sq[i] for i in idx],
                          [self.steps[i] for i in idx]]
            self._seen = grads
        params, g, exp_avg, exp_avg_sq, steps = self._args
        if not params:
            return
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(params, g, exp_avg, exp_avg_sq, [], steps, amsgrad=False,
                           lr=self.lr, beta1=self.betas[0], beta2=self.betas[1],
                           weight_decay=self.weight_decay, eps=self.eps, maximize=False,
                           grad_scale=None, found_inf=None)


class FusedSGD(_Fused):
    """``torch.optim.SGD(params, lr, momentum, weight_decay=..., fused=True)``'s update
    (no dampening, no Nesterov)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if momentum <= 0:
            raise ValueError("FusedSGD needs momentum > 0")
        self.momentum = momentum
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    @torch.no_grad()
    def step(self) -> None:
        idx = self._with_grads()
        if not idx:
            return
        # torch makes every buffer on the first step that has gradients, uninitialised:
        # the kernel's first step writes them.
        first = all(self.buffers[i] is None for i in idx)
        for i in idx:
            if self.buffers[i] is None:
                self.buffers[i] = torch.empty_like(self.params[i].grad)  # type: ignore[arg-type]
        torch._fused_sgd_([self.params[i] for i in idx],
                          [self.params[i].grad for i in idx],  # type: ignore[misc]
                          [self.buffers[i] for i in idx],  # type: ignore[misc]
                          weight_decay=self.weight_decay, momentum=self.momentum,
                          lr=self.lr, dampening=0.0, nesterov=False, maximize=False,
                          is_first_step=first, grad_scale=None, found_inf=None)


Optimizer = FusedAdam | FusedSGD
