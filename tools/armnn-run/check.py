#!/usr/bin/env python3
"""Runs q-implant's quantized .tflite outputs in a real runtime; compares with integer references.

  check.py --make-models BIN --q-implant BIN --work DIR [--case NAME ...] [--tolerance N]
           [--runtime armnn] --armnn-run BIN [--backend CpuRef]
           --runtime litert --litert-run tools/litert-run/run.mjs [--node node]
                            [--reference auto|tflite]

For every case written by make_models: q-implant turns model.tflite + qparam.json into
quantized.tflite, the runtime executes it (armnn: Arm NN's TfLite parser + CpuRef backend via
armnn-run; litert: TFLite itself, LiteRT.js's WebAssembly build under Node via
tools/litert-run), and the output is compared with references computed here from qparam.json,
its .npy files and case.json only (never from q-implant's output):

  tflite  TFLite's integer-only kernels: int32 accumulation, QuantizeMultiplier /
          MultiplyByQuantizedMultiplier requantization (ADD: left shift 20 and input
          rescaling; AVERAGE_POOL_2D: rounded integer division), clamp.
  exact   round-half-away(acc * s_in * s_w / s_out) + zp, clamp (real-number requantization).
  float   dequantize, compute in float32, quantize with round-half-away: what Arm NN's CpuRef
          backend does internally.
  xnnpack CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED as XNNPACK (LiteRT's CPU delegate)
          computes them: int32 accumulation, then fp32 requantization, float32(acc) *
          float32(s_in * s_w / s_out) rounded half to even (other operators: as tflite).

The runtime's output must be within --tolerance LSB (default 1 for armnn, whose CpuRef
requantizes in float; 0 for litert) of the reference of the kernels that ran everywhere: tflite,
or xnnpack when LiteRT reports the whole model delegated to XNNPACK. Every difference is listed;
the summary line also counts the matches with every other reference. The
graph inputs' and output's types (and, where the runtime reports them, scales and zero points)
must be qparam.json's. Exit 0 when all cases pass, 1 otherwise.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

import numpy as np

RANGE = {"uint8": (0, 255), "int8": (-128, 127), "int32": (-(2**31), 2**31 - 1)}
# How each runtime names qparam.json's dtypes in its description lines, and its display name.
RUNTIME_TYPE = {"armnn": {"uint8": "QAsymmU8", "int8": "QAsymmS8"},
                "litert": {"uint8": "uint8", "int8": "int8"}}
RUNTIME_NAME = {"armnn": "Arm NN", "litert": "LiteRT"}


# ---- TFLite fixed-point helpers (tensorflow/lite/kernels/internal/{quantization_util,common}.h)

def tf_round(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def quantize_multiplier(m):
    if m == 0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = int(tf_round(q * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return q_fixed, shift


def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul for int32 a, b."""
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    n = ab + nudge
    # C++ integer division truncates toward zero.
    q = abs(n) // (1 << 31)
    return q if n >= 0 else -q


def rounding_divide_by_pot(x, exponent):
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def mbqm(x, qm, shift):
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    return rounding_divide_by_pot(srdhm(x * (1 << left), qm), right)


def c_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


# ---- qparam.json reading (independent of q-implant)

class QParam:
    def __init__(self, base, entry, float_constants=None, name=None):
        self.dtype = entry["dtype"]
        self.scale = np.atleast_1d(np.load(os.path.join(base, entry["scale"]))).astype(np.float32)
        self.zp = np.atleast_1d(np.load(os.path.join(base, entry["zerop"]))).astype(np.int64)
        self.dim = int(entry.get("quantized_dimension", 0))
        self.value = None
        if "value" in entry:
            self.value = np.load(os.path.join(base, entry["value"])).astype(np.int64)
        elif float_constants and name in float_constants:
            fc = float_constants[name]
            self.value = self.quantize(np.array(fc["data"], np.float32).reshape(fc["shape"]))

    def per_axis(self, shape):
        """scale and zp broadcast to `shape`."""
        bshape = [1] * len(shape)
        if self.scale.size > 1:
            bshape[self.dim] = self.scale.size
        return (self.scale.astype(np.float64).reshape(bshape),
                self.zp.reshape(bshape) if self.zp.size > 1 else self.zp.reshape([1] * len(shape)))

    def quantize(self, x):
        """q-implant's documented quantization of float constants: round half to even."""
        s, z = self.per_axis(x.shape)
        lo, hi = RANGE[self.dtype]
        return np.clip(np.rint(x.astype(np.float64) / s) + z, lo, hi).astype(np.int64)


