"""The table of figures: stable name -> render function, inputs, caption, alt text.

Chapters refer to figures by name (``{{ figure("mnist-weights-all") }}``); renaming
one here is a breaking change for the docs, so names are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from looking_inside.config import CONVNETS, experiment_names, seeds_of, sweep_experiments
from looking_inside.products.figures import render
from looking_inside.products.inputs import Product

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from looking_inside.data.datasets import Dataset


@dataclass(frozen=True)
class FigureSpec:
    """One figure. Every figure is an SVG file per palette: text and lines stay sharp
    at any zoom, and images go in at their own resolution, drawn pixelated by the
    browser (``style.setup``)."""

    name: str
    module: str  # figure module under products/figures (its code goes into the key)
    function: str
    experiments: tuple[str, ...]  # results it reads
    datasets: tuple[Dataset, ...]  # test images it reads
    caption: str
    alt: str
    # A function ``(inputs) -> Table`` in the same module giving the numbers behind the
    # figure as CSV; without one, the data file is what the figure drew, as JSON.
    data: str | None = None
    # Also drawn in a phone layout, by the same function called with ``narrow=True``
    # (e.g. panels stacked): served to narrow screens (``site.figure_markdown``). A
    # figure without one has a single layout that reads at both widths.
    narrow: bool = False

    def render_function(self) -> Callable[..., Figure]:
        """``(inputs, theme) -> Figure``; with ``narrow=True`` the phone layout."""
        return render.function_of(self.module, self.function)

    def filename(self, theme: str, narrow: bool = False) -> str:
        return f"{self.name}.{theme}{'.narrow' if narrow else ''}.svg"

    def layouts(self) -> tuple[bool, ...]:
        """``narrow`` of each layout drawn: the wide one first."""
        return (False, True) if self.narrow else (False,)

    def images(self) -> list[str]:
        """Every image file: light and dark of the wide layout, then of the narrow."""
        return [self.filename(t, n) for n in self.layouts() for t in ("light", "dark")]

    def data_filename(self) -> str:
        return f"{self.name}.{'csv' if self.data else 'json'}"

    def product(self, font: str | None = None) -> Product:
        """As a cached product; ``font`` is ``fonts.identity()`` if the caller has it
        (it walks the font folders: one walk serves every figure)."""
        from looking_inside.cache import versions
        from looking_inside.products.figures import fonts

        return Product(
            "figure", self.name, f"products.figures.{self.module}",
            make=partial(render.files, self), experiments=self.experiments,
            datasets=self.datasets,
            # Everything else that changes the bytes: the font file, and the libraries
            # that draw and encode (matplotlib, numpy; Pillow writes the images inside
            # an SVG).
            params={"function": self.function, "data": self.data, "narrow": self.narrow,
                    "font": font or fonts.identity(),
                    "libraries": versions("matplotlib", "numpy", "pillow")},
        )


# What the features chapter's figures read: every run (seed) of every point of both
# sweeps, and of the convolutional networks.
_SWEEP = tuple(e.name for d in ("mnist", "cifar10") for e in sweep_experiments(d))
_CONVNETS = tuple(e.name for e in CONVNETS)
_CONVNET_RUNS = tuple(n for c in _CONVNETS for n in seeds_of(c))


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "single-layer-network", "diagrams", "single_layer_network", (), ("mnist",),
        "用于 MNIST 的单层神经网络：784 个像素展开成一列输入，全部连接到代表数字 0–9 的 10 个输出神经元。",
        "示意图：左边一张手写数字图像被展开成一列 784 个输入神经元，每个输入都用线连到右边标着 0 到 9 的 10 个输出神经元。",
        narrow=True,
    ),
    FigureSpec(
        "weights-as-grid", "mnist", "weights_as_grid", ("mnist-1layer",), ("mnist",),
        "同一个等式 z = b + Σ w·x 的两种画法：一种把像素展开成一列，每条连线带一个权重；另一种把权重按像素的位置排成 28×28 的网格，与输入逐像素相乘再求和。",
        "两部分。其一：输入 x₁ 到 x₇₈₄ 经权重 w₁ 到 w₇₈₄ 连到一个输出神经元 z。其二：一张数字 0 的图像、输出“0”神经元的 28×28 权重图，以及两者逐像素相乘的结果，下方写出求和得到的 z。",
        narrow=True,
    ),
    FigureSpec(
        "mnist-weights-0", "mnist", "weights_zero", ("mnist-1layer",), ("mnist",),
        "训练好的单层网络中，输出神经元“0”的权重排成 28×28：最低的权重画成黑色，最高的画成白色。看亮的部分围成的那一圈，和圈中间暗下去的一块：0 的笔画常走的地方权重高，0 中间的空洞权重低。",
        "一张 28×28 的灰度图，亮的部分围成一个模糊的圆环，中间是暗的空洞，看起来像一个模糊的数字 0。",
        data="weights_zero_data",
    ),
    FigureSpec(
        "mnist-weights-all", "mnist", "weights_all", ("mnist-1layer",), ("mnist",),
        "单层 MNIST 网络全部 10 个输出神经元的权重，按 0 到 9 排列。挨个看看：你能从每一幅里认出它负责的那个数字吗？",
        "两行共十幅灰度图，分别标着 0 到 9，每一幅里都能隐约看出对应数字的轮廓。",
        data="weights_all_data",
        narrow=True,
    ),
    FigureSpec(
        "mnist-weights-training", "mnist", "weights_training", ("mnist-1layer",), ("mnist",),
        "单层 MNIST 网络训练过程中的同一组权重：每一栏是训练到某一步时的一份快照，栏里是当时的 10 个模板（左列 0–4，右列 5–9），栏头写着步数和当时在测试集上的准确率。按步数从少到多看，数字的轮廓是在哪一栏冒出来的？",
        "六栏灰度小图，每栏两竖排共十幅。第一栏是杂乱的噪点，之后各栏逐渐出现数字的轮廓，最后一栏是清晰的 0 到 9 模板；每栏上方写着步数和准确率。",
        narrow=True,
    ),
    FigureSpec(
        "mnist-mistakes", "mnist", "mistakes", ("mnist-1layer", "mnist-2layer"), ("mnist",),
        "单层网络在测试集上的四个错误：标着“情有可原”的两个，正确答案只以很小的差距屈居第二；标着“错得离谱”的两个，另一个网络能轻松认出，它却很有把握地认错了。",
        "四张手写数字图像，每张上方写着实际数字和网络认成的数字，下方写着网络对错误答案的把握和对正确答案给出的概率。",
        data="mistakes_data",
        narrow=True,
    ),
    FigureSpec(
        "mnist-confusion", "mnist", "confusion", ("mnist-1layer",), ("mnist",),
        "单层 MNIST 网络在测试集上的混淆矩阵：行是实际数字，列是预测数字，绿色对角线是认对的数量，其余格子是各种错误的数量。",
        "一张 10×10 的表格，每个格子里写着一个数字，对角线上的格子是绿色且数字很大，其他格子按错误多少着上深浅不同的橙色。",
        data="confusion_data",
    ),
    FigureSpec(
        "mnist-confusion-samples", "mnist", "confusion_samples", ("mnist-1layer",), ("mnist",),
        "同一张混淆矩阵，每个格子里放的是网络对这一对（实际，预测）最有把握的那张测试图像；没有样本的格子留空。",
        "一张 10×10 的手写数字网格，对角线上的格子有绿色边框，每个格子里是一张手写数字，少数格子是空的。",
        data="confusion_samples_data",
        narrow=True,
    ),
    FigureSpec(
        "cifar-samples", "cifar", "samples", (), ("cifar10",),
        "从 CIFAR-10 测试集里随机抽出的图像（随机种子固定），上方是它们的类别。",
        "三十二张小幅彩色照片，有飞机、汽车、鸟、猫、鹿、狗、青蛙、马、船和卡车，每张上方写着类别名。",
        data="samples_data",
        narrow=True,
    ),
    FigureSpec(
        "cifar-weights-all", "cifar", "weights_all", ("cifar-1layer",), ("cifar10",),
        "单层 CIFAR-10 网络 10 个输出神经元的权重，按颜色通道还原成 32×32 的彩色图像。看看飞机和船的模板四周是不是偏蓝。",
        "两行共十幅模糊的彩色图，分别标着十个类别；每一幅都是平滑过渡的色块，有的中间能看出一团和背景颜色不同的轮廓。",
        data="weights_all_data",
        narrow=True,
    ),
    FigureSpec(
        "cifar-confusion", "cifar", "confusion", ("cifar-1layer",), ("cifar10",),
        "单层 CIFAR-10 网络（没有隐藏层）在测试集上的混淆矩阵：行是实际类别，列是预测类别。",
        "一张 10×10 的表格，行列都标着十个类别名，对角线是绿色，但许多非对角线格子也有不小的数字。",
        data="confusion_data",
    ),
    FigureSpec(
        "two-layer-network", "diagrams", "two_layer_network", (), ("mnist",),
        "用于 MNIST 的双层神经网络：784 个输入先连到 10 个隐藏神经元，隐藏层再连到 10 个输出神经元。",
        "示意图：左边一列输入神经元，中间一列 10 个隐藏神经元，右边一列 10 个输出神经元，相邻两列之间全部用线相连。",
        narrow=True,
    ),
    FigureSpec(
        "activations", "diagrams", "activations", (), (),
        "两种激活函数：神经元先把输入加权求和得到 z，再把 z 送进激活函数，输出就是它的激活值。左边的 sigmoid 把任何 z 压到 0 和 1 之间，z 越大越接近 1；右边的 ReLU 在 z 小于 0 时输出 0，否则原样输出 z。",
        "两幅曲线图。左图是 sigmoid：一条 S 形曲线，左端贴近 0，在 z 等于 0 处经过 0.5，右端贴近 1。右图是 ReLU：z 小于 0 时是贴着横轴的水平线，z 大于 0 时是一条斜向上的直线。",
        narrow=True,
    ),
    FigureSpec(
        "mnist-hidden-filters", "mnist", "hidden_filters", ("mnist-2layer",), ("mnist",),
        "双层 MNIST 网络：顶部是 10 个隐藏神经元的输入权重（过滤器）；下面每一行对应一个数字类别，柱子是该类输出神经元从每个隐藏神经元得到的权重，蓝色为正、橙色为负。挑一行，找出最高的蓝柱和最长的橙柱，再回到顶部看看这两个过滤器长什么样。",
        "顶部一排十幅灰度小图，是明暗交错的斑块；下面十行柱状图，每行标着一个数字，柱子对齐上方的过滤器，有向上的蓝柱和向下的橙柱。",
        data="hidden_filters_data",
        narrow=True,
    ),
    FigureSpec(
        "mnist-hidden-top-images", "hidden", "top_images", ("mnist-2layer",), ("mnist",),
        "双层 MNIST 网络的 10 个隐藏神经元，每行一个，行首是它的过滤器；两组图分别是测试集里让它最兴奋（激活值最高）的 8 张和最不兴奋的 8 张（窄屏上两组上下分开，每行重复一遍过滤器）。看看每个神经元最兴奋的 8 张：是同一个数字，还是好几个数字混在一起？",
        "每个隐藏神经元一行图像：行首是一幅灰度过滤器小图，后面是手写数字，一组 8 张是让这个神经元激活最强的测试图像，另一组 8 张是激活最弱的；两组或并排，或上下分开。",
        data="top_images_data",
        narrow=True,
    ),
    FigureSpec(
        "capacity-sweep", "features", "capacity_sweep", _SWEEP, (),
        "同一套训练方法下，网络大小与准确率：每幅小图的标题写着数据集（MNIST 或 CIFAR-10）和改变的是什么，或是唯一一个隐藏层的神经元个数（0 表示没有隐藏层），或是每层 100 个神经元的隐藏层层数。每个点是换随机种子训练三次的平均，短竖线是三次的范围；蓝线是测试集准确率，灰色虚线是训练集准确率，灰色柱子（右侧坐标）是每轮训练的计算量，单位 GFLOP（十亿次浮点运算）。看蓝线在哪里变平，再看相邻两点的竖线是否重叠：重叠的，差距就在噪声之内。",
        "四幅折线图。每幅都有一条蓝色的测试准确率折线、一条灰色虚线表示训练准确率，每个点上都有一段短竖线标出三次训练的范围，背后是表示计算量的浅色柱子；改变宽度的两幅，横轴是 0、10、30、100、300 个隐藏神经元，改变层数的两幅，横轴是 1、2、3 层。",
        narrow=True,
    ),
    FigureSpec(
        "convnet-vs-mlp", "features", "convnet_vs_mlp", (*_SWEEP, *_CONVNET_RUNS), (),
        "测试集准确率对比：随机猜测、容量实验里的单层网络和最好的多层网络，以及一个小小的卷积网络；两幅图分别是 MNIST 和 CIFAR-10。柱子是三次训练的平均，短横线是三次的范围，括号里是参数个数。比一比卷积网络和最好的多层网络：谁的柱子更长，参数又是谁多？",
        "两幅横向柱状图，分别是 MNIST 和 CIFAR-10。每幅四根柱子，从上到下是随机猜测、单层网络、最好的多层网络和卷积网络，柱子末端有一段短横线标出范围，旁边写着平均准确率和参数个数。",
        narrow=True,
    ),
    FigureSpec(
        "convnet-filters", "features", "convnet_filters", _CONVNETS, (),
        "卷积网络第一层的 5×5 过滤器：上排是 MNIST 网络的（灰度，越亮权重越高），下排是 CIFAR-10 网络的（彩色，灰色表示 0，颜色表示它偏爱或排斥的颜色）。每个过滤器都在整张图上逐处滑动使用。看上排：哪些过滤器一侧亮、一侧暗，像笔画的一道边缘？",
        "两排小方块图。上排 8 个 5×5 的灰度方块，明暗分布各不相同；下排 8 个 5×5 的彩色方块，是几种颜色的搭配。",
        data="convnet_filters_data",
        narrow=True,
    ),
    FigureSpec(
        "training-curves", "curves", "training_curves", tuple(experiment_names()), (),
        "本站每个网络的训练过程：每种网络一对小图，上面是每一轮的训练损失，下面是每一轮结束时在测试集上的准确率；名字后面写着“×3”的，是换随机种子训练的三次，三条曲线画在一起。每幅小图的纵轴按自己的数据取范围，看的是曲线的走势。轮数是事先定的：每种网络先用两倍的轮数训练三次，取测试准确率的平均离它最后的平台不到 1 个百分点的那一轮；这里画的是定下轮数以后的训练。",
        "许多组上下成对的小折线图，每组标着一种网络的名字。上面是训练损失随轮数变化的曲线，下面是测试准确率随轮数变化的曲线，横轴都是训练轮数；训练了三次的网络每幅小图里有三条曲线。",
        data="training_curves_data",
        narrow=True,
    ),
)


def get_figure(name: str) -> FigureSpec:
    for spec in FIGURES:
        if spec.name == name:
            return spec
    raise KeyError(name)
