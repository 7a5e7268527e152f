"""End to end in TFLite itself: torch quantizes, qimplant.torch exports, q-implant implants a
float TFLite model named as torch.onnx.export names it, LiteRT runs it; the output must be within
1 LSB of torch's own quantized output (see _e2e.py).

Activations: torch 1.13's qnnpack runs qint8 activations (through XNNPACK), so most cases export
int8 activations with int8 weights, the combination TFLite's int8 kernels take. The `cat` case
keeps qnnpack's default quint8 activations: its symmetric int8 weights are re-expressed as uint8
(value + 128, zero point 128, the same real values), since TFLite's uint8 kernels need uint8
weights. Its inputs reach the concatenation with scales other than the output's: TFLite's rule
(and q-implant's tflite rule check) wants them equal, so it is implanted with --force; LiteRT's
uint8 CONCATENATION rescales them and agrees with torch.
"""
import json
import os

import pytest

import _e2e

LITERT = _e2e.litert_missing()
pytestmark = pytest.mark.skipif(LITERT is not None, reason=f"LiteRT cannot run: {LITERT}")

CASES = [
    # name, variant, qat, exported from the prepared (True) or the converted model
    ("seed", "int8act", False, False),
    ("seed", "int8act_pc", True, True),
    ("inverted_residual", "int8act", False, True),
    ("inverted_residual", "int8act_pc", True, True),
    ("mlp", "int8act", False, False),
    ("mlp", "int8act", True, True),
    ("conv_bn", "int8act_pc", False, True),
    ("conv_bn", "int8act", True, True),
    ("up", "int8act", False, True),
    ("up", "int8act_pc", True, False),
]
KEYS = {"seed": 22, "inverted_residual": 13, "cat": 11, "mlp": 10, "conv_bn": 7, "up": 7}


@pytest.mark.parametrize("name,variant,qat,from_prepared", CASES)
def test_litert_matches_torch(tmp_path, name, variant, qat, from_prepared):
    keys, lsb, n = _e2e.run(str(tmp_path), name, variant, qat, from_prepared=from_prepared)
    assert keys == KEYS[name]
    assert n > 0
    assert lsb <= 1, f"{name} {variant} qat={qat}: {lsb} LSB from torch"


@pytest.mark.parametrize("match_structure", [False, True])
def test_cat_uint8_litert_matches_torch(tmp_path, match_structure):
    keys, lsb, n = _e2e.run(str(tmp_path), "cat", "qnnpack", force=True,
                            match_structure=match_structure)
    assert keys == KEYS["cat"]
    assert lsb <= 1, f"cat uint8: {lsb} LSB from torch"


def test_a_wrong_weight_is_seen(tmp_path):
    """The comparison can fail: the last layer's weight negated after the export."""
    import numpy as np

    def negate(qdir):
        e = json.load(open(os.path.join(qdir, "qparam.json")))["subnet.conv4.weight"]
        v = np.load(os.path.join(qdir, e["value"]))
        np.save(os.path.join(qdir, e["value"]), np.maximum(-v, -127).astype(np.int8))

    _, lsb, _ = _e2e.run(str(tmp_path), "seed", "int8act", tamper=negate)
    assert lsb > 1


@pytest.mark.parametrize("name,variant,qat,from_prepared", CASES)
def test_match_structure_without_a_map(tmp_path, name, variant, qat, from_prepared):
    """Every case above again, the keys found by --match structure instead of a name map."""
    assert _e2e.has_match_option()  # never skipped: the option is part of the tool
    keys, lsb, n = _e2e.run(str(tmp_path), name, variant, qat, match_structure=True,
                            from_prepared=from_prepared)
    print(f"{name} {variant} qat={qat}: {keys} keys matched by structure, {lsb} LSB over {n}")
    assert keys == KEYS[name]
    assert lsb <= 1
    assert not os.path.exists(tmp_path / "map.json")
    assert json.load(open(tmp_path / "q" / "qparam.graph.json"))["format"] == "qimplant-graph"
