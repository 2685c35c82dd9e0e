"""A numpy re-implementation of the playground's trainer (docs/javascripts/train-core.js),
written from the maths, for the browser tests to compare against.

Same generator (mulberry32), same initialisation order, same data order (a
Fisher-Yates shuffle per epoch, full batches only), softmax cross-entropy averaged
over the batch, Adam with L2 weight decay added to the gradient (torch's Adam).
Parameters and Adam's moments are stored as float32 and computed in float64, as the
JavaScript does; only the order of the sums differs.
"""

from __future__ import annotations

import numpy as np

MASK = 0xFFFFFFFF
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8


class Mulberry32:
    def __init__(self, seed: int) -> None:
        self.a = seed & MASK

    def next(self) -> float:
        self.a = (self.a + 0x6D2B79F5) & MASK
        t = self.a
        t = ((t ^ (t >> 15)) * (t | 1)) & MASK
        t = ((t + (((t ^ (t >> 7)) * (t | 61)) & MASK)) & MASK) ^ t
        return ((t ^ (t >> 14)) & MASK) / 4294967296


class Reference:
    def __init__(self, hidden: int, lr: float, weight_decay: float, batch: int, seed: int,
                 images: np.ndarray, labels: np.ndarray) -> None:
        self.hidden, self.lr, self.wd = hidden, lr, weight_decay
        self.batch = min(batch, len(labels))
        self.x = images.reshape(len(labels), 784).astype(np.float64) / 255
        self.y = labels.astype(np.int64)
        self.rng = Mulberry32(seed)
        shapes = [(hidden, 784), (10, hidden)] if hidden else [(10, 784)]
        self.params: list[np.ndarray] = []
        for out, inp in shapes:
            bound = 1 / np.sqrt(inp)
            w = np.array([(2 * self.rng.next() - 1) * bound for _ in range(out * inp)])
            b = np.array([(2 * self.rng.next() - 1) * bound for _ in range(out)])
            self.params += [w.reshape(out, inp).astype(np.float32), b.astype(np.float32)]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.order = np.arange(len(labels))
        self.cursor = len(labels)
        self.step = 0

    def shuffle(self) -> None:
        o = list(range(len(self.y)))
        for k in range(len(o) - 1, 0, -1):
            j = int(self.rng.next() * (k + 1))
            o[k], o[j] = o[j], o[k]
        self.order = np.array(o)
        self.cursor = 0

    def forward(self, x: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        p = [q.astype(np.float64) for q in self.params]
        if self.hidden:
            h = 1 / (1 + np.exp(-(x @ p[0].T + p[1])))
            return h, h @ p[2].T + p[3]
        return None, x @ p[0].T + p[1]

    def train_step(self) -> float:
        if self.cursor + self.batch > len(self.y):
            self.shuffle()
        idx = self.order[self.cursor:self.cursor + self.batch]
        self.cursor += self.batch
        x, y = self.x[idx], self.y[idx]
        h, z = self.forward(x)
        z = z - z.max(1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        loss = float(-np.log(p[np.arange(len(y)), y]).mean())
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        if self.hidden:
            assert h is not None
            w2 = self.params[2].astype(np.float64)
            dz = (d @ w2) * h * (1 - h)
            grads = [dz.T @ x, dz.sum(0), d.T @ h, d.sum(0)]
        else:
            grads = [d.T @ x, d.sum(0)]
        self.step += 1
        bc1, bc2 = 1 - BETA1 ** self.step, 1 - BETA2 ** self.step
        for i, g in enumerate(grads):
            w = self.params[i].astype(np.float64)
            g = g + self.wd * w
            self.m[i] = (BETA1 * self.m[i].astype(np.float64) + (1 - BETA1) * g).astype(np.float32)
            self.v[i] = (BETA2 * self.v[i].astype(np.float64) + (1 - BETA2) * g * g
                         ).astype(np.float32)
            m, v = self.m[i].astype(np.float64), self.v[i].astype(np.float64)
            self.params[i] = (w - self.lr / bc1 * (m / (np.sqrt(v) / np.sqrt(bc2) + EPS))
                              ).astype(np.float32)
        return loss

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        _, z = self.forward(images.reshape(len(labels), 784).astype(np.float64) / 255)
        return float((z.argmax(1) == labels).mean())
