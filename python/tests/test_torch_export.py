"""export_qparams on small networks: every value checked against torch's own tensors.

The reference is read from the converted torch model with forward hooks (each module's input and
output tensors as torch computes them), independently of the exporter's torch.fx walk.
"""
import copy
import json
import os

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.ao.nn.quantized as nnq
import torch.ao.quantization as tq
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx, prepare_qat_fx

import _nets
from qimplant.torch import ExportError, export_qparams

DT = {torch.quint8: "uint8", torch.qint8: "int8"}


def load(d):
    q = json.load(open(os.path.join(d, "qparam.json")))
    out = {}
    for k, e in q.items():
        r = dict(e)
        for f in ("scale", "zerop", "value"):
            if f in e:
                r[f] = np.load(os.path.join(d, e[f]))
        out[k] = r
    return out


def torch_tensors(q, x):
    """{module name: (input tensor, output tensor)} from hooks; QFunctional through its
    activation_post_process (the Identity its result passes)."""
    seen, hooks = {}, []
    for name, m in q.named_modules():
        if name.endswith(".activation_post_process"):
            parent = name[: -len(".activation_post_process")]
            hooks.append(m.register_forward_hook(
                lambda mod, i, o, p=parent: seen.__setitem__(p, (None, o))))
        elif name and type(m).__module__.startswith("torch.") and not isinstance(m, nn.Sequential) \
                and not name.endswith("_packed_params"):
            hooks.append(m.register_forward_hook(
                lambda mod, i, o, n=name: seen.__setitem__(n, (i[0], o))))
    with torch.no_grad():
        q(x)
    for h in hooks:
        h.remove()
    return seen


def check_activation(e, t):
    assert e["dtype"] == DT[t.dtype]
    assert e["scale"].dtype == np.float32 and e["zerop"].dtype == np.int64
    assert e["scale"].tolist() == [np.float32(t.q_scale())]
    assert e["zerop"].tolist() == [t.q_zero_point()]


def expected_layout(mod, w):
    """Torch weight (OIHW etc.) -> the model's layout, and the torch channel axis's new place."""
    a = w.int_repr().numpy()
    if isinstance(mod, nnq.ConvTranspose2d):
        return a.transpose(1, 2, 3, 0), {1: 0}
    if isinstance(mod, nnq.Conv2d):
        if mod.groups == mod.in_channels and mod.groups > 1:
            return a.transpose(1, 2, 3, 0), {0: 3}   # [C*M,1,kH,kW] -> [1,kH,kW,C*M]
        return a.transpose(0, 2, 3, 1), {0: 0}       # OIHW -> OHWI
    return a, {0: 0}                                 # Linear


def check_converted(q, x, got):
    """Every key against the torch tensors; returns the number of keys checked."""
    seen = torch_tensors(q, x)
    checked = set()
    for name, m in q.named_modules():
        if isinstance(m, nnq.Quantize):
            check_activation(got[name], seen[name][1])
            checked.add(name)
        elif isinstance(m, (nnq.Conv2d, nnq.Linear, nnq.ConvTranspose2d)):
            t_in, t_out = seen[name]
            check_activation(got[name], t_out)
            w = m.weight()
            we = got[name + ".weight"]
            value, axes = expected_layout(m, w)
            assert we["dtype"] == DT[w.dtype]
            assert we["value"].dtype == value.dtype and we["value"].shape == value.shape
            np.testing.assert_array_equal(we["value"], value)
            if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
                sw = w.q_per_channel_scales().double().numpy()
                assert we["quantized_dimension"] == axes[w.q_per_channel_axis()]
                np.testing.assert_array_equal(we["scale"], sw.astype(np.float32))
                np.testing.assert_array_equal(we["zerop"], w.q_per_channel_zero_points().numpy())
            else:
                sw = np.array([w.q_scale()])
                assert we["scale"].tolist() == [np.float32(w.q_scale())]
                assert we["zerop"].tolist() == [w.q_zero_point()]
            checked |= {name, name + ".weight"}
            b = m.bias()
            b = None if b is None else b.detach()
            if b is not None:
                be = got[name + ".bias"]
                s = t_in.q_scale() * sw
                assert be["dtype"] == "int32" and be["value"].dtype == np.int32
                np.testing.assert_allclose(be["scale"], s, rtol=1e-6)
                np.testing.assert_array_equal(be["zerop"], np.zeros(len(s), np.int64))
                np.testing.assert_array_equal(
                    be["value"], np.rint(b.double().numpy() / s.astype(np.float32)))
                checked.add(name + ".bias")
        elif name in seen and isinstance(seen[name][1], torch.Tensor) \
                and seen[name][1].is_quantized and not isinstance(m, nn.Identity):
            # Ops without parameters: ReLU6, pools, FloatFunctional add / cat.
            check_activation(got[name], seen[name][1])
            checked.add(name)
    assert checked == set(got), set(got) ^ checked
    return len(checked)


