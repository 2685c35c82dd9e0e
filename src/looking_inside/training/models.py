"""The article's networks: multilayer perceptrons over raw pixels, and the small
convolutional networks its last chapter compares them with."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from looking_inside.config import CONV_KERNEL, Experiment
from looking_inside.data.datasets import spec


def build_model(exp: Experiment) -> nn.Sequential:
    """``n_inputs -> hidden... -> 10``, after ``exp.conv``'s convolutions if any; the
    caller seeds torch first. Inputs are always rows ``(N, D)``: a convolutional
    model unflattens them itself, so the trainer feeds every model alike."""
    def act() -> nn.Module:
        return nn.Sigmoid() if exp.activation == "sigmoid" else nn.ReLU()

    layers: list[nn.Module] = []
    width = exp.n_inputs
    if exp.conv:
        image = spec(exp.dataset).image_shape
        shape = image if len(image) == 3 else (1, *image)
        layers.append(nn.Unflatten(1, shape))  # (N, C, H, W)
        channels, side = shape[0], shape[1]
        for c in exp.conv:
            layers += [nn.Conv2d(channels, c, CONV_KERNEL), act(), nn.MaxPool2d(2)]
            channels, side = c, (side - CONV_KERNEL + 1) // 2
        layers.append(nn.Flatten())
        width = channels * side * side
    for h in exp.hidden:
        layers.append(nn.Linear(width, h))
        layers.append(act())
        width = h
    layers.append(nn.Linear(width, 10))
    model = nn.Sequential(*layers)
    if exp.init == "zero":  # see Experiment.init
        for p in model.parameters():
            nn.init.zeros_(p)
    return model


def hidden_split(exp: Experiment) -> int | None:
    """Index in ``build_model``'s layers just after the first hidden activation of a
    perceptron (whose activations the chapters show), else None."""
    return 2 if exp.hidden and not exp.conv else None


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


def weighted_layers(model: nn.Sequential) -> list[nn.Conv2d | nn.Linear]:
    """Convolutions then linear layers, in order: what the results store."""
    return [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
