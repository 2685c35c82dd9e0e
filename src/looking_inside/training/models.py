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
    act = nn.Sigmoid if exp.activation == "sigmoid" else nn.ReLU
    shapes = exp.layer_shapes  # (out, in, ...) per layer
    layers: list[nn.Module] = []
    if exp.conv:
        image = exp.image_shape
        layers.append(nn.Unflatten(1, image if len(image) == 3 else (1, *image)))  # (N, C, H, W)
        for out, channels, *_ in shapes[:len(exp.conv)]:
            layers += [nn.Conv2d(channels, out, CONV_KERNEL), act(), nn.MaxPool2d(2)]
        layers.append(nn.Flatten())
    for out, width in shapes[len(exp.conv):]:
        layers += [nn.Linear(width, out), act()]
    model = nn.Sequential(*layers[:-1])  # no activation after the output layer
    if exp.init == "zero":  # see Experiment.init
        for p in model.parameters():
            nn.init.zeros_(p)
    return model


def preprocess(images: np.ndarray, dataset: str) -> torch.Tensor:
    """uint8 images -> float32 rows ``(N, D)`` of ``pixel / 255 - centre`` (see
    ``DatasetSpec.centre``), done once for a whole split."""
    x = torch.from_numpy(np.ascontiguousarray(images)).reshape(images.shape[0], -1)
    return x.to(torch.float32).div_(255.0).sub_(spec(dataset).centre)  # (N, D)


def weighted_layers(model: nn.Sequential) -> list[nn.Conv2d | nn.Linear]:
    """Convolutions then linear layers, in order: what the results store."""
    return [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
