"""A float TFLite model of a PyTorch network, built in the test, with ONNX's tensor names.

The float network goes through `torch.onnx.export` (BN folded by ONNX's constant folding, so
folded weights are named `onnx::Conv_NN`), and this file turns the ONNX graph into a TFLite model
the way a converter would: NHWC activations, OHWI / [1,kH,kW,C*M] / [out,in] weights, a Relu
after a Conv or Gemm fused into it (the fused output takes the Relu's name, as converters name
it), Clip(0, 6) as a RELU6 operator of its own. The model is written as flatc JSON and compiled
with `flatc -b schema/tflite.fbs`. Only what the test networks use is handled; anything else
raises.
"""
import io
import json
import os
import shutil
import subprocess

import numpy as np
import onnx
import onnx.numpy_helper
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
SCHEMA = os.path.join(ROOT, "schema", "tflite.fbs")

# BuiltinOperator values of schema/tflite.fbs.
CODES = {"ADD": 0, "CONCATENATION": 2, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 4,
         "FULLY_CONNECTED": 9, "RELU": 19, "RELU6": 21, "TRANSPOSE_CONV": 67}


def flatc():
    return os.environ.get("QIMPLANT_FLATC") or shutil.which("flatc")


def onnx_export(net, x):
    f = io.BytesIO()
    torch.onnx.export(net, (x,), f, input_names=["input"], output_names=["output"],
                      opset_version=13, do_constant_folding=True)
    return onnx.load_from_string(f.getvalue())


def _nhwc(shape):
    return [shape[0], shape[2], shape[3], shape[1]] if len(shape) == 4 else list(shape)


class _Builder:
    def __init__(self):
        self.tensors, self.buffers, self.ops, self.codes = [], [{}], [], []
        self.index = {}

    def tensor(self, name, shape, data=None, dtype=np.float32):
        buf = 0
        if data is not None:
            raw = np.ascontiguousarray(data, dtype=dtype).tobytes()
            self.buffers.append({"data": list(raw)})
            buf = len(self.buffers) - 1
        self.tensors.append({"shape": [int(s) for s in shape],
                             "type": "INT32" if dtype == np.int32 else "FLOAT32",
                             "buffer": buf, "name": name})
        self.index[name] = len(self.tensors) - 1
        return self.index[name]

    def op(self, code, inputs, outputs, opt_type=None, opts=None):
        if code not in self.codes:
            self.codes.append(code)
        op = {"opcode_index": self.codes.index(code), "inputs": inputs, "outputs": outputs}
        if opt_type:
            op["builtin_options_type"] = opt_type
            op["builtin_options"] = opts
        self.ops.append(op)
        return op