def load_case(d):
    with open(os.path.join(d, "case.json")) as f:
        case = json.load(f)
    with open(os.path.join(d, "qparam.json")) as f:
        qj = json.load(f)
    fc = case.get("float_constants", {})
    qp = {k: QParam(d, v, fc, k) for k, v in qj.items()}
    inputs = [np.load(os.path.join(d, "input%d.npy" % i)).astype(np.int64)
              for i in range(len(case["inputs"]))]
    return case, qp, inputs


# ---- references

def channel_vec(a, n):
    a = np.asarray(a).reshape(-1)
    return a if a.size > 1 else np.full(n, a[0])


def ref_conv_fc(case, qp, inputs):
    """CONV_2D (OHWI filter), DEPTHWISE_CONV_2D (1HWC filter) or FULLY_CONNECTED (OI filter)."""
    x = inputs[0]
    qi, qw, qb, qo = (qp[case["inputs"][0]], qp[case["weights"]], qp[case["bias"]],
                      qp[case["output"]])
    w, b = qw.value, qb.value
    op = case["op"]
    oc = w.shape[-1] if op == "DEPTHWISE_CONV_2D" else w.shape[0]
    wzp, wsc, bsc = channel_vec(qw.zp, oc), channel_vec(qw.scale, oc), channel_vec(qb.scale, oc)
    if op == "DEPTHWISE_CONV_2D":
        ws = w - wzp.reshape(1, 1, 1, oc)
        wf = ws.astype(np.float32) * wsc.astype(np.float32).reshape(1, 1, 1, oc)
    else:
        ws = w - wzp.reshape([oc] + [1] * (w.ndim - 1))
        wf = ws.astype(np.float32) * wsc.astype(np.float32).reshape([oc] + [1] * (w.ndim - 1))
    xs = x - qi.zp[0]
    xf = xs.astype(np.float32) * np.float32(qi.scale[0])
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        n, h, wd, _ = x.shape
        kh, kw = w.shape[1], w.shape[2]
        oh, ow = h - kh + 1, wd - kw + 1
        acc = np.zeros((n, oh, ow, oc), np.int64)
        accf = np.zeros((n, oh, ow, oc), np.float32)
        for y in range(oh):
            for xx in range(ow):
                patch, patchf = xs[:, y:y + kh, xx:xx + kw, :], xf[:, y:y + kh, xx:xx + kw, :]
                if op == "CONV_2D":
                    acc[:, y, xx, :] = np.einsum("nhwc,ohwc->no", patch, ws)
                    accf[:, y, xx, :] = np.einsum("nhwc,ohwc->no", patchf, wf)
                else:  # depth_multiplier 1: output channel k reads input channel k
                    acc[:, y, xx, :] = np.einsum("nhwc,hwc->nc", patch, ws[0])
                    accf[:, y, xx, :] = np.einsum("nhwc,hwc->nc", patchf, wf[0])
    else:
        acc = xs @ ws.T
        accf = xf @ wf.T
    acc = acc + b  # broadcast over the last (channel) axis
    accf = accf + b.astype(np.float32) * bsc.astype(np.float32)

    lo, hi = RANGE[qo.dtype]
    s_out, z_out = float(qo.scale[0]), int(qo.zp[0])
    # XNNPACK's requantization scale is computed in float: input_scale * kernel_scale /
    # output_scale, per channel for per-channel weights.
    xscale = (np.float32(qi.scale[0]) * wsc.astype(np.float32)) / np.float32(s_out)
    xv = acc.astype(np.float32) * xscale.astype(np.float32)  # broadcast over the channel axis
    xnn = np.clip(np.rint(np.clip(xv, np.float32(lo - z_out), np.float32(hi - z_out))) + z_out,
                  lo, hi).astype(np.int64)
    tfl = np.zeros_like(acc)
    exact = np.zeros_like(acc)
    flat_acc, flat_t, flat_e = acc.reshape(-1, oc), tfl.reshape(-1, oc), exact.reshape(-1, oc)
    for o in range(oc):
        m = float(np.float64(qi.scale[0]) * np.float64(wsc[o]) / np.float64(s_out))
        qm, sh = quantize_multiplier(m)
        for r in range(flat_acc.shape[0]):
            a = int(flat_acc[r, o])
            flat_t[r, o] = min(max(mbqm(a, qm, sh) + z_out, lo), hi)
            flat_e[r, o] = min(max(tf_round(a * m) + z_out, lo), hi)
    flt = np.clip(np.vectorize(tf_round)(accf.astype(np.float64) / np.float32(s_out)) + z_out,
                  lo, hi).astype(np.int64)
    return {"tflite": tfl, "exact": exact, "float": flt, "xnnpack": xnn}


