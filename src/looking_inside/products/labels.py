"""Display text for the data sets' classes: product code, never training code, so
renaming a class re-renders what shows that name and retrains nothing."""

from __future__ import annotations

CIFAR_CLASSES_ZH = ("飞机", "汽车", "鸟", "猫", "鹿", "狗", "青蛙", "马", "船", "卡车")
CLASSES = {"mnist": tuple(str(d) for d in range(10)), "cifar10": CIFAR_CLASSES_ZH}


def class_names(dataset: str) -> tuple[str, ...]:
    """The ten class names a reader sees for a data set."""
    return CLASSES[dataset]