def to_tflite(model, path):
    """Writes the float TFLite model; returns {onnx tensor name: tflite tensor name}."""
    g = model.graph
    init = {i.name: onnx.numpy_helper.to_array(i) for i in g.initializer}
    consts = dict(init)
    b = _Builder()
    shapes, alias = {}, {}
    producer_op = {}          # tflite tensor name -> the operator dict that writes it
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    inputs = []
    for vi in g.input:
        if vi.name in init:
            continue
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = _nhwc(dims)
        inputs.append(b.tensor(vi.name, shapes[vi.name]))
        alias[vi.name] = vi.name

    def name_of(x):
        return alias[x]

    for n in g.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        out = n.output[0]
        if n.op_type == "Constant":
            consts[out] = onnx.numpy_helper.to_array(attrs["value"])
            continue
        if n.op_type == "Conv":
            w = init[n.input[1]]
            bias = init[n.input[2]] if len(n.input) > 2 else np.zeros(w.shape[0], np.float32)
            group = attrs.get("group", 1)
            kh, kw = w.shape[2], w.shape[3]
            pads, strides = list(attrs.get("pads", [0, 0, 0, 0])), attrs.get("strides", [1, 1])
            if any(s != 1 for s in strides) or any(d != 1 for d in attrs.get("dilations", [1, 1])):
                raise ValueError(f"{n.name}: strides/dilations other than 1")
            if pads == [0, 0, 0, 0]:
                padding = "VALID"
            elif pads == [(kh - 1) // 2, (kw - 1) // 2] * 2 and kh % 2 and kw % 2:
                padding = "SAME"
            else:
                raise ValueError(f"{n.name}: pads {pads}")
            src = shapes[n.input[0]]
            cin = src[3]
            oh = src[1] if padding == "SAME" else src[1] - kh + 1
            ow = src[2] if padding == "SAME" else src[2] - kw + 1
            shapes[out] = [src[0], oh, ow, w.shape[0]]
            if group == 1:
                wt = w.transpose(0, 2, 3, 1)
                code, ot = "CONV_2D", "Conv2DOptions"
                opts = {"padding": padding, "stride_w": 1, "stride_h": 1,
                        "fused_activation_function": "NONE"}
            elif group == cin and w.shape[1] == 1:
                wt = w.transpose(1, 2, 3, 0)
                code, ot = "DEPTHWISE_CONV_2D", "DepthwiseConv2DOptions"
                opts = {"padding": padding, "stride_w": 1, "stride_h": 1,
                        "depth_multiplier": w.shape[0] // cin, "fused_activation_function": "NONE"}
            else:
                raise ValueError(f"{n.name}: group {group}")
            wi = b.tensor(n.input[1], wt.shape, wt)
            bname = n.input[2] if len(n.input) > 2 else n.name + "_bias"
            bi = b.tensor(bname, bias.shape, bias)
            oi = b.tensor(out, shapes[out])
            producer_op[out] = b.op(code, [b.index[name_of(n.input[0])], wi, bi], [oi], ot, opts)
            alias[out] = out
        elif n.op_type == "ConvTranspose":
            # TRANSPOSE_CONV (tensorflow/lite/kernels/transpose_conv.cc): inputs output_shape,
            # weights [output channels, kH, kW, input channels], input, bias; VALID padding
            # gives out = (in - 1) * stride + k, what ONNX gives with zero pads.
            w, bias = init[n.input[1]], init[n.input[2]]
            if attrs.get("group", 1) != 1 or any(attrs.get("pads", [0, 0, 0, 0])) or \
                    any(attrs.get("output_padding", [0, 0])):
                raise ValueError(f"{n.name}: ConvTranspose attributes {attrs}")
            sh, sw = attrs.get("strides", [1, 1])
            kh, kw = w.shape[2], w.shape[3]
            src = shapes[n.input[0]]
            shapes[out] = [src[0], (src[1] - 1) * sh + kh, (src[2] - 1) * sw + kw, w.shape[1]]
            si = b.tensor(out + "_shape", [4], np.array(shapes[out]), dtype=np.int32)
            wt = w.transpose(1, 2, 3, 0)
            wi = b.tensor(n.input[1], wt.shape, wt)
            bi = b.tensor(n.input[2], bias.shape, bias)
            oi = b.tensor(out, shapes[out])
            b.op("TRANSPOSE_CONV", [si, wi, b.index[name_of(n.input[0])], bi], [oi],
                 "TransposeConvOptions", {"padding": "VALID", "stride_w": sw, "stride_h": sh})
            alias[out] = out
        elif n.op_type == "Gemm":
            if attrs.get("transB", 0) != 1 or attrs.get("alpha", 1.0) != 1.0 or \
                    attrs.get("beta", 1.0) != 1.0:
                raise ValueError(f"{n.name}: Gemm attributes {attrs}")
            w, bias = init[n.input[1]], init[n.input[2]]
            src = shapes[n.input[0]]
            shapes[out] = [src[0], w.shape[0]]
            wi = b.tensor(n.input[1], w.shape, w)
            bi = b.tensor(n.input[2], bias.shape, bias)
            oi = b.tensor(out, shapes[out])
            producer_op[out] = b.op("FULLY_CONNECTED", [b.index[name_of(n.input[0])], wi, bi],
                                    [oi], "FullyConnectedOptions",
                                    {"fused_activation_function": "NONE"})
            alias[out] = out
        elif n.op_type == "Relu":
            src = n.input[0]
            p = producer_op.get(name_of(src))
            fusable = p is not None and len(users.get(src, [])) == 1 and \
                p["builtin_options"].get("fused_activation_function") == "NONE" and \
                src not in [o.name for o in g.output]
            shapes[out] = shapes[src]
            if fusable:
                # The fused operator's output is the Relu's output, under the Relu's name.
                p["builtin_options"]["fused_activation_function"] = "RELU"
                t = b.tensors[p["outputs"][0]]
                del b.index[t["name"]]
                t["name"] = out
                b.index[out] = p["outputs"][0]
                for k, v in list(alias.items()):
                    if v == name_of(src):
                        alias[k] = out
                alias[out] = out
            else:
                oi = b.tensor(out, shapes[out])
                b.op("RELU", [b.index[name_of(src)]], [oi])
                alias[out] = out
        elif n.op_type == "Clip":
            lo, hi = float(consts[n.input[1]]), float(consts[n.input[2]])
            if (lo, hi) != (0.0, 6.0):
                raise ValueError(f"{n.name}: Clip({lo}, {hi})")
            shapes[out] = shapes[n.input[0]]
            oi = b.tensor(out, shapes[out])
            b.op("RELU6", [b.index[name_of(n.input[0])]], [oi])
            alias[out] = out
        elif n.op_type == "Add":
            shapes[out] = shapes[n.input[0]]
            oi = b.tensor(out, shapes[out])
            producer_op[out] = b.op("ADD", [b.index[name_of(i)] for i in n.input], [oi],
                                    "AddOptions", {"fused_activation_function": "NONE"})
            alias[out] = out
        elif n.op_type == "Concat":
            axis = attrs["axis"]
            rank = len(shapes[n.input[0]])
            if rank == 4:
                axis = {0: 0, 1: 3, 2: 1, 3: 2}[axis % 4]
            s = list(shapes[n.input[0]])
            s[axis] = sum(shapes[i][axis] for i in n.input)
            shapes[out] = s
            oi = b.tensor(out, s)
            b.op("CONCATENATION", [b.index[name_of(i)] for i in n.input], [oi],
                 "ConcatenationOptions", {"axis": axis, "fused_activation_function": "NONE"})
            alias[out] = out
        else:
            raise ValueError(f"{n.name}: ONNX {n.op_type} is not handled by the test converter")
    outputs = [b.index[name_of(o.name)] for o in g.output]
    doc = {"version": 3,
           "operator_codes": [{"deprecated_builtin_code": CODES[c], "builtin_code": c,
                               "version": 1} for c in b.codes],
           "subgraphs": [{"tensors": b.tensors, "inputs": inputs, "outputs": outputs,
                          "operators": b.ops, "name": "main"}],
           "buffers": b.buffers, "description": "float model built by python/tests/_tflite.py"}
    d = os.path.dirname(os.path.abspath(path))
    stem = os.path.splitext(os.path.basename(path))[0] + ".flatc"
    js = os.path.join(d, stem + ".json")
    with open(js, "w") as f:
        json.dump(doc, f)
    subprocess.run([flatc(), "-b", "-o", d, SCHEMA, js], check=True, capture_output=True)
    produced = os.path.join(d, stem + ".tflite")  # the schema's file_extension
    os.replace(produced, path)
    return alias
