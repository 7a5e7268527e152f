"""qimplant.implant / check / inspect / eval on the bundled example and on bad inputs.

Every test runs twice: through the binary ctest names in QIMPLANT_CLI, and in-process through
the binding qimplant_native (on PYTHONPATH from the build; ctest sets QIMPLANT_NATIVE_REQUIRED,
so there a missing binding fails instead of skipping)."""
import json
import os
import subprocess

import pytest

import qimplant

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples", "conv2d")
MODEL = os.path.join(EXAMPLE, "Conv2D_000.circle")
QPARAM = os.path.join(EXAMPLE, "qparam.json")


def _native_available():
    try:
        import qimplant_native  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.fixture(autouse=True, params=["cli", "native"])
def backend(request, monkeypatch):
    if request.param == "native" and not _native_available():
        if os.environ.get("QIMPLANT_NATIVE_REQUIRED"):
            pytest.fail("qimplant_native is not importable (PYTHONPATH=%s)"
                        % os.environ.get("PYTHONPATH"))
        pytest.skip("qimplant_native not built")
    monkeypatch.setenv("QIMPLANT_BACKEND", request.param)
    expected = "native" if request.param == "native" else os.environ["QIMPLANT_CLI"]
    assert qimplant.backend() == expected
    return request.param


def test_implant_returns_the_report(tmp_path):
    out = tmp_path / "out.circle"
    report = qimplant.implant(MODEL, QPARAM, out)
    assert out.exists()
    assert report["output"] == str(out)
    assert report["format"] == "circle" and report["target"] == "one"
    assert {c["tensor"]: c["change"] for c in report["changes"]} == {
        "ifm": "implanted", "ker": "implanted", "bias": "implanted", "ofm": "implanted"}
    assert report["output_bytes"] == out.stat().st_size

    # The same document --report writes.
    cli_report = tmp_path / "report.json"
    subprocess.run([qimplant.cli_path(), MODEL, QPARAM, str(tmp_path / "cli.circle"), "-q",
                    "--report", str(cli_report)], check=True)
    expected = json.loads(cli_report.read_text())
    expected["output"] = str(out)
    assert report == expected
    assert (tmp_path / "cli.circle").read_bytes() == out.read_bytes()


def test_implant_options_by_name(tmp_path):
    out = tmp_path / "out.circle"
    report = qimplant.implant(MODEL, QPARAM, out, rules="tflite", rounding="half-away",
                              input_type=["float32"], keep_float=None, no_propagate=True)
    assert report["target"] == "tflite" and report["rounding"] == "half-away"
    assert [op["operator"] for op in report["operators"]] == ["QUANTIZE"]
    dry = qimplant.implant(MODEL, QPARAM)
    assert dry["output"] is None and len(dry["changes"]) == 4


def test_implant_errors_carry_the_tools_message(tmp_path):
    with pytest.raises(qimplant.Error) as e:
        qimplant.implant(MODEL, tmp_path / "missing.json", tmp_path / "o.circle")
    assert "missing.json" in str(e.value) and "\n" not in str(e.value)
    assert e.value.returncode == 1
    assert not (tmp_path / "o.circle").exists()

    bad = tmp_path / "qparam.json"
    bad.write_text('{"ifm": {"dtype": "uint8", "scales": "0.npy"}}')
    with pytest.raises(qimplant.Error) as e:
        qimplant.implant(MODEL, bad, tmp_path / "o.circle")
    assert "scales" in str(e.value), str(e.value)

    with pytest.raises(qimplant.Error) as e:
        qimplant.implant(MODEL, QPARAM, tmp_path / "o.circle", no_such_option=True)
    assert e.value.returncode == 2 and "--no-such-option" in e.value.details


def test_check(tmp_path):
    out = tmp_path / "out.circle"
    qimplant.implant(MODEL, QPARAM, out)
    result = qimplant.check(out)
    assert result["ok"] is True
    assert result["findings"] == [] and result["float_tensors"] == []
    # The float model fails the float check: a result, not an exception.
    floating = qimplant.check(MODEL)
    assert floating["ok"] is False and len(floating["float_tensors"]) > 0
    with pytest.raises(qimplant.Error) as e:
        qimplant.check(tmp_path / "nothing.circle")
    assert "nothing.circle" in str(e.value)


def test_inspect():
    info = qimplant.inspect(MODEL)
    text = json.dumps(info)
    for name in ("ifm", "ker", "bias", "ofm", "CONV_2D"):
        assert name in text
    filtered = qimplant.inspect(MODEL, tensors="ker")
    assert "ofm" not in json.dumps(filtered["subgraphs"][0]["tensors"])
    with pytest.raises(qimplant.Error) as e:
        qimplant.inspect(QPARAM)
    assert "qparam.json" in str(e.value)


def test_eval(tmp_path):
    result = qimplant.eval(MODEL, implant=QPARAM, samples=2)
    assert result["thresholds"]["passed"] is True
    out = tmp_path / "out.circle"
    qimplant.implant(MODEL, QPARAM, out)
    again = qimplant.eval(MODEL, out, samples=2)
    assert again["outputs"] == result["outputs"]
    missed = qimplant.eval(MODEL, out, samples=2, min_snr=1000)
    assert missed["thresholds"]["passed"] is False and "missed" in missed["thresholds"]
    with pytest.raises(qimplant.Error) as e:
        qimplant.eval(MODEL, out, inputs={"nope": tmp_path / "x.npy"})
    assert e.value.returncode == 1 and str(e.value)


def test_missing_binary(monkeypatch, backend):
    if backend == "native":
        pytest.skip("the binding needs no binary")
    monkeypatch.setenv("QIMPLANT_CLI", "")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(qimplant.Error) as e:
        qimplant.inspect(MODEL)
    assert "QIMPLANT_CLI" in str(e.value)


def test_both_backends_give_the_same_results(monkeypatch, tmp_path, backend):
    if backend == "cli" or not _native_available():
        pytest.skip("compared once, from the native run")
    results = {}
    for name in ("cli", "native"):
        monkeypatch.setenv("QIMPLANT_BACKEND", name)
        out = tmp_path / "out.circle"  # the same path: reports name it
        report = qimplant.implant(MODEL, QPARAM, out, rules="tflite", input_type="float32")
        with pytest.raises(qimplant.Error) as e:
            qimplant.implant(MODEL, tmp_path / "missing.json", tmp_path / "o.circle")
        results[name] = (report, out.read_bytes(), qimplant.check(out), qimplant.inspect(out),
                         qimplant.eval(MODEL, out, samples=2), str(e.value), e.value.returncode)
    assert results["cli"] == results["native"]