CASES = [(n, v, qat) for n in _nets.NETS for v in ("qnnpack", "onednn") for qat in (False, True)]


@pytest.mark.parametrize("name,variant,qat", CASES)
def test_converted_and_prepared_models(tmp_path, name, variant, qat):
    q, prepared, _ = _nets.converted(name, variant, qat)
    x = _nets.inputs(name, seed=5)[0]
    before = copy.deepcopy(prepared.state_dict())
    export_qparams(q, tmp_path / "converted", (x,))
    export_qparams(prepared, tmp_path / "prepared", (x,))
    got = load(tmp_path / "converted")
    n = check_converted(q, x, got)
    assert n == {"seed": 22, "inverted_residual": 13, "cat": 11, "mlp": 10, "conv_bn": 7,
                 "up": 7}[name]
    # The prepared model is read as torch's convert reads it, and left as it was.
    other = load(tmp_path / "prepared")
    assert list(other) == list(got)
    for k in got:
        for f in got[k]:
            np.testing.assert_array_equal(got[k][f], other[k][f], err_msg=f"{k}.{f}")
    after = prepared.state_dict()
    assert list(before) == list(after)
    for k in before:
        assert torch.equal(before[k], after[k]), k


@pytest.mark.parametrize("qat", [False, True])
def test_bn_folded_as_torch_folds_it(tmp_path, qat):
    q, prepared, fl = _nets.converted("conv_bn", "onednn", qat)
    export_qparams(prepared, tmp_path, (_nets.inputs("conv_bn")[0],))
    got = load(tmp_path)
    for conv, bn in (("conv1", "bn1"), ("conv2", "bn2")):
        c, b = getattr(fl, conv), getattr(fl, bn)
        w, bias = torch.nn.utils.fusion.fuse_conv_bn_weights(
            c.weight, c.bias, b.running_mean, b.running_var, b.eps, b.weight, b.bias)
        e = got[conv + ".weight"]
        real = e["value"].astype(np.float64) * e["scale"].reshape(-1, 1, 1, 1)   # OHWI, axis 0
        want = w.detach().double().numpy().transpose(0, 2, 3, 1)
        # Within half a step of the folded float weight: the fold is torch's, only rounded.
        assert np.all(np.abs(real - want) <= 0.5 * e["scale"].reshape(-1, 1, 1, 1) + 1e-7)
        be = got[conv + ".bias"]
        np.testing.assert_allclose(be["value"] * be["scale"], bias.detach().numpy(),
                                   atol=float(be["scale"].max()))


def test_graph_file(tmp_path):
    q, prepared, _ = _nets.converted("inverted_residual", "onednn")
    export_qparams(q, tmp_path, (_nets.inputs("inverted_residual")[0],))
    g = json.load(open(tmp_path / "qparam.graph.json"))
    qp = load(tmp_path)
    assert g["format"] == "qimplant-graph" and g["version"] == 1
    assert g["producer"].startswith("qimplant.torch ")
    assert g["inputs"] == ["quant"] and g["outputs"] == ["skip"]
    ops = [(n["op"], n["output"], n["inputs"]) for n in g["nodes"]]
    assert ops == [
        ("conv2d", "expand", ["quant"]), ("relu6", "expand_relu", ["expand"]),
        ("depthwise_conv2d", "dw", ["expand_relu"]), ("relu6", "dw_relu", ["dw"]),
        ("conv2d", "project", ["dw_relu"]), ("add", "skip", ["quant", "project"])]
    for n in g["nodes"]:
        if "weight" in n:
            assert n["weight"] == n["module"] + ".weight" and n["bias"] == n["module"] + ".bias"
            assert n["weight_shape"] == list(qp[n["weight"]]["value"].shape)
    assert g["nodes"][2]["weight_shape"] == [1, 3, 3, 32]
    assert g["nodes"][5]["type"] == "QFunctional"


