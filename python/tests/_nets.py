"""Small PyTorch networks and the ways the tests quantize them (eager PTQ / QAT, FX).

Each network has QuantStub / DeQuantStub (identities in float, so the float model exports to
ONNX without them) and FUSE, the eager fusion lists. Weights and calibration data are seeded.
"""
import copy

import torch
import torch.nn as nn
import torch.ao.nn.quantized as nnq
import torch.ao.quantization as tq


class Subnet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 1)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.conv4 = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        x = self.relu1(self.conv1(x))
        x = self.conv2(x)
        x = self.relu3(self.conv3(x))
        return self.conv4(x)


class SeedNet(nn.Module):
    """The seed's network (001): conv1..3 and subnet.conv1..4."""
    FUSE = [["conv1", "relu1"], ["conv2", "relu2"], ["subnet.conv1", "subnet.relu1"],
            ["subnet.conv3", "subnet.relu3"]]
    INPUT = (1, 3, 10, 10)

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(8, 8, 1)
        self.subnet = Subnet()
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.conv1(x))
        x = self.relu2(self.conv2(x))
        x = self.conv3(x)
        return self.dequant(self.subnet(x))


class InvertedResidual(nn.Module):
    """MobileNetV2's block, stride 1 with the residual: 1x1 expand, 3x3 depthwise, 1x1 project."""
    FUSE = [["expand", "expand_bn"], ["dw", "dw_bn"], ["project", "project_bn"]]
    INPUT = (1, 8, 9, 9)

    def __init__(self, c=8, expand=4):
        super().__init__()
        h = c * expand
        self.quant = tq.QuantStub()
        self.expand = nn.Conv2d(c, h, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(h)
        self.expand_relu = nn.ReLU6()
        self.dw = nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False)
        self.dw_bn = nn.BatchNorm2d(h)
        self.dw_relu = nn.ReLU6()
        self.project = nn.Conv2d(h, c, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(c)
        self.skip = nnq.FloatFunctional()
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        y = self.expand_relu(self.expand_bn(self.expand(x)))
        y = self.dw_relu(self.dw_bn(self.dw(y)))
        y = self.project_bn(self.project(y))
        return self.dequant(self.skip.add(x, y))


class CatNet(nn.Module):
    """Two branches concatenated on channels, then a convolution."""
    FUSE = [["left", "left_relu"], ["right", "right_relu"]]
    INPUT = (1, 3, 8, 8)

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.left = nn.Conv2d(3, 4, 3, padding=1)
        self.left_relu = nn.ReLU()
        self.right = nn.Conv2d(3, 6, 1)
        self.right_relu = nn.ReLU()
        self.cat = nnq.FloatFunctional()
        self.mix = nn.Conv2d(10, 5, 3, padding=1)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        y = self.cat.cat([self.left_relu(self.left(x)), self.right_relu(self.right(x))], dim=1)
        return self.dequant(self.mix(y))


class MLP(nn.Module):
    FUSE = [["fc1", "relu1"], ["fc2", "relu2"]]
    INPUT = (4, 20)

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.fc1 = nn.Linear(20, 32)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(32, 16)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(16, 6)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu2(self.fc2(self.relu1(self.fc1(x))))
        return self.dequant(self.fc3(x))


class ConvBN(nn.Module):
    """conv + BN + ReLU, then conv + BN: the folding cases."""
    FUSE = [["conv1", "bn1", "relu1"], ["conv2", "bn2"]]
    INPUT = (1, 4, 8, 8)

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 6, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(6)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.bn1(self.conv1(x)))
        return self.dequant(self.bn2(self.conv2(x)))


class UpNet(nn.Module):
    """A convolution, then ConvTranspose2d (stride 2) upsampling: TFLite's TRANSPOSE_CONV."""
    FUSE = [["conv", "relu"]]
    INPUT = (1, 3, 5, 5)

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.up = nn.ConvTranspose2d(4, 6, 2, stride=2)
        self.dequant = tq.DeQuantStub()

    def qconfig_override(self, qc, qat):
        # torch 1.13 quantizes ConvTranspose2d weights per tensor only.
        w = tq.default_weight_fake_quant if qat else tq.default_weight_observer
        self.up.qconfig = tq.QConfig(activation=qc.activation, weight=w)

    def forward(self, x):
        return self.dequant(self.up(self.relu(self.conv(self.quant(x)))))


NETS = {"seed": SeedNet, "inverted_residual": InvertedResidual, "cat": CatNet, "mlp": MLP,
        "conv_bn": ConvBN, "up": UpNet}


def make_float(name, seed=0):
    """The float network, eval mode, with non-trivial BN statistics."""
    torch.manual_seed(seed)
    net = NETS[name]()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            assert n == m.running_mean.numel()
    return net.eval()


def inputs(name, count=1, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*NETS[name].INPUT, generator=g) for _ in range(count)]


# qconfigs. qnnpack: per-tensor symmetric int8 weights; onednn: per-channel. "int8act": qnnpack
# with qint8 activations (torch 1.13's qnnpack runs qint8 through XNNPACK), for TFLite's int8
# kernels, which take int8 weights only with int8 activations.
def qconfig(variant, qat=False):
    if variant == "qnnpack":
        return tq.get_default_qat_qconfig("qnnpack") if qat else tq.get_default_qconfig("qnnpack")
    if variant == "onednn":
        return tq.get_default_qat_qconfig("onednn") if qat else tq.get_default_qconfig("onednn")
    per_channel = variant == "int8act_pc"
    assert variant in ("int8act", "int8act_pc"), variant
    if qat:
        act = tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver,
                                        quant_min=-128, quant_max=127, dtype=torch.qint8)
        if per_channel:
            w = tq.default_per_channel_weight_fake_quant
        else:
            w = tq.default_weight_fake_quant
    else:
        act = tq.MinMaxObserver.with_args(dtype=torch.qint8)
        w = tq.default_per_channel_weight_observer if per_channel else tq.default_weight_observer
    return tq.QConfig(activation=act, weight=w)


def engine_for(variant):
    return "onednn" if variant == "onednn" else "qnnpack"


def prepared(name, variant, qat=False, calib=4):
    """The eager-prepared model (observers / FakeQuantize), calibrated; and the float model."""
    torch.backends.quantized.engine = engine_for(variant)
    fl = make_float(name)
    m = copy.deepcopy(fl)
    if qat:
        m.train()
        m = tq.fuse_modules_qat(m, m.FUSE)
        m.qconfig = qconfig(variant, qat=True)
        if hasattr(m, "qconfig_override"):
            m.qconfig_override(m.qconfig, True)
        tq.prepare_qat(m, inplace=True)
        # No optimizer steps: BN statistics stay those of the float model, so the float model is
        # the one QAT folds; the fake-quant ranges are learned from these batches.
        m.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
    else:
        m = tq.fuse_modules(m, m.FUSE)
        m.qconfig = qconfig(variant)
        if hasattr(m, "qconfig_override"):
            m.qconfig_override(m.qconfig, False)
        tq.prepare(m, inplace=True)
    with torch.no_grad():
        for x in inputs(name, calib, seed=7):
            m(x)
    return m, fl


def converted(name, variant, qat=False):
    m, fl = prepared(name, variant, qat)
    q = tq.convert(copy.deepcopy(m).eval(), inplace=False)
    return q, m, fl
