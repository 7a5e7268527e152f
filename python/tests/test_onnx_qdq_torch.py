"""ONNX QDQ models from a real producer: torch.onnx.export of a QAT-prepared network (Debian's
python3-torch), per-tensor (qnnpack qconfig) and per-channel (fbgemm). q-implant's ONNX reader
(`convert-params`) must hand back exactly the scales and zero points of torch's own fake-quant
modules, with the zero point's type (quint8 activations -> uint8, qint8 weights -> int8), and a
structure without the QDQ pairs."""
import json
import os
import subprocess

import numpy as np
import onnx
import pytest
import torch
import torch.ao.quantization as tq


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv1 = torch.nn.Conv2d(3, 4, 3)
        self.relu1 = torch.nn.ReLU()
        self.fc = torch.nn.Linear(4 * 6 * 6, 5)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.relu1(self.conv1(self.quant(x)))
        return self.dequant(self.fc(torch.flatten(x, 1)))


def export_qat(path, backend):
    torch.manual_seed(0)
    m = Net().train()
    # version 0: FakeQuantize modules (the fused observer op has no ONNX export in torch 1.13)
    m.qconfig = tq.get_default_qat_qconfig(backend, 0)
    tq.fuse_modules_qat(m, [["conv1", "relu1"]], inplace=True)
    tq.prepare_qat(m, inplace=True)
    for _ in range(4):
        m(torch.randn(2, 3, 8, 8))
    m.eval()
    m.apply(tq.disable_observer)
    torch.onnx.export(m, torch.randn(1, 3, 8, 8), path, opset_version=13)
    return m


def fake_quants(m):
    return {name: mod for name, mod in m.named_modules() if isinstance(mod, tq.FakeQuantize)}


@pytest.mark.parametrize("backend,per_channel", [("qnnpack", False), ("fbgemm", True)])
def test_parameters_equal_torchs(tmp_path, backend, per_channel):
    cli = os.environ["QIMPLANT_CLI"]
    onnx_path = str(tmp_path / "qat.onnx")
    m = export_qat(onnx_path, backend)
    out = tmp_path / "converted"
    r = subprocess.run([cli, "convert-params", onnx_path, str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "ONNX QDQ (opset 13)" in r.stdout
    qparams = json.loads((out / "qparam.json").read_text())

    # Which fake-quant module each QuantizeLinear came from: its scale initializer is named
    # "<module path>.scale" by the exporter.
    fqs = fake_quants(m)
    graph = onnx.load(onnx_path).graph
    checked = 0
    for node in graph.node:
        if node.op_type != "QuantizeLinear":
            continue
        module = node.input[1][: -len(".scale")]
        fq = fqs[module]
        key = node.input[0]
        assert key in qparams, (key, sorted(qparams))
        e = qparams[key]
        scale = np.load(out / e["scale"])
        zerop = np.load(out / e["zerop"])
        np.testing.assert_array_equal(scale, fq.scale.detach().numpy().astype(np.float32).reshape(-1))
        np.testing.assert_array_equal(zerop, fq.zero_point.detach().numpy().astype(np.int64).reshape(-1))
        want = {torch.quint8: "uint8", torch.qint8: "int8"}[fq.dtype]
        assert e["dtype"] == want, (key, e["dtype"], want)
        if key.endswith(".weight"):
            assert "value" not in e  # float weight: q-implant quantizes it
            assert (scale.size > 1) == per_channel
            if per_channel:
                assert e["quantized_dimension"] == 0
        checked += 1
    # input, conv1 weight, conv1+relu output, fc weight, fc output
    assert checked == 5


def test_converted_model_weights_and_biases(tmp_path):
    """torch's converted (quantized) model exports its integer weights and int32 biases through
    DequantizeLinear on constants: they come back as `value` with their integers."""
    cli = os.environ["QIMPLANT_CLI"]
    onnx_path = str(tmp_path / "q.onnx")
    m = export_qat(str(tmp_path / "unused.onnx"), "qnnpack")
    qm = tq.convert(m)
    torch.onnx.export(qm, torch.randn(1, 3, 8, 8), onnx_path, opset_version=13)
    out = tmp_path / "converted"
    r = subprocess.run([cli, "convert-params", onnx_path, str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    qparams = json.loads((out / "qparam.json").read_text())
    values = {k: np.load(out / e["value"]) for k, e in qparams.items() if "value" in e}
    w = qm.conv1.weight()
    int_weight = w.int_repr().numpy()
    matches = [k for k, v in values.items() if v.dtype == np.int8 and v.shape == int_weight.shape]
    assert matches, sorted(values)
    np.testing.assert_array_equal(values[matches[0]], int_weight)
    e = qparams[matches[0]]
    assert np.load(out / e["scale"])[0] == np.float32(w.q_scale())
    # The biases are int32 with scale = input scale x weight scale and zero point 0.
    biases = [k for k, e in qparams.items() if e["dtype"] == "int32"]
    assert len(biases) == 2, sorted(qparams)
    for k in biases:
        assert np.load(out / qparams[k]["zerop"]).tolist() == [0]