def test_fused_activation_in_graph(tmp_path):
    q, _, _ = _nets.converted("seed", "qnnpack")
    export_qparams(q, tmp_path, (_nets.inputs("seed")[0],))
    g = json.load(open(tmp_path / "qparam.graph.json"))
    acts = {n["output"]: n.get("activation", "") for n in g["nodes"]}
    assert acts == {"conv1": "relu", "conv2": "relu", "conv3": "", "subnet.conv1": "relu",
                    "subnet.conv2": "", "subnet.conv3": "relu", "subnet.conv4": ""}
    assert g["outputs"] == ["subnet.conv4"]
    # The keys of the seed's own (hand-written) qparam.json for this network, 001.
    layers = ["conv1", "conv2", "conv3"] + [f"subnet.conv{i}" for i in range(1, 5)]
    want = {"quant"} | {f"{l}{s}" for l in layers for s in ("", ".weight", ".bias")}
    assert set(json.load(open(tmp_path / "qparam.json"))) == want


def test_bad_example_inputs_name_the_node(tmp_path):
    q, _, _ = _nets.converted("seed", "qnnpack")
    with pytest.raises(ExportError, match=r"example_inputs: torch.fx node 'conv1' .*failed"):
        export_qparams(q, tmp_path, torch.randn(1, 5, 10, 10))   # 5 channels, conv1 takes 3
    assert not os.path.exists(tmp_path / "qparam.json")


@pytest.mark.parametrize("qat", [False, True])
def test_fx_models(tmp_path, qat):
    torch.backends.quantized.engine = "qnnpack"
    fl = _nets.make_float("cat")
    x = _nets.inputs("cat")[0]
    qmap = tq.get_default_qat_qconfig_mapping("qnnpack") if qat else \
        tq.get_default_qconfig_mapping("qnnpack")
    m = copy.deepcopy(fl)
    p = prepare_qat_fx(m.train(), qmap, (x,)) if qat else prepare_fx(m, qmap, (x,))
    for c in _nets.inputs("cat", 3, seed=9):
        p(c)
    q = convert_fx(copy.deepcopy(p).eval())
    export_qparams(q, tmp_path / "c", (x,))
    export_qparams(p, tmp_path / "p", (x,))
    got = load(tmp_path / "c")
    # The FX input quantization takes the forward argument's name, functions their node names.
    assert list(got) == ["x", "left.weight", "left.bias", "left", "right.weight", "right.bias",
                         "right", "cat", "mix.weight", "mix.bias", "mix"]
    inp = q.left_input_scale_0
    assert got["x"]["scale"].tolist() == [np.float32(inp)]
    for mod in ("left", "right", "mix"):
        m = getattr(q, mod)
        assert got[mod]["scale"].tolist() == [np.float32(m.scale)]
        assert got[mod]["zerop"].tolist() == [m.zero_point]
        np.testing.assert_array_equal(got[mod + ".weight"]["value"],
                                      m.weight().int_repr().numpy().transpose(0, 2, 3, 1))
    out = q(x)
    assert got["mix"]["scale"].tolist() == [np.float32(q.mix.scale)] and out.dtype == torch.float32
    g = json.load(open(tmp_path / "c" / "qparam.graph.json"))
    assert g["inputs"] == ["x"] and g["outputs"] == ["mix"]
    assert [n["op"] for n in g["nodes"]] == ["conv2d", "conv2d", "cat", "conv2d"]
    assert g["nodes"][2]["inputs"] == ["left", "right"]
    assert g["nodes"][0]["activation"] == "relu"
    other = load(tmp_path / "p")
    assert list(other) == list(got)
    for k in got:
        for f in got[k]:
            np.testing.assert_array_equal(got[k][f], other[k][f], err_msg=f"{k}.{f}")