def ref_add(case, qp, inputs):
    q1, q2, qo = qp[case["inputs"][0]], qp[case["inputs"][1]], qp[case["output"]]
    s1, s2, so = float(q1.scale[0]), float(q2.scale[0]), float(qo.scale[0])
    z1, z2, zo = int(q1.zp[0]), int(q2.zp[0]), int(qo.zp[0])
    lo, hi = RANGE[qo.dtype]
    left_shift = 20
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    a, b = inputs[0].reshape(-1), inputs[1].reshape(-1)
    tfl, exact, flt = [], [], []
    for x, y in zip(a.tolist(), b.tolist()):
        sx = mbqm((x - z1) * (1 << left_shift), m1, sh1)
        sy = mbqm((y - z2) * (1 << left_shift), m2, sh2)
        tfl.append(min(max(mbqm(sx + sy, mo, sho) + zo, lo), hi))
        exact.append(min(max(tf_round(((x - z1) * s1 + (y - z2) * s2) / so) + zo, lo), hi))
        v = (np.float32(np.float32(x - z1) * np.float32(s1))
             + np.float32(np.float32(y - z2) * np.float32(s2)))
        flt.append(min(max(tf_round(float(np.float32(v / np.float32(so)))) + zo, lo), hi))
    shape = inputs[0].shape
    return {"tflite": np.array(tfl).reshape(shape), "exact": np.array(exact).reshape(shape),
            "float": np.array(flt).reshape(shape)}


