"""Export a quantized PyTorch model's parameters for q-implant.

    from qimplant.torch import export_qparams
    export_qparams(model, "out/", example_inputs=(x,))

writes out/qparam.json with its npy files (ONE's format, README "qparam.json") and
out/qparam.graph.json (the graph as torch ran it, format in src/match/source_graph.h).

What it promises:
- `model` is a converted model (eager `torch.ao.quantization.convert`, FX `convert_fx`) or a
  QAT / PTQ prepared one (observers or FakeQuantize attached). A prepared model is converted on a
  deep copy exactly as torch's own convert would do it (so BN is folded as torch folds it and
  weights are quantized with the weight observer's parameters); the caller's model is never
  modified and `example_inputs` runs only through converted copies, so no observer moves.
- Keys are PyTorch names: a module's output under the module's qualified name, its constants
  as `<module>.weight` / `<module>.bias`, a QuantStub's output under the stub's name, the input
  quantization of an FX model under the forward argument's name, and outputs of functions in
  forward (torch.flatten, torch.cat, quantized add in FX) under their torch.fx node names.
- Activation parameters are read from the tensors torch computes on `example_inputs`, so ops
  without parameters of their own (ReLU, pools, flatten, FloatFunctional, QuantStub) get exactly
  what torch gives them; dtypes are torch's (quint8 -> uint8, qint8 -> int8).
- Weights are integer `value` files in TFLite's layouts (see `_weight_layout`); biases are int32
  with scale s_in * s_w[c] and zero point 0, s_in being the scale of the tensor the layer reads.
- Whatever it cannot express (a dynamic-quantized Linear, a quantized module or function it
  does not know) raises ExportError naming the module or node and its type; nothing is written.
"""

import copy
import json
import operator
import os
import re
import tempfile

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

try:  # torch >= 1.13 keeps the quantized modules under torch.ao.nn
    import torch.ao.nn.quantized as nnq
except ImportError:  # pragma: no cover - older torch
    import torch.nn.quantized as nnq
try:  # torch >= 2.0
    import torch.ao.nn.intrinsic.quantized as nniq
except ImportError:  # torch 1.13
    import torch.nn.intrinsic.quantized as nniq
import torch.ao.quantization as tq
from torch.ao.quantization.fake_quantize import FakeQuantizeBase
from torch.ao.quantization.observer import ObserverBase

from . import __version__

GRAPH_FILE = "qparam.graph.json"


class ExportError(Exception):
    """The model holds something q-implant's format cannot express; the message names it."""


_DTYPES = {torch.quint8: "uint8", torch.qint8: "int8", torch.qint32: "int32"}

# Quantized functions that eager QFunctional and FX convert_fx call (torch.ops.quantized.*).
_QOPS = {
    "add": ("add", ""), "add_relu": ("add", "relu"), "mul": ("mul", ""),
    "mul_relu": ("mul", "relu"), "cat": ("cat", ""), "add_scalar": ("add", ""),
    "mul_scalar": ("mul", ""), "hardswish": ("hardswish", ""), "sigmoid": ("sigmoid", ""),
    "leaky_relu": ("leaky_relu", ""), "relu6": ("relu6", ""), "softmax": ("softmax", ""),
}