class _TConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.up = nn.ConvTranspose2d(4, 6, 2, stride=2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(6, 3)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        y = self.pool(self.up(self.quant(x)))
        y = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, 1), 1)
        return self.dequant(self.fc(y))


def test_conv_transpose_pool_flatten(tmp_path):
    torch.backends.quantized.engine = "qnnpack"
    torch.manual_seed(0)
    m = _TConv().eval()
    m.qconfig = tq.get_default_qconfig("qnnpack")
    tq.prepare(m, inplace=True)
    x = torch.randn(1, 4, 5, 5)
    m(x)
    q = tq.convert(m)
    export_qparams(q, tmp_path, (x,))
    got = load(tmp_path)
    check_converted_keys = {"quant", "up.weight", "up.bias", "up", "pool", "adaptive_avg_pool2d",
                            "flatten", "fc.weight", "fc.bias", "fc"}
    assert set(got) == check_converted_keys
    w = q.up.weight()
    assert tuple(w.shape) == (4, 6, 2, 2)
    # TRANSPOSE_CONV's filter: [output channels, kH, kW, input channels].
    np.testing.assert_array_equal(got["up.weight"]["value"],
                                  w.int_repr().numpy().transpose(1, 2, 3, 0))
    assert got["up.weight"]["value"].shape == (6, 2, 2, 4)
    seen = torch_tensors(q, x)
    check_activation(got["up"], seen["up"][1])
    check_activation(got["pool"], seen["pool"][1])   # what torch gives the max pool: up's
    assert got["pool"]["scale"].tolist() == got["up"]["scale"].tolist()
    s_in = seen["fc"][0].q_scale()
    check_activation(got["flatten"], seen["fc"][0])
    np.testing.assert_allclose(got["fc.bias"]["scale"], [s_in * q.fc.weight().q_scale()],
                               rtol=1e-6)
    g = json.load(open(tmp_path / "qparam.graph.json"))
    assert [n["op"] for n in g["nodes"]] == ["conv_transpose2d", "max_pool2d", "mean", "flatten",
                                             "linear"]
    assert g["nodes"][0]["weight_shape"] == [6, 2, 2, 4]
    assert g["nodes"][3]["type"] == "torch.flatten"


def test_dynamic_linear_is_refused(tmp_path):
    m = _nets.make_float("mlp")
    d = tq.quantize_dynamic(m, {nn.Linear}, dtype=torch.qint8)
    with pytest.raises(ExportError, match=r"module 'fc1' \(.*dynamic.*\.Linear\) is dynamically"):
        export_qparams(d, tmp_path, (_nets.inputs("mlp")[0],))
    assert not os.path.exists(tmp_path / "qparam.json")


class _WithBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv = nn.Conv2d(3, 4, 1)
        self.act = nn.ELU()
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.act(self.conv(self.quant(x))))


def test_unknown_quantized_module_is_refused(tmp_path):
    torch.backends.quantized.engine = "qnnpack"
    m = _WithBN().eval()
    m.qconfig = tq.get_default_qconfig("qnnpack")
    tq.prepare(m, inplace=True)
    x = torch.randn(1, 3, 4, 4)
    m(x)
    q = tq.convert(m)
    assert type(q.act).__name__ == "ELU"
    assert type(q.act).__module__.startswith("torch.ao.nn.quantized")
    with pytest.raises(ExportError, match=r"module 'act' \(torch\.ao\.nn\.quantized.*\.ELU\)"):
        export_qparams(q, tmp_path, (x,))
    assert not os.path.exists(tmp_path / "qparam.json")


