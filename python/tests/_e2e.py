"""End to end: export -> float TFLite model with ONNX names -> q-implant -> LiteRT vs torch.

`run(...)` quantizes a test network with torch, exports its parameters with
qimplant.torch.export_qparams, builds the float TFLite model (_tflite.py), implants it with the
q-implant binary (QIMPLANT_CLI), runs the result in LiteRT (tools/litert-run/run.mjs under Node)
on torch's own quantized input and returns the largest difference, in LSB, from torch's
quantized output (the tensor the DeQuantStub reads).
"""
import json
import os
import shutil
import subprocess

import numpy as np
import torch

import _nets
import _tflite
from qimplant.torch import export_qparams

RUN_MJS = os.path.join(_tflite.ROOT, "tools", "litert-run", "run.mjs")


def litert_missing():
    """Why LiteRT cannot run here (None when it can): CMake adds the runtime tests likewise."""
    if shutil.which("node") is None:
        return "node is not installed"
    pkg = os.path.join(_tflite.ROOT, "tools", "litert-run", "node_modules", "@litertjs", "core")
    if not os.path.isdir(pkg):
        return "tools/litert-run/node_modules is missing (npm ci in tools/litert-run)"
    return None


def cli():
    path = os.environ.get("QIMPLANT_CLI")
    assert path, "QIMPLANT_CLI names the q-implant binary (ctest sets it)"
    return path


def has_match_option():
    out = subprocess.run([cli(), "--help"], capture_output=True, text=True).stdout
    return "--match" in out


def _scope(module):
    return "/" + module.replace(".", "/") + "/"


def derive_name_map(onnx_model, graph, alias):
    """qparam key -> model tensor name, from what the test knows of torch.onnx.export's naming.

    A module's ONNX nodes are named under its scope (`/subnet/conv1/Conv`): a weighted module's
    weight and bias are that node's inputs 1 and 2, its output the last output in the scope.
    FloatFunctional's add / cat run outside any scope (`/Add`): the ONNX node of that op type
    whose inputs are the tensors already mapped for the node's inputs. Graph inputs in order.
    `alias` carries ONNX names through the operators the converter fused (Conv + Relu).
    """
    nodes = list(onnx_model.graph.node)
    onnx_inputs = [i.name for i in onnx_model.graph.input
                   if i.name not in {t.name for t in onnx_model.graph.initializer}]
    m = {k: alias[n] for k, n in zip(graph["inputs"], onnx_inputs)}
    kinds = {"add": "Add", "cat": "Concat", "mul": "Mul"}
    for node in graph["nodes"]:
        scoped = [n for n in nodes if n.name.startswith(_scope(node["module"]))]
        if scoped:
            if "weight" in node:
                (w,) = [n for n in scoped if n.op_type in ("Conv", "Gemm", "ConvTranspose")]
                m[node["weight"]] = w.input[1]
                if "bias" in node:
                    m[node["bias"]] = w.input[2]
            m[node["output"]] = alias[scoped[-1].output[0]]
            continue
        want = [m[i] for i in node["inputs"]]
        (hit,) = [n for n in nodes if n.op_type == kinds[node["op"]] and
                  [alias.get(i, i) for i in n.input] == want]
        m[node["output"]] = alias[hit.output[0]]
    return m


def as_uint8_weights(qparam_dir):
    """Re-expresses symmetric int8 weights as uint8 (value + 128, zero point 128): the same real
    values, the form TFLite's uint8 kernels take (they need weights of the activations' type)."""
    path = os.path.join(qparam_dir, "qparam.json")
    q = json.load(open(path))
    for key, e in q.items():
        if "value" in e and e["dtype"] == "int8":
            zp = np.load(os.path.join(qparam_dir, e["zerop"]))
            assert zp.size == 1, f"{key}: TFLite's uint8 kernels take per-tensor weights only"
            v = np.load(os.path.join(qparam_dir, e["value"])).astype(np.int16) + 128
            np.save(os.path.join(qparam_dir, e["value"]), v.astype(np.uint8))
            np.save(os.path.join(qparam_dir, e["zerop"]), (zp + 128).astype(np.int64))
            e["dtype"] = "uint8"
    json.dump(q, open(path, "w"), indent=2)


def _nhwc(a):
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a


def run(tmp, name, variant, qat=False, match_structure=False, from_prepared=True, force=False,
        tamper=None):
    """`tamper(qparam_dir)`, when given, edits the exported files before the implant.

    Returns (number of keys, max |LiteRT - torch| in LSB, number of output elements)."""
    os.makedirs(tmp, exist_ok=True)
    q, prepared, fl = _nets.converted(name, variant, qat)
    x = _nets.inputs(name, seed=3)[0].contiguous()
    qdir = os.path.join(tmp, "q")
    export_qparams(prepared if from_prepared else q, qdir, (x,))
    keys = json.load(open(os.path.join(qdir, "qparam.json")))
    graph = json.load(open(os.path.join(qdir, "qparam.graph.json")))
    if variant == "qnnpack":
        as_uint8_weights(qdir)
    if tamper:
        tamper(qdir)

    onnx_model = _tflite.onnx_export(fl, x)
    float_model = os.path.join(tmp, "float.tflite")
    alias = _tflite.to_tflite(onnx_model, float_model)
    out_model = os.path.join(tmp, "quant.tflite")
    cmd = [cli(), float_model, os.path.join(qdir, "qparam.json"), out_model, "-q"]
    if force:
        cmd += ["--force"]
    if match_structure:
        cmd += ["--match", "structure"]
    else:
        nm = derive_name_map(onnx_model, graph, alias)
        assert sorted(nm) == sorted(keys), (sorted(nm), sorted(keys))
        with open(os.path.join(tmp, "map.json"), "w") as f:
            json.dump(nm, f, indent=2)
        cmd += ["--name-map", os.path.join(tmp, "map.json")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lsb, n = litert_vs_torch(tmp, q, x, out_model)
    return len(keys), lsb, n


def litert_vs_torch(tmp, q, x, out_model, int8=False):
    """Runs `out_model` in LiteRT on torch's own quantized input of `x` and returns (max |LiteRT -
    torch| in LSB, number of output elements) against the converted model `q`'s output.
    `int8`: the model's interface is int8 where torch's is quint8 (--activation-type int8: the
    same scale, the zero point - 128), so torch's integers are shifted by -128."""
    # torch's own quantized input and output (the tensors QuantStub writes and DeQuantStub reads).
    seen = {}
    h1 = q.quant.register_forward_hook(lambda m, i, o: seen.__setitem__("in", o))
    h2 = q.dequant.register_forward_pre_hook(lambda m, i: seen.__setitem__("out", i[0]))
    with torch.no_grad():
        q(x)
    h1.remove()
    h2.remove()
    xin, ref = seen["in"], seen["out"]
    in_npy = os.path.join(tmp, "in.npy")
    shift = 128 if int8 and xin.dtype == torch.quint8 else 0
    xi = xin.int_repr().numpy().astype(np.int16) - shift
    np.save(in_npy, np.ascontiguousarray(_nhwc(xi.astype(np.int8 if shift else xin.int_repr().numpy().dtype))))
    prefix = os.path.join(tmp, "litert_out")
    r = subprocess.run(["node", RUN_MJS, out_model, prefix, in_npy], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    got = np.load(prefix + "0.npy").astype(np.int32)
    want = _nhwc(ref.int_repr().numpy()).astype(np.int32)
    if int8 and ref.dtype == torch.quint8:
        want -= 128
    assert got.shape == want.shape, (got.shape, want.shape)
    return int(np.abs(got - want).max()), got.size
