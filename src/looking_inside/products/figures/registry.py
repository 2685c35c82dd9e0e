"""The table of figures: stable name -> render function, inputs, caption, alt text.

Chapters refer to figures by name (``{{ figure("mnist-weights-all") }}``); renaming
one here is a breaking change for the docs, so names are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from looking_inside.config import (
    CONVNETS,
    convnet_name,
    experiment_names,
    seeds_of,
    sweep_experiments,
)
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
    # Whether it reads the training images of ``datasets`` too (their identity is
    # already in the key: a data set's fingerprint covers both splits).
    train: bool = False
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

    def product(self, font: str) -> Product:
        """As a cached product; ``font`` is ``fonts.identity()`` (it walks the font
        folders: the caller walks them once for every figure)."""
        from looking_inside.cache import versions

        return Product(
            "figure", self.name, f"products.figures.{self.module}",
            make=partial(render.files, self), experiments=self.experiments,
            datasets=self.datasets, reads_train=self.train,
            # Everything else that changes the bytes: the font file, and the libraries
            # that draw and encode (matplotlib, numpy; Pillow writes the images inside
            # an SVG).
            params={"function": self.function, "data": self.data, "narrow": self.narrow,
                    "font": font, "libraries": versions("matplotlib", "numpy", "pillow")},
        )


# What the features chapter's figures read: every run (seed) of every point of both
# sweeps, and of the convolutional networks.
_SWEEP = tuple(e.name for d in ("mnist", "cifar10") for e in sweep_experiments(d))
_CONVNETS = tuple(e.name for e in CONVNETS)
_CONVNET_RUNS = tuple(n for c in _CONVNETS for n in seeds_of(c))
# What the shift test reads (as ``products.shifts.experiments``): every run of the
# MNIST single-layer network and convnet, and the whole MNIST sweep (its best point is
# chosen from it).
_SHIFT_RUNS = (*(n for c in ("mnist-1layer", convnet_name("mnist")) for n in seeds_of(c)),
               *(e.name for e in sweep_experiments("mnist")))


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
        "两行共十幅灰度图，分别标着 0 到 9，亮处和暗处的分布各不相同；看每一幅能不能认出对应数字的轮廓。",
        data="weights_all_data", narrow=True,
    ),
    FigureSpec(
        "mnist-templates-vs-averages", "templates", "mnist_templates", ("mnist-1layer",),
        ("mnist",),
        "单层 MNIST 网络的模板和每个数字训练图像的平均样子并排。每一列是一个数字，从上到下依次是：这个数字全部训练图像的平均、它的模板，以及差值，即模板减去按最合适的比例缩放后的平均图像（红色是模板比它高的地方，蓝色是低的地方）。前两行的每幅图都按自己的范围从黑到白显示。列头的 r 是模板和平均图像的相关系数。看最下一行：蓝色落在哪里？是不是别的数字常有笔画、这个数字却空着的地方？",
        "两组各三行五列的小图，上一组是数字 0 到 4，下一组是 5 到 9，每列上方写着数字和相关系数 r。第一行是模糊的白色平均数字，第二行是灰度的模板，第三行是红蓝两色的差值图：红色和蓝色各落在哪里，是这幅图要看的地方。",
        data="mnist_templates_data", train=True,
    ),
    FigureSpec(
        "mnist-trace-single", "trace", "single_layer", ("mnist-1layer", "mnist-2layer"),
        ("mnist",),
        "一张测试图走过单层网络。挑法：两个网络都认对的 2 里，单层网络第一名和第二名得分之差排在正中间的那一张。上排是输入，和得分最高的两个类别各自的 w⊙x（每个像素乘上它的权重）：红色的像素推高这一类的得分，蓝色的拉低；一幅图里的数全加起来，再加上偏置 b，就是这一类的得分 z：这是等式，不是近似。下排是十个得分，和 softmax 把它们换算成的概率。先看第一名的图里红色落在哪几笔上，再看第二名的图：同样的笔画在那里是红还是蓝？",
        "上排三幅 28×28 小图：左边是一张手写的 2；中间和右边是它和得分最高的两个类别的权重逐像素相乘的结果，红蓝两色，各自下面写着求和、偏置和得分；再往下是一条从蓝经白到红的色标。下排两幅横向柱状图，分别是数字 0 到 9 的得分和 softmax 概率，得分最高的两类画成深色。",
        data="single_layer_data",
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
        data="mistakes_data", narrow=True,
    ),
    FigureSpec(
        "mnist-shift-flip", "shift_test", "shift_flip", ("mnist-1layer", convnet_name("mnist")),
        ("mnist",),
        "同一个测试数字，原样和往四个方向各平移 2 个像素（移出去的部分丢掉，空出来的地方填黑）。每张图下面是两个网络的答案：“单层”是上一章的单层网络，“卷积”是最后一章的小卷积网络，认错的标成橙色并注明“错”。这个数字是按固定规则挑出来的：在两个网络不平移时都认对的数字里，先找卷积网络平移后认错次数最少的，其中再找单层网络认错次数最多的（还相同就取测试集里排在前面的）。",
        "五张并排的手写数字小图，各有一个细边框：第一张是原图，其余四张是同一个数字往左、右、上、下各挪了 2 个像素。每张图下面两行字写着单层网络和卷积网络各把它认成了几，认错的答案用橙色加粗并注明“错”：看两行字在挪动以后哪一行变了。",
        data="shift_flip_data",
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
        data="confusion_samples_data", narrow=True,
    ),
    FigureSpec(
        "cifar-samples", "cifar", "samples", (), ("cifar10",),
        "从 CIFAR-10 测试集里随机抽出的图像（随机种子固定），上方是它们的类别。",
        "三十二张小幅彩色照片，有飞机、汽车、鸟、猫、鹿、狗、青蛙、马、船和卡车，每张上方写着类别名。",
        data="samples_data", narrow=True,
    ),
    FigureSpec(
        "cifar-weights-all", "cifar", "weights_all", ("cifar-1layer",), ("cifar10",),
        "单层 CIFAR-10 网络 10 个输出神经元的权重，按颜色通道还原成 32×32 的彩色图像。看看哪几个模板的四周偏蓝，它们是什么类别。",
        "两行共十幅模糊的彩色图，分别标着十个类别；每一幅都是平滑过渡的色块，有的中间能看出一团和背景颜色不同的轮廓。",
        data="weights_all_data", narrow=True,
    ),
    FigureSpec(
        "cifar-templates-vs-averages", "templates", "cifar_templates", ("cifar-1layer",),
        ("cifar10",),
        "单层 CIFAR-10 网络的模板和每一类训练图像的平均样子并排。每一列是一类，从上到下依次是：这一类全部训练图像的平均、它的模板，以及差值，即模板减去按最合适的比例缩放后的平均图像（灰色表示差值为 0，偏向哪种颜色，就是模板比缩放后的平均图像更看重这种颜色）。前两行的每幅图都按自己的范围拉伸了明暗。列头的 r 是模板和平均图像的相关系数。比一比前两行：模板和平均图像像到什么程度？",
        "两组各三行五列的彩色小图，对应十个类别，每列上方写着类名和相关系数 r。第一行是模糊的平均照片，大多是中间一团、四周一圈的色块；第二行是模板，色块的分布和第一行相似；第三行是以灰色为底的差值图，色块的分布又和模板相似。",
        data="cifar_templates_data", train=True,
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
        "双层 MNIST 网络：顶部是 10 个隐藏神经元的输入权重（过滤器）；下面每一行对应一个数字类别，柱子是该类输出神经元从每个隐藏神经元得到的权重，红色为正、蓝色为负。挑一行，找出最高的红柱和最长的蓝柱，再回到顶部看看这两个过滤器长什么样。",
        "顶部一排十幅灰度小图，是明暗交错的斑块；下面十行柱状图，每行标着一个数字，柱子对齐上方的过滤器，有向上的红柱和向下的蓝柱。",
        data="hidden_filters_data", narrow=True,
    ),
    FigureSpec(
        "mnist-trace-hidden", "trace", "two_layer", ("mnist-1layer", "mnist-2layer"),
        ("mnist",),
        "同一张 2 走过双层网络。上半部分每行一个隐藏神经元：左边是它的加权和 z 落在 sigmoid 曲线上的位置，右边是由此得到的激活值 h。下半部分每行一个类别：它的得分是偏置 b 加上 10 项“输出权重 × h”，推高得分的项画成红色、拉低的画成蓝色，从 0 往两边堆，格子里的数字是隐藏神经元的编号，每行下面的细条是合计的得分。看得分最高的那一行：最长的几块红色来自哪几个隐藏神经元？再回到上半部分，看看它们的激活值各是多少。",
        "上半部分十行，每行一条小小的 S 形曲线，曲线上有一个圆点标出这个隐藏神经元的加权和 z 落在哪里，右边一根灰色横条是激活值，标着它的数值。下半部分十行，标着数字 0 到 9，每行一根由红色和蓝色小块拼成的横条，块里写着隐藏神经元的编号，灰色的块是偏置，横条下面一根黑色细条是合计；最右边一列写着得分和概率。",
        data="two_layer_data",
    ),
    FigureSpec(
        "mnist-hidden-top-images", "hidden", "top_images", ("mnist-2layer",), ("mnist",),
        "双层 MNIST 网络的 10 个隐藏神经元，每行一个，行首是它的过滤器；两组图分别是测试集里让它最兴奋（激活值最高）的 8 张和最不兴奋的 8 张（窄屏上两组上下分开，每行重复一遍过滤器）。看看每个神经元最兴奋的 8 张：是同一个数字，还是好几个数字混在一起？",
        "每个隐藏神经元一行图像：行首是一幅灰度过滤器小图，后面是手写数字，一组 8 张是让这个神经元激活最强的测试图像，另一组 8 张是激活最弱的；两组或并排，或上下分开。",
        data="top_images_data", narrow=True,
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
        data="convnet_filters_data", narrow=True,
    ),
    FigureSpec(
        "mnist-shift-accuracy", "shift_test", "shift_accuracy", _SHIFT_RUNS, ("mnist",),
        "把 300 张测试数字（每个数字随机取 30 张，随机种子固定）左右或上下平移 0 到 4 个像素（移出去的部分丢掉，空出来的地方填黑）以后，三个网络的准确率：单层网络、容量实验里最好的多层网络和卷积网络。线是换随机种子训练三次的平均，色带是三次的范围。先看平移 2 个像素时三条线各掉了多少，再看平移到 4 个像素时，卷积网络还剩多少。",
        "上下两幅折线图，横轴是平移的像素数，中间是 0，往左是向左（上图）或向上（下图）平移，往右是向右或向下平移，纵轴是准确率。每幅图三条线：单层网络、最好的多层网络和卷积网络，每条线外面有一条浅色的带。三条线都在中间平移为 0 处最高，往两边下降：比一比三条线下降得有多快。",
        data="shift_accuracy_data",
    ),
    FigureSpec(
        "representation-maps", "maps", "representation_maps", ("mnist-2layer", "mnist-conv"),
        ("mnist",),
        "同一批 MNIST 测试图像的三种表示：原始像素、双层网络隐藏层的激活值、卷积网络最后一个隐藏层的激活值（标题里写着每张图有几个数）。每种表示都用主成分分析（PCA）压成平面上的点，点的颜色是图像真正的数字，圆圈里的数字标在同一种颜色的点群中间。比一比三幅图：同一个数字的点在哪一幅里聚得最紧、和别的数字分得最开？再看每幅图下方写的两根轴留住了多少变化。",
        "三幅方形散点图，每幅有两千个小色点，每种颜色代表一个数字 0 到 9，圆圈里的数字标在该颜色点群的中间；每幅上方写着表示的名字和每张图的数值个数，下方写着两根轴留住了全部变化的百分之几；最下面一排是十种颜色的图例。看同一种颜色的点是聚成一团，还是散开、和别的颜色混在一起。",
        data="representation_maps_data", narrow=True,
    ),
    FigureSpec(
        "training-curves", "curves", "training_curves", tuple(experiment_names()), (),
        "本站每个网络的训练过程：每种网络一对小图，上面是每一轮的训练损失，下面是每一轮结束时在测试集上的准确率；名字后面写着“×3”的，是换随机种子训练的三次，三条曲线画在一起。每幅小图的纵轴按自己的数据取范围，看的是曲线的走势。轮数是事先定的：每种网络先用两倍的轮数训练三次，取测试准确率的平均离它最后的平台不到 1 个百分点的那一轮；这里画的是定下轮数以后的训练。",
        "许多组上下成对的小折线图，每组标着一种网络的名字。上面是训练损失随轮数变化的曲线，下面是测试准确率随轮数变化的曲线，横轴都是训练轮数；训练了三次的网络每幅小图里有三条曲线。",
        data="training_curves_data", narrow=True,
    ),
)


def get_figure(name: str) -> FigureSpec:
    return {spec.name: spec for spec in FIGURES}[name]
