"""A perceptron's training step written out by hand, without autograd.

The article's perceptrons are small enough that eager autograd's bookkeeping (a
graph per step, a fresh tensor per intermediate, a dozen dispatches per layer) costs
several times their arithmetic. Here one step is a few matmuls and fused elementwise
kernels into buffers allocated once per epoch. The gradients land in each parameter's
``.grad``, so the caller applies torch's own optimiser to them, unchanged.
``tests/test_manual.py`` checks the gradients against autograd's.
"""

from __future__ import annotations

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


class _Buffers:
    """Every tensor one step writes, for one batch size ``B``, and the views of them
    it uses (made once: at these sizes a view costs about as much as a small kernel).

    Layer outputs are stored feature-major, ``(features, B)``: the forward product is
    then ``W @ h``, which MKL runs about twice as fast as ``h @ W.T`` for a 10-wide
    layer on one thread (and ~10% faster for CIFAR-10's 3072 x 100). The logits are
    copied into rows, ``(B, 10)``, where the loss and the argmax over each image's
    ten values run 2-7x faster than down a column (a few microseconds a step).
    """

    def __init__(self, b: int, n_inputs: int, widths: list[int], like: torch.Tensor
                 ) -> None:
        self.x = like.new_empty(b, n_inputs)  # (B, D) the batch's pixels, as stored
        self.x_t = self.x.t()  # (D, B)
        # outs[i]: linear layer i's output, after its activation for hidden layers
        # (the backward needs only that: both derivatives are functions of it).
        self.outs = [like.new_empty(w, b) for w in widths]  # (H_i, B)
        self.outs_t = [o.t() for o in self.outs]  # (B, H_i)
        self.logits = like.new_empty(b, widths[-1])  # (B, 10)
        self.logp = torch.empty_like(self.logits)  # (B, 10) log-softmax of the logits
        self.minus_one = like.new_full((b, 1), -1.0)  # scattered onto the targets
        # deltas[i]: the loss's gradient with respect to layer i's output, before the
        # activation (H_i, B). Pixels are data: nothing below layer 0 needs one.
        self.grad_logits = torch.empty_like(self.logits)  # (B, 10)
        self.deltas = [like.new_empty(w, b) for w in widths[:-1]] + [self.grad_logits.t()]


class ManualPerceptron:
    """Forward, softmax cross-entropy and backward of one batch of a perceptron.

    Buffers are made once for ``batch_size`` rows, and once more for an epoch's
    smaller last batch; the parameters' views once too, not per step.
    """

    def __init__(self, model: nn.Sequential, batch_size: int, n_inputs: int) -> None:
        if not is_perceptron(model):
            raise TypeError("ManualPerceptron takes nn.Sequential(Linear, act, ..., Linear)")
        self.linears = [m for m in model if isinstance(m, nn.Linear)]
        self.sigmoid = [type(m) is nn.Sigmoid for m in list(model)[1::2]]
        with torch.no_grad():
            # Views of the parameters, which the optimiser updates in place.
            self.weights = [m.weight.detach() for m in self.linears]  # (out, in)
            self.weights_t = [w.t() for w in self.weights]  # (in, out)
            self.biases = [m.bias.detach().unsqueeze(1) for m in self.linears]  # (out, 1)
        self._widths = [m.out_features for m in self.linears]
        self._n_inputs = n_inputs
        self._buffers = {batch_size: self._make(batch_size)}
        # (weight, bias) gradients of each layer, reused every step and every epoch:
        # mm(out=...) overwrites them, so no zero_grad is needed.
        self.grads = [(_grad(m.weight), _grad(m.bias)) for m in self.linears]

    def _make(self, b: int) -> _Buffers:
        return _Buffers(b, self._n_inputs, self._widths, self.weights[0])

    @torch.no_grad()
    def step(self, x: torch.Tensor, idx: torch.Tensor, yb: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fills every parameter's ``.grad`` for the rows ``idx`` of ``x`` and their
        labels ``yb``; returns the mean cross-entropy (a 0-d tensor, the value
        ``nn.CrossEntropyLoss`` gives) and the logits ``(B, 10)``, a buffer the next
        step overwrites."""
        b = idx.shape[0]
        buf = self._buffers.get(b)
        if buf is None:
            buf = self._buffers[b] = self._make(b)
        torch.index_select(x, 0, idx, out=buf.x)  # (B, D)
        h = buf.x_t  # (D, B)
        for i, out in enumerate(buf.outs):
            torch.addmm(self.biases[i], self.weights[i], h, out=out)  # (H_i, B)
            if i < len(self.sigmoid):
                (out.sigmoid_ if self.sigmoid[i] else out.relu_)()
            h = out
        logits = buf.logits.copy_(buf.outs_t[-1])  # (B, 10)

        # Cross-entropy as torch computes it (log-softmax, then the mean negative
        # log-likelihood of the targets), so the loss is CrossEntropyLoss's value.
        torch.log_softmax(logits, 1, out=buf.logp)
        loss = F.nll_loss(buf.logp, yb)
        # Its gradient with respect to the logits: (softmax - one-hot) / B.
        g = torch.exp(buf.logp, out=buf.grad_logits)
        g.scatter_add_(1, yb.unsqueeze(1), buf.minus_one)
        g.div_(b)

        for i in range(len(self.linears) - 1, -1, -1):
            g = buf.deltas[i]  # (H_i, B)
            w_grad, b_grad = self.grads[i]
            # (H_i, B) @ (B, H_i-1): the rows of the layer below, pixels for layer 0.
            torch.mm(g, buf.x if i == 0 else buf.outs_t[i - 1], out=w_grad)
            torch.sum(g, 1, out=b_grad)  # (H_i,)
            if i == 0:
                break
            below = buf.deltas[i - 1]
            torch.mm(self.weights_t[i], g, out=below)  # gradient w.r.t. outs[i - 1]
            if self.sigmoid[i - 1]:
                _SIGMOID_BACKWARD(below, buf.outs[i - 1], grad_input=below)
            else:
                _RELU_BACKWARD(below, buf.outs[i - 1], 0, grad_input=below)
        return loss, logits
