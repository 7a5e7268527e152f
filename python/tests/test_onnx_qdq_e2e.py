"""End to end with an ONNX QDQ model as both the parameters and the structure source.

torch.onnx.export of a network quantized by torch (a QAT-prepared model: QuantizeLinear /
DequantizeLinear pairs on float weights; or the converted model: DequantizeLinear on int8 OIHW
weights and int32 biases) gives the QDQ model. The float TFLite model is built by the test from
the FLOAT network's own torch.onnx.export (_tflite.py), so its tensors carry the float export's
names, which are not the QDQ export's (`/relu1/Relu_output_0` against `/conv1/Relu_output_0`,
`output` against `/subnet/conv4/Conv_output_0`; the converted model's weights are
`/conv1/Constant_2_output_0`). `q-implant float.tflite model_qdq.onnx out.tflite --match
structure` aligns the QDQ graph with the model, implants, and LiteRT runs the result on torch's
own quantized input: within 1 LSB of the converted torch model's output.
"""
import copy
import os
import subprocess

import numpy as np
import onnx
import pytest
import torch
import torch.ao.quantization as tq

import _e2e
import _nets
import _tflite

class DepthwiseNet(torch.nn.Module):
    """1x1 conv, a depthwise 3x3 with channel multiplier 2 (ONNX weight [16, 1, 3, 3], TFLite's
    [1, 3, 3, 16]), a 1x1 projection: the depthwise layout with a converted model (torch 1.13
    cannot export the inverted residual's quantized ReLU6)."""
    FUSE = [["expand", "expand_relu"], ["dw", "dw_relu"]]
    INPUT = (1, 3, 7, 7)

    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.expand = torch.nn.Conv2d(3, 8, 1)
        self.expand_relu = torch.nn.ReLU()
        self.dw = torch.nn.Conv2d(8, 16, 3, padding=1, groups=8)
        self.dw_relu = torch.nn.ReLU()
        self.project = torch.nn.Conv2d(16, 4, 1)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.dw_relu(self.dw(self.expand_relu(self.expand(self.quant(x)))))
        return self.dequant(self.project(x))


LOCAL_NETS = {"depthwise": DepthwiseNet}  # not added to _nets.NETS, which other tests iterate

LITERT = _e2e.litert_missing()
pytestmark = pytest.mark.skipif(LITERT is not None, reason=f"LiteRT cannot run: {LITERT}")


def tflite_tensor_names(path):
    out = subprocess.run([_e2e.cli(), "inspect", path, "--json"], capture_output=True, text=True,
                         check=True).stdout
    import json
    return {t["name"] for sg in json.loads(out)["subgraphs"] for t in sg["tensors"]}


def qdq_keys(onnx_path):
    """The tensors q-implant reads parameters for: QuantizeLinear inputs, DequantizeLinear
    constants (x not made by a QuantizeLinear / Cast)."""
    g = onnx.load(onnx_path).graph
    made_by = {o: n.op_type for n in g.node for o in n.output}
    keys = set()
    for n in g.node:
        if n.op_type == "QuantizeLinear":
            keys.add(n.input[0])
        elif n.op_type == "DequantizeLinear" and made_by.get(n.input[0]) not in (
                "QuantizeLinear", "Cast"):
            keys.add(n.input[0])
    return keys


def export_case(tmp, name, variant, converted):
    """torch quantizes `name`; returns (converted model, input, QDQ path, float model path)."""
    os.makedirs(tmp, exist_ok=True)
    if name in LOCAL_NETS:
        _nets.NETS[name] = LOCAL_NETS[name]
    try:
        q, prepared, fl = _nets.converted(name, variant, qat=True)
        x = _nets.inputs(name, seed=3)[0].contiguous()
    finally:
        if name in LOCAL_NETS:
            del _nets.NETS[name]
    qdq = os.path.join(tmp, "model_qdq.onnx")
    if converted:
        src = q
    else:
        src = copy.deepcopy(prepared).eval()
        src.apply(tq.disable_observer)  # export the learned ranges, do not update them
    with torch.no_grad():
        torch.onnx.export(src, (x,), qdq, input_names=["input"], output_names=["output"],
                          opset_version=13)
    float_model = os.path.join(tmp, "float.tflite")
    _tflite.to_tflite(_tflite.onnx_export(fl, x), float_model)
    return q, x, qdq, float_model


def run_qdq(tmp, name, variant, converted):
    """Returns (QDQ keys, keys not named in the float model, max LSB from torch, elements)."""
    q, x, qdq, float_model = export_case(tmp, name, variant, converted)
    keys = qdq_keys(qdq)
    renamed = keys - tflite_tensor_names(float_model)
    out_model = os.path.join(tmp, "quant.tflite")
    cmd = [_e2e.cli(), float_model, qdq, out_model, "--match", "structure",
           "--report", os.path.join(tmp, "report.json")]
    if converted:
        # The converted models have quint8 activations (torch 1.13 exports qint8 ones of a
        # converted model as uint8 with the zero point merely cast: -128 becomes 128, other real
        # values than torch's); the weights are int8, which TFLite's kernels take with int8
        # activations only: re-expressed as int8 (the same real values).
        cmd += ["--activation-type", "int8"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lsb, n = _e2e.litert_vs_torch(tmp, q, x, out_model, int8=converted)
    return keys, renamed, lsb, n


CASES = [
    # name, variant, the converted model (True) or the QAT-prepared one
    ("seed", "int8act", False),
    ("seed", "int8act_pc", False),
    ("seed", "qnnpack", True),
    ("seed", "onednn", True),
    ("mlp", "int8act", False),
    ("depthwise", "int8act_pc", False),
    ("depthwise", "qnnpack", True),
    ("depthwise", "onednn", True),
]


@pytest.mark.parametrize("name,variant,converted", CASES)
def test_qdq_structure_litert_matches_torch(tmp_path, name, variant, converted):
    keys, renamed, lsb, n = run_qdq(str(tmp_path), name, variant, converted)
    print(f"{name} {variant} converted={converted}: {len(keys)} keys, {len(renamed)} not named "
          f"in the float model, {lsb} LSB over {n} elements")
    assert renamed, "the case must need the structure: every key is named in the float model"
    assert n > 0
    assert lsb <= 1, f"{name} {variant} converted={converted}: {lsb} LSB from torch"


def test_without_structure_the_renamed_keys_fail(tmp_path):
    """The same files without --match structure: the renamed keys are listed, nothing written."""
    _, _, qdq, float_model = export_case(str(tmp_path), "seed", "int8act", False)
    r = subprocess.run([_e2e.cli(), float_model, qdq, str(tmp_path / "o.tflite")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "'/conv1/Relu_output_0'" in r.stderr and "'/relu1/Relu_output_0'" in r.stderr
    assert not (tmp_path / "o.tflite").exists()


def test_eval_implant_matches_by_the_qdq_graph(tmp_path):
    """eval --implant takes --match structure with the graph the ONNX file carries."""
    _, _, qdq, float_model = export_case(str(tmp_path), "seed", "int8act", False)
    base = [_e2e.cli(), "eval", float_model, "--implant", qdq, "--samples", "2"]
    r = subprocess.run(base, capture_output=True, text=True)
    assert r.returncode == 1 and "'/conv1/Relu_output_0'" in r.stderr, r.stderr
    r = subprocess.run(base + ["--match", "structure"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "graph outputs:" in r.stdout