def test_unknown_function_is_refused(tmp_path):
    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = tq.QuantStub()
            self.dequant = tq.DeQuantStub()

        def forward(self, x):
            return self.dequant(torch.nn.functional.interpolate(self.quant(x), scale_factor=2.0))

    torch.backends.quantized.engine = "qnnpack"
    m = Up().eval()
    m.qconfig = tq.get_default_qconfig("qnnpack")
    tq.prepare(m, inplace=True)
    x = torch.randn(1, 2, 3, 3)
    m(x)
    q = tq.convert(m)
    with pytest.raises(ExportError, match=r"torch\.fx node 'interpolate' \(.*interpolate\)"):
        export_qparams(q, tmp_path, (x,))


def test_pt2e_graph_is_refused(tmp_path):
    """torch 1.13 has no quantized_decomposed ops: a stand-in of that name shows the refusal."""
    if not hasattr(torch.ops.quantized_decomposed, "quantize_per_tensor"):
        lib = torch.library.Library("quantized_decomposed", "DEF")
        lib.define("quantize_per_tensor(Tensor x, float s, int zp) -> Tensor")
        lib.impl("quantize_per_tensor", lambda x, s, zp: torch.round(x / s) + zp, "CPU")
        test_pt2e_graph_is_refused.lib = lib  # keep the registration alive

    class Q(nn.Module):
        def forward(self, x):
            return torch.ops.quantized_decomposed.quantize_per_tensor(x, 0.1, 0)

    gm = torch.fx.symbolic_trace(Q())
    with pytest.raises(ExportError, match=r"quantize_per_tensor.*PT2E \(quantized_decomposed\)"):
        export_qparams(gm, tmp_path, (torch.randn(2, 3),))


def _header_op_kinds():
    """The op kinds src/match/source_graph.h documents for source_op_kinds()."""
    import re
    root = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)
    text = open(os.path.join(root, "src", "match", "source_graph.h")).read()
    block = text[text.index("// The op kinds producers write:"):text.index("source_op_kinds();")]
    return set(re.findall(r'"([a-z0-9_]+)"', block))


def test_graph_ops_are_the_documented_kinds(tmp_path):
    kinds = _header_op_kinds()
    assert {"conv2d", "depthwise_conv2d", "linear", "add", "cat"} <= kinds
    seen = set()
    for name in _nets.NETS:
        q, _, _ = _nets.converted(name, "qnnpack")
        export_qparams(q, tmp_path / name, (_nets.inputs(name)[0],))
        g = json.load(open(tmp_path / name / "qparam.graph.json"))
        keys = set(json.load(open(tmp_path / name / "qparam.json")))
        for n in g["nodes"]:
            seen.add(n["op"])
            assert n["output"] in keys and set(n["inputs"]) <= keys
            assert set(n) <= {"op", "output", "inputs", "weight", "bias", "weight_shape",
                              "activation", "module", "type"}
        assert set(g["inputs"]) | set(g["outputs"]) <= keys
    assert seen <= kinds, seen - kinds
    assert seen == {"conv2d", "depthwise_conv2d", "linear", "relu6", "add", "cat",
                    "conv_transpose2d"}


def test_a_module_called_twice_gets_numbered_keys(tmp_path):
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = tq.QuantStub()
            self.conv = nn.Conv2d(2, 2, 1)
            self.relu = nn.ReLU()
            self.dequant = tq.DeQuantStub()

        def forward(self, x):
            x = self.quant(x)
            return self.dequant(self.relu(self.conv(self.relu(x))))

    torch.backends.quantized.engine = "qnnpack"
    m = Twice().eval()
    m.qconfig = tq.get_default_qconfig("qnnpack")
    tq.prepare(m, inplace=True)
    x = torch.randn(1, 2, 3, 3)
    m(x)
    q = tq.convert(m)
    export_qparams(q, tmp_path, (x,))
    g = json.load(open(tmp_path / "qparam.graph.json"))
    assert [(n["op"], n["output"], n["inputs"]) for n in g["nodes"]] == [
        ("relu", "relu", ["quant"]), ("conv2d", "conv", ["relu"]), ("relu", "relu_1", ["conv"])]
    assert g["outputs"] == ["relu_1"]
