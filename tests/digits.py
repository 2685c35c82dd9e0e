"""A hand-drawn digit made to look like an MNIST test image, and scored.

This is the reference for ``docs/javascripts/digit-core.js``: the browser runs the
same steps in the same order on the canvas pixels, and the browser tests compare
the two on identical input. Both work in float64 (JavaScript numbers are doubles),
so they agree to rounding error, far below one grey level (1/255).

The recipe is MNIST's own (LeCun et al.): crop the ink to its bounding box, scale
it so the longer side is 20 px keeping the aspect ratio, anti-aliased, then place
it in a 28x28 frame so that its centre of mass lands on the frame's centre.
"""

from __future__ import annotations

import math

import numpy as np

FRAME = 28  # MNIST images are 28x28 ...
BOX = 20  # ... with the digit normalised into a 20x20 box inside


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """Canvas pixels ``(H, W, 4)`` uint8 -> ink in [0, 1], ``(H, W)`` float64.

    The page draws on a transparent canvas, so ink is the alpha channel alone: the
    colours on screen (light or dark palette) never change what the network sees.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected (H, W, 4) RGBA pixels, got shape {rgba.shape}")
    return rgba[:, :, 3].astype(np.float64) / 255.0


def bounding_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(top, left, bottom, right)`` of the pixels with any ink (exclusive ends)."""
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    if rows.size == 0:
        return None
    cols = np.flatnonzero(ink.max(axis=0) > 0)
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def round_half_up(x: float) -> int:
    """``floor(x + 0.5)``: what JavaScript's ``Math.round`` does (Python's ``round``
    rounds halves to even, which would make the two disagree on exact halves)."""
    return math.floor(x + 0.5)


def box_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` area-averaging weights: each output pixel is the mean of the
    input it covers, partial pixels counted by their covered fraction (a box filter,
    exact for any ratio, so nothing aliases when shrinking a 200 px stroke to 2 px)."""
    w = np.zeros((n_out, n_in), dtype=np.float64)
    span = n_in / n_out
    for k in range(n_out):
        a, b = k * n_in / n_out, (k + 1) * n_in / n_out
        for j in range(math.floor(a), min(math.ceil(b), n_in)):
            w[k, j] = (min(b, j + 1) - max(a, j)) / span
    return w


def scaled_size(height: int, width: int) -> tuple[int, int]:
    """Size of the box-normalised digit: the longer side becomes ``BOX`` pixels."""
    if height >= width:
        return BOX, max(1, round_half_up(width * BOX / height))
    return max(1, round_half_up(height * BOX / width)), BOX


def mnist_like(ink: np.ndarray) -> np.ndarray:
    """Ink of any size -> the 28x28 float64 input in [0, 1] (all zeros when blank)."""
    out = np.zeros((FRAME, FRAME), dtype=np.float64)
    box = bounding_box(ink)
    if box is None:
        return out
    top, left, bottom, right = box
    crop = ink[top:bottom, left:right]
    h, w = scaled_size(*crop.shape)
    small = box_weights(crop.shape[0], h) @ crop @ box_weights(crop.shape[1], w).T  # (h, w)
    total = small.sum()
    # Centre of mass in pixel indices (row 0 is y = 0). MNIST's digits have it at
    # index 14 +- 0.5 on both axes (measured on the test set), so that is the target.
    cy = float((small.sum(axis=1) * np.arange(h)).sum() / total)
    cx = float((small.sum(axis=0) * np.arange(w)).sum() / total)
    # Clamp so no ink falls off the frame (only a very lopsided drawing needs it).
    y0 = min(max(round_half_up(FRAME / 2 - cy), 0), FRAME - h)
    x0 = min(max(round_half_up(FRAME / 2 - cx), 0), FRAME - w)
    out[y0:y0 + h, x0:x0 + w] = small
    return out


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscale, as a reader would see a digit blown up on screen."""
    return np.kron(image, np.ones((factor, factor), dtype=image.dtype))


def scores(weights: np.ndarray, biases: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The single-layer network's outputs ``z = b + W x`` for a 28x28 input."""
    return biases.astype(np.float64) + weights.astype(np.float64) @ x.reshape(-1)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()
