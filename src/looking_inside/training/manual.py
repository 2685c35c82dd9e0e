"""A perceptron's training step written out by hand, without autograd.

The article's perceptrons are small enough that eager autograd's bookkeeping (a
graph per step, a fresh tensor per intermediate, a dozen dispatches per layer) costs
several times their arithmetic. Here one step is a few matmuls and fused elementwise
kernels into buffers allocated once per epoch. The gradients land in each parameter's
``.grad``, so the caller applies torch's own optimiser to them, unchanged.
``tests/test_manual.py`` checks the gradients against autograd's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

import torch
from torch import nn
from torch.nn import functional as F

# The aten kernels autograd itself runs for these activations' backward: one fused
# pass each, and the same arithmetic as autograd (``grad * (1 - y) * y``; ``grad``
# where ``y > 0``). ``.grad_input`` is their out= form, so they write in place.
_SIGMOID_BACKWARD = torch.ops.aten.sigmoid_backward.grad_input
_RELU_BACKWARD = torch.ops.aten.threshold_backward.grad_input


def is_perceptron(model: nn.Module) -> TypeGuard[nn.Sequential]:
    """Linear layers, each but the last followed by one sigmoid or ReLU: the only
    shape ``ManualPerceptron`` knows (a convolutional model keeps autograd)."""
    if not isinstance(model, nn.Sequential) or len(model) % 2 != 1:
        return False
    mods = list(model)
    return (all(isinstance(m, nn.Linear) and m.bias is not None for m in mods[::2])
            and all(type(m) in (nn.Sigmoid, nn.ReLU) for m in mods[1::2]))


def _grad(p: torch.Tensor) -> torch.Tensor:
    """``p.grad``, made once (or remade, if a stale one has another shape)."""
    if p.grad is None or p.grad.shape != p.shape:
        p.grad = torch.zeros_like(p)
    return p.grad


@dataclass(frozen=True)
class _Buffers:
    """Every tensor one step writes, for one batch size."""

    x: torch.Tensor  # (B, D) the batch's pixels
    # acts[i]: the output of linear layer i, after its activation for hidden layers
    # (the backward needs only that: both derivatives are functions of it).
    acts: list[torch.Tensor]
    # deltas[i]: the loss's gradient with respect to linear layer i's output, before
    # the activation. Pixels are data: nothing below layer 0 needs a gradient.
    deltas: list[torch.Tensor]
    logp: torch.Tensor  # (B, 10) log-softmax of the logits
    minus_one: torch.Tensor  # (B, 1) of -1, scattered onto the targets' columns

    def rows(self, b: int) -> _Buffers:
        """The first ``b`` rows of each: contiguous views of the same memory."""
        return _Buffers(self.x[:b], [a[:b] for a in self.acts],
                        [d[:b] for d in self.deltas], self.logp[:b], self.minus_one[:b])


class ManualPerceptron:
    """Forward, softmax cross-entropy and backward of one batch of a perceptron.

    Buffers are made once for ``batch_size`` rows; a smaller batch (an epoch's last)
    uses their leading rows. The views for both sizes are made once, not per step:
    at these sizes a view costs about as much as a small kernel.
    """

    def __init__(self, model: nn.Sequential, batch_size: int, n_inputs: int) -> None:
        if not is_perceptron(model):
            raise TypeError("ManualPerceptron takes nn.Sequential(Linear, act, ..., Linear)")
        self.linears = [m for m in model if isinstance(m, nn.Linear)]
        self.sigmoid = [type(m) is nn.Sigmoid for m in list(model)[1::2]]
        w0 = self.linears[0].weight
        with torch.no_grad():
            # Views of the parameters, which the optimiser updates in place.
            self.weights_t = [m.weight.t() for m in self.linears]  # (in, out)
            self.weights = [m.weight.detach() for m in self.linears]  # (out, in)
            self.biases = [m.bias.detach() for m in self.linears]
        acts = [w0.new_empty(batch_size, m.out_features) for m in self.linears]
        self.full = _Buffers(w0.new_empty(batch_size, n_inputs), acts,
                             [torch.empty_like(a) for a in acts],
                             torch.empty_like(acts[-1]), w0.new_full((batch_size, 1), -1.0))
        self._ragged: dict[int, _Buffers] = {}
        # (weight, bias) gradients of each layer, reused every step and every epoch:
        # mm(out=...) overwrites them, so no zero_grad is needed.
        self.grads = [(_grad(m.weight), _grad(m.bias)) for m in self.linears]

    def _buffers(self, b: int) -> _Buffers:
        if b == self.full.x.shape[0]:
            return self.full
        if b not in self._ragged:
            self._ragged[b] = self.full.rows(b)
        return self._ragged[b]

    @torch.no_grad()
    def step(self, x: torch.Tensor, idx: torch.Tensor, yb: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fills every parameter's ``.grad`` for the rows ``idx`` of ``x`` and their
        labels ``yb``; returns the mean cross-entropy (a 0-d tensor, the value
        ``nn.CrossEntropyLoss`` gives) and the logits ``(B, 10)``, a view of a buffer
        the next step overwrites."""
        buf = self._buffers(idx.shape[0])
        xb = torch.index_select(x, 0, idx, out=buf.x)  # (B, D)
        h = xb
        for i, out in enumerate(buf.acts):
            torch.addmm(self.biases[i], h, self.weights_t[i], out=out)  # (B, out)
            if i < len(self.sigmoid):
                (out.sigmoid_ if self.sigmoid[i] else out.relu_)()
            h = out
        logits = h

        # Cross-entropy as torch computes it (log-softmax, then the mean negative
        # log-likelihood of the targets), so the loss is CrossEntropyLoss's value.
        torch.log_softmax(logits, 1, out=buf.logp)
        loss = F.nll_loss(buf.logp, yb)
        # Its gradient with respect to the logits: (softmax - one-hot) / B.
        g = torch.exp(buf.logp, out=buf.deltas[-1])
        g.scatter_add_(1, yb.unsqueeze(1), buf.minus_one)
        g.div_(idx.shape[0])

        for i in range(len(self.linears) - 1, -1, -1):
            g = buf.deltas[i]
            below_act = xb if i == 0 else buf.acts[i - 1]
            w_grad, b_grad = self.grads[i]
            torch.mm(g.t(), below_act, out=w_grad)  # (out, in)
            torch.sum(g, 0, out=b_grad)  # (out,)
            if i == 0:
                break
            below = buf.deltas[i - 1]
            torch.mm(g, self.weights[i], out=below)  # gradient w.r.t. acts[i - 1]
            if self.sigmoid[i - 1]:
                _SIGMOID_BACKWARD(below, below_act, grad_input=below)
            else:
                _RELU_BACKWARD(below, below_act, 0, grad_input=below)
        return loss, logits