# Modules that compute on quantized tensors and own no parameters: op kind of source_graph.h.
_PLAIN_MODULES = [
    (nn.ReLU, "relu"), (nn.ReLU6, "relu6"), (nnq.ReLU6, "relu6"), (nnq.Hardswish, "hardswish"),
    (nn.Hardswish, "hardswish"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"),
    (nnq.LeakyReLU, "leaky_relu"), (nn.LeakyReLU, "leaky_relu"), (nnq.Softmax, "softmax"),
    (nn.Softmax, "softmax"), (nn.MaxPool2d, "max_pool2d"), (nn.AvgPool2d, "avg_pool2d"),
    (nn.Flatten, "flatten"),
]
_ALIAS_MODULES = (nn.Identity, nn.Dropout, nnq.Dropout)

_PLAIN_FUNCTIONS = {
    F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", F.hardswish: "hardswish",
    torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", torch.tanh: "tanh", F.tanh: "tanh",
    F.leaky_relu: "leaky_relu", F.softmax: "softmax", torch.softmax: "softmax",
    F.max_pool2d: "max_pool2d", torch.max_pool2d: "max_pool2d", F.avg_pool2d: "avg_pool2d",
    torch.flatten: "flatten", torch.reshape: "reshape", torch.cat: "cat", torch.concat: "cat",
    torch.permute: "transpose", torch.transpose: "transpose", torch.mean: "mean",
    F.pad: "pad",
}
_PLAIN_METHODS = {
    "relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "flatten": "flatten",
    "reshape": "reshape", "view": "reshape", "permute": "transpose", "transpose": "transpose",
    "mean": "mean",
}
_ALIAS_METHODS = {"contiguous", "clone", "detach"}


def export_qparams(model, outdir, example_inputs, graph_file=GRAPH_FILE):
    """Writes outdir/qparam.json, its npy files and outdir/<graph_file> (None: no graph file).

    `example_inputs`: a tuple of float tensors, one batch, as the model's forward takes them.
    Returns {key: {"dtype", "scale", "zerop", "quantized_dimension"[, "value"]}} with the
    arrays as numpy arrays, in the order written. Raises ExportError before writing anything.
    """
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    converted = _converted(model)
    gm = _graph_module(converted)
    values = _run(gm, example_inputs)
    # Types come from the model itself: the traced module keeps only the submodules it calls.
    exporter = _Exporter(gm, values, dict(converted.named_modules()))
    exporter.walk()
    _write(outdir, exporter, graph_file)
    return {k: {f: v for f, v in e.items()} for k, e in exporter.entries.items()}


# ---------------------------------------------------------------------------------------------
# Getting a converted model and its graph


def _is_prepared(model):
    return any(isinstance(m, (ObserverBase, FakeQuantizeBase)) for m in model.modules())


def _check_not_dynamic(model):
    for name, m in model.named_modules():
        if ".quantized.dynamic" in type(m).__module__:  # torch.ao.nn / torch.nn
            raise ExportError(
                f"module '{name}' ({type(m).__module__}.{type(m).__name__}) is dynamically "
                "quantized: its activations are quantized at run time with ranges no file can "
                "hold; quantize it statically (prepare + calibrate + convert) to export it")


def _converted(model):
    _check_not_dynamic(model)
    if not _is_prepared(model):
        return model
    # Converting a copy, as torch would: BN folding and weight quantization are torch's own.
    work = copy.deepcopy(model)
    work.eval()
    if isinstance(work, torch.fx.GraphModule):
        from torch.ao.quantization.quantize_fx import convert_fx
        return convert_fx(work)
    return tq.convert(work, inplace=False)


class _Tracer(torch.fx.Tracer):
    """Keeps every torch (and torch.ao) module a leaf, so quantized modules stay whole."""

    def is_leaf_module(self, m, qualname):
        mod = type(m).__module__
        return (mod.startswith("torch.nn") or mod.startswith("torch.ao.nn")) and \
            not isinstance(m, nn.Sequential)


def _graph_module(model):
    if isinstance(model, torch.fx.GraphModule):
        return model
    try:
        graph = _Tracer().trace(model)
    except Exception as e:  # torch.fx raises many kinds for untraceable Python
        raise ExportError(
            f"torch.fx cannot trace {type(model).__name__}.forward ({type(e).__name__}: {e}); "
            "the exporter needs a traceable forward (no control flow on tensor values)") from e
    return torch.fx.GraphModule(model, graph, type(model).__name__)


class _Recorder(torch.fx.Interpreter):
    def __init__(self, gm):
        super().__init__(gm)
        self.values = {}

    def run_node(self, n):
        try:
            out = super().run_node(n)
        except Exception as e:
            raise ExportError(f"example_inputs: torch.fx node '{n.name}' ({n.op} "
                              f"{_fn_name(n.target)}) failed: {type(e).__name__}: {e}") from e
        self.values[n] = out
        return out


def _run(gm, example_inputs):
    rec = _Recorder(gm)
    with torch.no_grad():
        rec.run(*example_inputs)
    return rec.values


# ---------------------------------------------------------------------------------------------
# Layouts


def _weight_layout(kind, shape):
    """(permutation from torch's weight layout to the model's, new axis of each torch axis).

    TFLite layouts: CONV_2D filter OHWI and DEPTHWISE_CONV_2D [1, kH, kW, C*M]
    (tensorflow/lite/kernels/conv.cc, depthwise_conv.cc; per-channel dimension 0 and 3 in the
    quantization spec), TRANSPOSE_CONV filter [output channels, kH, kW, input channels]
    (tensorflow/lite/kernels/transpose_conv.cc; quantized along dimension 0),
    FULLY_CONNECTED [out, in] as torch's Linear.
    """
    if kind == "conv2d":                  # torch [O, I/g, kH, kW] -> [O, kH, kW, I/g]
        perm = (0, 2, 3, 1)
    elif kind == "depthwise_conv2d":      # torch [C*M, 1, kH, kW] -> [1, kH, kW, C*M]
        perm = (1, 2, 3, 0)
    elif kind == "conv_transpose2d":      # torch [I, O, kH, kW] -> [O, kH, kW, I]
        perm = (1, 2, 3, 0)
    else:                                 # linear: [out, in] as it is
        perm = tuple(range(len(shape)))
    axis_map = {old: new for new, old in enumerate(perm)}
    return perm, axis_map


def _weight_kind(mod):
    # Exact types: subclasses such as onednn's ConvAdd2d / LinearLeakyReLU compute more than
    # the layer and are refused as unknown modules.
    t = type(mod)
    if t in (nnq.Conv2d, nniq.ConvReLU2d):
        if mod.groups == 1:
            return "conv2d"
        if mod.groups == mod.in_channels and mod.in_channels > 1:
            return "depthwise_conv2d"
        return "conv2d"  # grouped: TFLite CONV_2D takes filter_in = in / groups
    if t is nnq.ConvTranspose2d:
        return "conv_transpose2d"
    if t in (nnq.Linear, nniq.LinearReLU):
        return "linear"
    return None


def _fused_activation(mod):
    if isinstance(mod, (nniq.ConvReLU2d, nniq.LinearReLU)):
        return "relu"
    return ""


# ---------------------------------------------------------------------------------------------
# Walking the graph


def _activation_entry(t):
    if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return {"dtype": _DTYPES[t.dtype],
                "scale": np.array([t.q_scale()], dtype=np.float32),
                "zerop": np.array([t.q_zero_point()], dtype=np.int64),
                "quantized_dimension": 0}
    axis = t.q_per_channel_axis()
    if t.dim() == 4:  # NCHW -> NHWC
        axis = {0: 0, 1: 3, 2: 1, 3: 2}[axis]
    return {"dtype": _DTYPES[t.dtype],
            "scale": t.q_per_channel_scales().numpy().astype(np.float32),
            "zerop": t.q_per_channel_zero_points().numpy().astype(np.int64),
            "quantized_dimension": int(axis)}


def _is_q(v):
    return isinstance(v, torch.Tensor) and v.is_quantized


def _flat_nodes(args):
    out = []
    for a in args:
        if isinstance(a, torch.fx.Node):
            out.append(a)
        elif isinstance(a, (tuple, list)):
            out.extend(_flat_nodes(a))
        elif isinstance(a, dict):
            out.extend(_flat_nodes(list(a.values())))
    return out


def _fn_name(t):
    if isinstance(t, str):
        return t
    if isinstance(t, torch._ops.OpOverloadPacket) or isinstance(
            t, getattr(torch._ops, "OpOverload", ())):
        return "torch.ops." + str(t)
    mod = getattr(t, "__module__", None) or "torch"
    name = getattr(t, "__qualname__", None) or getattr(t, "__name__", None) or str(t)
    if name.startswith("_"):  # torch's C functions: torch._VariableFunctionsClass.flatten
        name = getattr(t, "__name__", name)
    return f"{mod}.{name}"


def _describe(n, mods):
    if n.op == "call_module":
        m = mods[n.target]
        return f"module '{n.target}' ({type(m).__module__}.{type(m).__name__})"
    what = "method ." if n.op == "call_method" else ""
    return f"torch.fx node '{n.name}' ({what}{_fn_name(n.target)})"


class _Exporter:
    def __init__(self, gm, values, mods):
        self.gm = gm
        self.values = values
        self.mods = mods
        self.key = {}        # fx node -> activation key of its (quantized) output
        self.entries = {}    # key -> entry (numpy arrays for npy fields), in execution order
        self.nodes = []      # graph nodes (dicts), execution order
        self.inputs, self.outputs = [], []
        self.used = set()

    # -- keys

    def _unique(self, key):
        if key not in self.used:
            self.used.add(key)
            return key
        i = 1
        while f"{key}_{i}" in self.used:
            i += 1
        self.used.add(f"{key}_{i}")
        return f"{key}_{i}"

    def _add_entry(self, key, entry, what):
        old = self.entries.get(key)
        if old is None:
            self.entries[key] = entry
            return
        same = old["dtype"] == entry["dtype"] and all(
            np.array_equal(old[f], entry[f]) for f in ("scale", "zerop", "value") if f in old)
        if not same:
            raise ExportError(f"{what}: key '{key}' would get two different parameter sets "
                              "(a module called twice with inputs of different scales)")

    def _data_inputs(self, n):
        keys = []
        for a in _flat_nodes(n.args) + _flat_nodes(list(n.kwargs.values())):
            if a in self.key:
                keys.append(self.key[a])
        return keys

    # -- the walk

    def walk(self):
        for n in self.gm.graph.nodes:
            if n.op in ("placeholder", "get_attr"):
                continue
            if n.op == "output":
                self._outputs(n)
                continue
            self._node(n)

    def _outputs(self, n):
        for a in _flat_nodes(n.args):
            k = self.key.get(a) or self.key.get(("dequant", a))
            if k is not None and k not in self.outputs:
                self.outputs.append(k)

    def _node(self, n):
        if n.op == "call_function" and \
                _fn_name(n.target).startswith("torch.ops.quantized_decomposed."):
            # torch 2.x PT2E graphs (int8 tensors between quantize / dequantize ops): torch 1.13,
            # which the tests have, has no such ops to check a reader against.
            raise ExportError(f"{_describe(n, self.mods)}: PT2E (quantized_decomposed) graphs "
                              "are not supported yet; quantize with eager mode or FX")
        v = self.values.get(n)
        mod = self.mods.get(n.target) if n.op == "call_module" else None

        # Quantization of a float input: QuantStub (eager) or quantize_per_tensor (FX).
        if isinstance(mod, nnq.Quantize) or (n.op == "call_function" and n.target in (
                torch.quantize_per_tensor, torch.quantize_per_channel)):
            src = n.args[0]
            if mod is not None:
                key = n.target
            else:
                key = src.name if isinstance(src, torch.fx.Node) and src.op == "placeholder" \
                    else n.name
            key = self._unique(key)
            self.key[n] = key
            self._add_entry(key, _activation_entry(v), _describe(n, self.mods))
            self.inputs.append(key)
            return

        # Dequantization: its input is a graph output when the result is returned.
        if isinstance(mod, nnq.DeQuantize) or (n.op == "call_method" and n.target == "dequantize") \
                or (n.op == "call_function" and n.target is torch.dequantize):
            src = n.args[0]
            if isinstance(src, torch.fx.Node) and src in self.key:
                self.key[("dequant", n)] = self.key[src]
            return

        if not _is_q(v):
            # Float tensors, shapes, sizes: nothing to quantize. A module that yields a tuple of
            # quantized tensors is outside what the format describes.
            if isinstance(v, (tuple, list)) and any(_is_q(x) for x in v):
                raise ExportError(f"{_describe(n, self.mods)} returns several quantized tensors; "
                                  "the exporter handles single-output operators only")
            if mod is not None and _weight_kind(mod) is not None:
                raise ExportError(f"{_describe(n, self.mods)} did not produce a quantized tensor")
            return

        if mod is not None:
            self._module_node(n, mod, v)
        else:
            self._function_node(n, v)

    def _module_node(self, n, mod, v):
        what = _describe(n, self.mods)
        if isinstance(mod, _ALIAS_MODULES) or n.target.endswith(".activation_post_process"):
            src = _flat_nodes(n.args)[0]
            if src in self.key:
                self.key[n] = self.key[src]
            return
        kind = _weight_kind(mod)
        if kind is not None:
            self._weighted(n, mod, v, kind)
            return
        for cls, op in _PLAIN_MODULES:
            if type(mod) is cls:  # exact: nnq.ReLU6 derives from nn.ReLU, nn.ReLU6 from Hardtanh
                self._plain(n, v, op, n.target, type(mod).__name__)
                return
        if isinstance(mod, nn.Hardtanh):
            op = "relu6" if (mod.min_val, mod.max_val) == (0.0, 6.0) else "hardtanh"
            self._plain(n, v, op, n.target, type(mod).__name__)
            return
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            size = mod.output_size
            op = "mean" if size in (1, (1, 1)) else "avg_pool2d"
            self._plain(n, v, op, n.target, type(mod).__name__)
            return
        hint = ""
        if isinstance(mod, nnq.BatchNorm2d):
            hint = ": fuse it into the convolution before it (torch.ao.quantization.fuse_modules)"
        raise ExportError(f"{what} is not something the exporter can express{hint}")

    def _function_node(self, n, v):
        what = _describe(n, self.mods)
        op, act = None, ""
        t = n.target
        if n.op == "call_function":
            qname = None
            if isinstance(t, torch._ops.OpOverloadPacket) or isinstance(
                    t, getattr(torch._ops, "OpOverload", ())):
                full = str(t)  # "quantized.add" / "quantized.add.default"
                parts = full.split(".")
                if parts[0] == "quantized":
                    qname = parts[1]

            if qname is not None:
                if qname not in _QOPS:
                    raise ExportError(f"{what}: quantized function '{qname}' is not something "
                                      "the exporter can express")
                op, act = _QOPS[qname]
            elif t in _PLAIN_FUNCTIONS:
                op = _PLAIN_FUNCTIONS[t]
            elif t in (operator.add, torch.add):
                op = "add"
            elif t in (operator.mul, torch.mul):
                op = "mul"
            elif t is F.hardtanh:
                lo = n.args[1] if len(n.args) > 1 else n.kwargs.get("min_val", -1.0)
                hi = n.args[2] if len(n.args) > 2 else n.kwargs.get("max_val", 1.0)
                op = "relu6" if (lo, hi) == (0.0, 6.0) else "hardtanh"
            elif t is F.adaptive_avg_pool2d:
                size = n.args[1] if len(n.args) > 1 else n.kwargs.get("output_size")
                op = "mean" if size in (1, (1, 1), [1, 1]) else "avg_pool2d"
            elif t is operator.getitem:
                raise ExportError(f"{what}: indexing a quantized tensor is not supported")
        elif n.op == "call_method":
            if t in _ALIAS_METHODS:
                src = n.args[0]
                if src in self.key:
                    self.key[n] = self.key[src]
                return
            op = _PLAIN_METHODS.get(t)
        if op is None:
            raise ExportError(f"{what} computes a quantized tensor and is not something the "
                              "exporter can express")
        # QFunctional: the function's result goes through `<ff>.activation_post_process`.
        module, typ = "", ("." + t if isinstance(t, str) else _fn_name(t))
        key = n.name
        users = list(n.users)
        if len(users) == 1 and users[0].op == "call_module" and \
                users[0].target.endswith(".activation_post_process"):
            module = users[0].target[: -len(".activation_post_process")]
            key, typ = module, type(self.mods[module]).__name__
        self._plain(n, v, op, key, typ, activation=act, module=module or None)

    def _plain(self, n, v, op, key, typ, activation="", module=None):
        key = self._unique(key)
        self.key[n] = key
        self._add_entry(key, _activation_entry(v), _describe(n, self.mods))
        node = {"op": op, "output": key, "inputs": self._data_inputs(n)}
        if activation:
            node["activation"] = activation
        node["module"] = module if module is not None else (
            n.target if n.op == "call_module" else n.name)
        node["type"] = typ
        self.nodes.append(node)

    def _weighted(self, n, mod, v, kind):
        what = _describe(n, self.mods)
        src = _flat_nodes(n.args)[0]
        x = self.values.get(src)
        if not _is_q(x) or src not in self.key:
            raise ExportError(f"{what} reads a tensor that is not quantized")
        if x.qscheme() not in (torch.per_tensor_affine, torch.per_tensor_symmetric):
            raise ExportError(f"{what} reads a per-channel quantized activation")
        s_in = float(x.q_scale())
        w = mod.weight()
        b = mod.bias()
        if kind == "conv_transpose2d" and mod.groups != 1:
            raise ExportError(f"{what} has groups={mod.groups}: TFLite's TRANSPOSE_CONV has no "
                              "groups")
        perm, axis_map = _weight_layout(kind, tuple(w.shape))
        value = w.int_repr().permute(*perm).contiguous().numpy()
        out_axis = 1 if kind == "conv_transpose2d" else 0  # output channels in torch's layout
        if w.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
            ws = np.array([w.q_scale()], dtype=np.float64)
            wentry = {"dtype": _DTYPES[w.dtype],
                      "scale": ws.astype(np.float32),
                      "zerop": np.array([w.q_zero_point()], dtype=np.int64),
                      "quantized_dimension": 0, "value": value}
        else:
            axis = int(w.q_per_channel_axis())
            if axis != out_axis:
                raise ExportError(f"{what}: weight quantized per channel along torch dimension "
                                  f"{axis}, not the output channels ({out_axis})")
            ws = w.q_per_channel_scales().numpy().astype(np.float64)
            wentry = {"dtype": _DTYPES[w.dtype],
                      "scale": ws.astype(np.float32),
                      "zerop": w.q_per_channel_zero_points().numpy().astype(np.int64),
                      "quantized_dimension": axis_map[axis], "value": value}
        base = n.target
        wkey, bkey = f"{base}.weight", f"{base}.bias"
        self._add_entry(wkey, wentry, what)
        node_bias = None
        if b is not None:
            bscale = (np.float64(s_in) * ws).astype(np.float32)
            q = np.rint(b.detach().double().numpy() / bscale.astype(np.float64))
            if np.any(np.abs(q) > 2**31 - 1):
                raise ExportError(f"{what}: bias / (input scale x weight scale) leaves int32")
            self._add_entry(bkey, {"dtype": "int32", "scale": bscale,
                                   "zerop": np.zeros(bscale.shape, dtype=np.int64),
                                   "quantized_dimension": 0,
                                   "value": q.astype(np.int32)}, what)
            node_bias = bkey
        key = self._unique(base)
        self.key[n] = key
        self._add_entry(key, _activation_entry(v), what)
        node = {"op": kind, "output": key, "inputs": [self.key[src]], "weight": wkey}
        if node_bias:
            node["bias"] = node_bias
        node["weight_shape"] = list(value.shape)
        act = _fused_activation(mod)
        if act:
            node["activation"] = act
        node["module"] = base
        node["type"] = type(mod).__name__
        self.nodes.append(node)


# ---------------------------------------------------------------------------------------------
# Writing


def _file_stem(key, taken):
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", key).lstrip(".") or "t"
    s, i = stem, 1
    while s in taken:
        s, i = f"{stem}_{i}", i + 1
    taken.add(s)
    return s


def _write(outdir, exporter, graph_file):
    os.makedirs(outdir, exist_ok=True)
    qparam, taken = {}, set()
    for key, entry in exporter.entries.items():
        stem = _file_stem(key, taken)
        out = {"dtype": entry["dtype"]}
        for field in ("scale", "zerop", "value"):
            if field in entry:
                name = f"{stem}.{field}.npy"
                np.save(os.path.join(outdir, name), np.ascontiguousarray(entry[field]))
                out[field] = name
        out["quantized_dimension"] = int(entry["quantized_dimension"])
        qparam[key] = out
    if graph_file:
        graph = {"format": "qimplant-graph", "version": 1,
                 "producer": f"qimplant.torch {__version__} (torch {torch.__version__})",
                 "inputs": exporter.inputs, "outputs": exporter.outputs,
                 "nodes": exporter.nodes}
        _write_json(os.path.join(outdir, graph_file), graph)
    # qparam.json last: a reader that finds it finds every file it names.
    _write_json(os.path.join(outdir, "qparam.json"), qparam)


def _write_json(path, obj):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".qparam-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