def ref_avgpool(case, qp, inputs):
    qi, qo = qp[case["inputs"][0]], qp[case["output"]]
    lo, hi = RANGE[qo.dtype]
    k = case["options"]["filter"]
    x = inputs[0]
    n, h, w, c = x.shape
    oh, ow = h - k + 1, w - k + 1
    cnt = k * k
    tfl = np.zeros((n, oh, ow, c), np.int64)
    exact = np.zeros_like(tfl)
    flt = np.zeros_like(tfl)
    s_i, z_i, s_o, z_o = float(qi.scale[0]), int(qi.zp[0]), float(qo.scale[0]), int(qo.zp[0])
    for b in range(n):
        for y in range(oh):
            for xx in range(ow):
                for ch in range(c):
                    acc = int(x[b, y:y + k, xx:xx + k, ch].sum())
                    if qi.dtype == "uint8":
                        v = (acc + cnt // 2) // cnt
                    else:
                        v = c_div(acc + cnt // 2, cnt) if acc > 0 else c_div(acc - cnt // 2, cnt)
                    tfl[b, y, xx, ch] = min(max(v, lo), hi)
                    real = (acc - cnt * z_i) * s_i / cnt
                    exact[b, y, xx, ch] = min(max(tf_round(real / s_o) + z_o, lo), hi)
                    fv = np.float32(0)
                    for q in x[b, y:y + k, xx:xx + k, ch].reshape(-1).tolist():
                        fv = np.float32(fv + np.float32(np.float32(q - z_i) * np.float32(s_i)))
                    fv = np.float32(fv / np.float32(cnt))
                    fq = tf_round(float(np.float32(fv / np.float32(s_o)))) + z_o
                    flt[b, y, xx, ch] = min(max(fq, lo), hi)
    return {"tflite": tfl, "exact": exact, "float": flt}


def ref_concat(case, qp, inputs):
    """CONCATENATION along the last axis. An input with other parameters than the output is
    requantized first as TFLite's QUANTIZE does (MultiplyByQuantizedMultiplier of q - zp by
    QuantizeMultiplier(s_in / s_out), + zp_out, clamp); q-implant inserts that QUANTIZE, since
    TFLite's int8 kernel copies raw values."""
    qo = qp[case["output"]]
    lo, hi = RANGE[qo.dtype]
    so, zo = float(qo.scale[0]), int(qo.zp[0])
    parts, exact = [], []
    for name, x in zip(case["inputs"], inputs):
        q = qp[name]
        s, z = float(q.scale[0]), int(q.zp[0])
        if s == so and z == zo:
            parts.append(x)
            exact.append(x)
            continue
        m, sh = quantize_multiplier(float(np.float64(s) / np.float64(so)))
        parts.append(np.vectorize(lambda v: min(max(mbqm(int(v) - z, m, sh) + zo, lo), hi))(x))
        exact.append(np.vectorize(lambda v: min(max(tf_round((int(v) - z) * s / so) + zo, lo),
                                                hi))(x))
    tfl = np.concatenate(parts, axis=-1).astype(np.int64)
    ex = np.concatenate(exact, axis=-1).astype(np.int64)
    return {"tflite": tfl, "exact": ex, "float": ex, "xnnpack": tfl}


def ref_chain(case, qp, inputs):
    """Operators in sequence; each reference's result feeds the next operator of the same
    reference (xnnpack falls back to tflite for operators it does not model)."""
    qp = dict(qp)
    for t, src in case.get("same_params", {}).items():
        qp.setdefault(t, qp[src])
    out = {}
    for kind in ("tflite", "xnnpack"):
        values = {case["inputs"][0]: inputs[0]}
        for step in case["chain"]:
            if step["op"] == "RESHAPE":
                values[step["output"]] = values[step["inputs"][0]].reshape(step["shape"])
                continue
            if step["op"] == "FLOAT_TANH":
                # Mixed precision: DEQUANTIZE, TANH in float32, QUANTIZE (round half away, as
                # TFLite's quantize kernel) with the output's qparam.json parameters.
                qi, qo = qp[step["inputs"][0]], qp[step["output"]]
                x = (values[step["inputs"][0]] - qi.zp[0]).astype(np.float32) * qi.scale[0]
                y = np.tanh(x).astype(np.float32) / np.float32(qo.scale[0])
                lo, hi = RANGE[qo.dtype]
                values[step["output"]] = np.clip(np.vectorize(tf_round)(y.astype(np.float64)) +
                                                 qo.zp[0], lo, hi).astype(np.int64)
                continue
            refs = REFS[step["op"]](step, qp, [values[t] for t in step["inputs"]])
            values[step["output"]] = refs.get(kind, refs["tflite"])
            if kind == "tflite":
                # exact / float references are per operator only: for the chain they are
                # those of the last operator, fed with the tflite results
                out.update(exact=refs["exact"], float=refs["float"])
        out[kind] = values[case["chain"][-1]["output"]]
    return out


REFS = {"CONV_2D": ref_conv_fc, "DEPTHWISE_CONV_2D": ref_conv_fc, "FULLY_CONNECTED": ref_conv_fc,
        "ADD": ref_add, "CONCATENATION": ref_concat,
        "AVERAGE_POOL_2D": ref_avgpool, "CHAIN": ref_chain}


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


def parse_described(text):
    """'input|output NAME type=.. shape=[..] [scale=.. zp=..]' lines of armnn-run / litert-run."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"(input|output) (\S+) type=(\S+) shape=\[([\d,]*)\]"
                     r"(?: scale=(\S+) zp=(\S+))?", line)
        if m:
            out[(m.group(1), m.group(2))] = {
                "type": m.group(3), "shape": [int(v) for v in m.group(4).split(",") if v],
                "scale": float(m.group(5)) if m.group(5) else None,
                "zp": int(m.group(6)) if m.group(6) else None}
    return out


def check_case(args, d, name):
    problems = []
    case, qp, inputs = load_case(d)
    out_model = os.path.join(d, "quantized.tflite")
    rc, log = run([args.q_implant, os.path.join(d, "model.tflite"), os.path.join(d, "qparam.json"),
                   out_model] + case.get("q_implant_args", []))
    if rc != 0:
        return ["q-implant failed (exit %d): %s" % (rc, log.strip())], None
    rt = RUNTIME_NAME[args.runtime]
    prefix = os.path.join(d, "%s_out" % args.runtime)
    in_files = [os.path.join(d, "input%d.npy" % i) for i in range(len(inputs))]
    if args.runtime == "armnn":
        cmd = [args.armnn_run, "--backend", args.backend, out_model, prefix] + in_files
    else:
        cmd = [args.node, args.litert_run, out_model, prefix] + in_files
    rc, log = run(cmd)
    if rc != 0:
        return ["%s-run failed (exit %d): %s" % (args.runtime, rc, log.strip())], None
    desc = parse_described(log)

    # What the runtime read from the model: types (and parameters, where reported) must be
    # qparam.json's. LiteRT.js reports no quantization parameters.
    for role, names in (("input", case["inputs"]), ("output", [case["output"]])):
        for t in names:
            got = desc.get((role, t))
            q = qp[t]
            if got is None:
                problems.append("%s reports no %s named '%s'" % (rt, role, t))
                continue
            if got["type"] != RUNTIME_TYPE[args.runtime][q.dtype]:
                problems.append("%s '%s': %s type %s, qparam.json says %s"
                                % (role, t, rt, got["type"], q.dtype))
            if args.runtime == "litert":
                continue
            scale_ok = got["scale"] is not None and math.isclose(
                got["scale"], float(q.scale[0]), rel_tol=1e-6)
            if not scale_ok or got["zp"] != int(q.zp[0]):
                problems.append("%s '%s': %s scale %s zp %s, qparam.json has %r %d"
                                % (role, t, rt, got["scale"], got["zp"], float(q.scale[0]),
                                   int(q.zp[0])))

    got = np.load(prefix + "0.npy").astype(np.int64)
    refs = REFS[case["op"]](case, qp, inputs)
    tfl, exact, flt = refs["tflite"], refs["exact"], refs["float"]
    if got.shape != tfl.shape:
        problems.append("output shape %s, expected %s" % (got.shape, tfl.shape))
        return problems, None

    # Which kernels computed the result decides the reference. LiteRT's CPU path hands what
    # XNNPACK supports to it and runs the rest on TFLite's builtin kernels; it says only whether
    # every operator went to XNNPACK, so a partly delegated chain has no single reference.
    kind = "tflite"
    if args.runtime == "litert" and args.reference != "tflite":
        m = re.search(r"fully_delegated=(yes|no)", log)
        if not m:
            problems.append("litert-run did not say whether the model was fully delegated")
        elif m.group(1) == "yes":
            kind = "xnnpack"
        elif case["op"] == "CHAIN":
            problems.append("LiteRT delegated only part of the chain to XNNPACK: which "
                            "operators ran on the builtin kernels is unknown")
    want = refs.get(kind, tfl)
    ref_name = {"tflite": "TFLite-integer", "xnnpack": "XNNPACK"}[kind]
    diff = got - want
    bad = np.argwhere(np.abs(diff) > args.tolerance)
    for idx in bad[:20]:
        i = tuple(idx)
        problems.append("output%s: %s %d, %s reference %d (tflite %d, exact %d, float %d)"
                        % (list(i), rt, got[i], ref_name, want[i], tfl[i], exact[i], flt[i]))
    if len(bad) > 20:
        problems.append("... %d more elements off by more than %d"
                        % (len(bad) - 20, args.tolerance))
    lo, hi = RANGE[qp[case["output"]].dtype]
    stats = {
        "elements": int(got.size),
        "reference": kind,
        "eq_tflite": int((got == tfl).sum()),
        "eq_exact": int((got == exact).sum()),
        "eq_float": int((got == flt).sum()),
        "eq_xnnpack": int((got == refs["xnnpack"]).sum()) if "xnnpack" in refs else None,
        "max_diff_tflite": int(np.abs(got - tfl).max()),
        "clamped": int(((tfl == lo) | (tfl == hi)).sum()),
        "runtime": got.reshape(-1).tolist(),
        "tflite": tfl.reshape(-1).tolist(),
    }
    return problems, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--make-models", required=True)
    ap.add_argument("--q-implant", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runtime", choices=sorted(RUNTIME_NAME), default="armnn")
    ap.add_argument("--armnn-run", help="armnn-run binary (--runtime armnn)")
    ap.add_argument("--backend", default="CpuRef", help="Arm NN backend (--runtime armnn)")
    ap.add_argument("--litert-run", help="tools/litert-run/run.mjs (--runtime litert)")
    ap.add_argument("--node", default="node", help="Node.js executable (--runtime litert)")
    ap.add_argument("--tolerance", type=int,
                    help="LSB allowed from the tflite reference (armnn: 1, litert: 0)")
    ap.add_argument("--reference", choices=["auto", "tflite"], default="auto",
                    help="compare with: the kernels that ran (auto) or TFLite's integer ones")
    ap.add_argument("--case", action="append", help="only these cases")
    ap.add_argument("--verbose", action="store_true", help="print all values")
    args = ap.parse_args()
    runner = {"armnn": "armnn_run", "litert": "litert_run"}[args.runtime]
    if not getattr(args, runner):
        ap.error("--runtime %s needs --%s" % (args.runtime, runner.replace("_", "-")))
    if args.tolerance is None:
        args.tolerance = 1 if args.runtime == "armnn" else 0

    os.makedirs(args.work, exist_ok=True)
    rc, log = run([args.make_models, args.work])
    if rc != 0:
        print("make_models failed (exit %d): %s" % (rc, log))
        return 1
    cases = [c for c in log.split() if not args.case or c in args.case]
    passed = failed = 0
    for name in cases:
        problems, stats = check_case(args, os.path.join(args.work, name), name)
        if stats:
            xnn = ("" if stats["eq_xnnpack"] is None
                   else ", ==xnnpack %d" % stats["eq_xnnpack"])
            line = ("%-18s %d elements vs %s: ==tflite %d, ==exact %d, ==float %d%s, "
                    "max|diff tflite| %d, at clamp limit %d"
                    % (name, stats["elements"], stats["reference"], stats["eq_tflite"],
                       stats["eq_exact"], stats["eq_float"], xnn, stats["max_diff_tflite"],
                       stats["clamped"]))
        else:
            line = "%-18s not run" % name
        status = "FAIL" if problems else "ok"
        print("%-4s %s" % (status, line))
        for p in problems:
            print("       " + p)
        if stats and (args.verbose or problems):
            print("       %-7s %s" % (args.runtime, " ".join(map(str, stats["runtime"]))))
            print("       tflite  " + " ".join(map(str, stats["tflite"])))
        if problems:
            failed += 1
        else:
            passed += 1
    print("%s-check: %d passed, %d failed" % (args.runtime, passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
