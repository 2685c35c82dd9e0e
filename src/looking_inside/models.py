"""The article's networks: plain multilayer perceptrons over raw pixels."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from looking_inside.config import Experiment


def build_model(exp: Experiment) -> nn.Sequential:
    """``n_inputs -> hidden... -> 10``; the caller seeds torch first."""
    layers: list[nn.Module] = []
    width = exp.n_inputs
    for h in exp.hidden:
        layers.append(nn.Linear(width, h))
        layers.append(nn.Sigmoid() if exp.activation == "sigmoid" else nn.ReLU())
        width = h
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def preprocess(images: np.ndarray) -> torch.Tensor:
    """uint8 images -> float32 rows ``(N, D)``, done once for a whole split.

    MNIST stays in [0, 1] so that z = b + sum(w x) reads directly as "ink times
    weight" (the browser demo feeds the same scale). CIFAR-10 is centred to
    [-0.5, 0.5]: with all-positive colour inputs every weight would have to fight a
    common offset, and the templates come out washed out.
    """
    x = torch.from_numpy(np.ascontiguousarray(images)).reshape(images.shape[0], -1)
    x = x.to(torch.float32).div_(255.0)
    if images.ndim == 4:  # CIFAR-10, (N, 3, 32, 32)
        x.sub_(0.5)
    return x  # (N, D)


def linear_layers(model: nn.Sequential) -> list[nn.Linear]:
    return [m for m in model if isinstance(m, nn.Linear)]
