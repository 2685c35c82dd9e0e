"""The article's networks: plain multilayer perceptrons over raw pixels."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from looking_inside.config import Experiment
from looking_inside.data.datasets import spec


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


def preprocess(images: np.ndarray, dataset: str) -> torch.Tensor:
    """uint8 images -> float32 rows ``(N, D)``, done once for a whole split.

    ``pixel / 255 - centre``, the centre being the data set's (see ``DatasetSpec``).
    """
    x = torch.from_numpy(np.ascontiguousarray(images)).reshape(images.shape[0], -1)
    x = x.to(torch.float32).div_(255.0)
    centre = spec(dataset).centre
    if centre:
        x.sub_(centre)
    return x  # (N, D)


def linear_layers(model: nn.Sequential) -> list[nn.Linear]:
    return [m for m in model if isinstance(m, nn.Linear)]
