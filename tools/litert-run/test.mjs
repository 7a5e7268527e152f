// Tests of npy.mjs and run.mjs's handling of bad input (node --test test.mjs).
// numpy is the reference for the .npy format: NUMPY_PYTHON (default /usr/bin/python3) writes
// and reads files on the other side. MAKE_MODELS (tests/runtime's qimplant_armnn_models) writes
// the float models the command-line tests run.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {readNpy, writeNpy, NPY_DTYPES} from './npy.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const python = process.env.NUMPY_PYTHON || '/usr/bin/python3';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'litert-run-test-'));
process.on('exit', () => fs.rmSync(tmp, {recursive: true, force: true}));

function py(code) {
  return execFileSync(python, ['-c', 'import numpy as np, sys\n' + code], {encoding: 'utf8'});
}

const SAMPLES = {
  float32: [1.5, -2.25, 3e-5, 0, -7.75, 1e30],
  int32: [-(2 ** 31), 2 ** 31 - 1, 7, 0, -1, 123456],
  int16: [-32768, 32767, -1, 0, 1, 300],
  int8: [-128, 127, 0, -1, 1, 5],
  uint8: [0, 255, 9, 128, 127, 1],
};

test('reads what numpy writes, for every dtype and a scalar', () => {
  for (const [dtype, vals] of Object.entries(SAMPLES)) {
    const f = path.join(tmp, `np_${dtype}.npy`);
    py(`np.save(${JSON.stringify(f)}, ` +
       `np.array(${JSON.stringify(vals)}, dtype='${dtype}').reshape(2, 3))`);
    const got = readNpy(f);
    assert.equal(got.dtype, dtype);
    assert.deepEqual(got.shape, [2, 3]);
    assert.deepEqual(Array.from(got.data), Array.from(new NPY_DTYPES[dtype].array(vals)));
  }
  const f = path.join(tmp, 'scalar.npy');
  py(`np.save(${JSON.stringify(f)}, np.array(2.5, dtype='float32'))`);
  const got = readNpy(f);
  assert.deepEqual(got.shape, []);
  assert.deepEqual(Array.from(got.data), [2.5]);
});

test('writes the bytes numpy writes, and numpy reads them back', () => {
  for (const [dtype, vals] of Object.entries(SAMPLES)) {
    for (const shape of [[2, 3], [6], [1, 2, 1, 3]]) {
      const ours = path.join(tmp, `ours_${dtype}.npy`);
      const theirs = path.join(tmp, `theirs_${dtype}.npy`);
      writeNpy(ours, dtype, shape, new NPY_DTYPES[dtype].array(vals));
      py(`np.save(${JSON.stringify(theirs)}, np.array(${JSON.stringify(vals)}, ` +
         `dtype='${dtype}').reshape(${JSON.stringify(shape)}))`);
      assert.deepEqual(fs.readFileSync(ours), fs.readFileSync(theirs), `${dtype} ${shape}`);
      const back = JSON.parse(py(`a = np.load(${JSON.stringify(ours)}); ` +
                                 `print(__import__('json').dumps([str(a.dtype), list(a.shape)]))`));
      assert.deepEqual(back, [dtype, shape]);
    }
  }
});

function npyBytes(header, data, version = 1) {
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const len = Buffer.alloc(version === 1 ? 2 : 4);
  if (version === 1) len.writeUInt16LE(header.length); else len.writeUInt32LE(header.length);
  return Buffer.concat([pre, len, Buffer.from(header, 'latin1'), Buffer.from(data)]);
}

test('rejects bad .npy files with a message naming the file and the problem', () => {
  const h = (descr, order, shape) =>
    `{'descr': '${descr}', 'fortran_order': ${order}, 'shape': ${shape}, }\n`;
  const cases = {
    'missing.npy': [null, /missing\.npy: cannot read \(ENOENT\)/],
    'magic.npy': [Buffer.from('not an npy file'), /magic\.npy: not a \.npy file/],
    'f64.npy': [npyBytes(h('<f8', 'False', '(1,)'), new Uint8Array(8)),
                /f64\.npy: dtype '<f8' is not supported/],
    'big_endian.npy': [npyBytes(h('>i4', 'False', '(1,)'), new Uint8Array(4)),
                       /big_endian\.npy: dtype '>i4' is not supported/],
    'fortran.npy': [npyBytes(h('<i4', 'True', '(1,)'), new Uint8Array(4)),
                    /fortran\.npy: fortran_order True is not supported/],
    'short.npy': [npyBytes(h('<i4', 'False', '(2, 3)'), new Uint8Array(20)),
                  /short\.npy: shape \[2,3\] of int32 needs 24 data bytes, found 20/],
    'long.npy': [npyBytes(h('|u1', 'False', '(2,)'), new Uint8Array(3)),
                 /long\.npy: shape \[2\] of uint8 needs 2 data bytes, found 3/],
    'version.npy': [npyBytes(h('|u1', 'False', '(1,)'), new Uint8Array(1), 4),
                    /version\.npy: format version 4 is not supported/],
    'shape.npy': [npyBytes(h('|u1', 'False', '(-1,)'), new Uint8Array(1)),
                  /shape\.npy: shape '\(-1,\)' is not a tuple of non-negative integers/],
    'header.npy': [npyBytes('{}\n', new Uint8Array(1)), /header\.npy: header is not a numpy/],
    'past_end.npy': [Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0xff, 0x00]),
                     /past_end\.npy: header length 255 runs past the end of the file/],
  };
  for (const [name, [bytes, message]] of Object.entries(cases)) {
    const f = path.join(tmp, name);
    if (bytes) fs.writeFileSync(f, bytes);
    assert.throws(() => readNpy(f), message, name);
  }
});

// ---- run.mjs on bad input: exit 1, one message on stderr, no output file.

const runMjs = path.join(here, 'run.mjs');
let modelsDir;
function models() {
  if (!modelsDir) {
    assert.ok(process.env.MAKE_MODELS, 'MAKE_MODELS must name the qimplant_armnn_models binary');
    modelsDir = path.join(tmp, 'models');
    execFileSync(process.env.MAKE_MODELS, [modelsDir]);
  }
  return modelsDir;
}

function runFails(args, message) {
  const prefix = path.join(tmp, 'out_');
  fs.rmSync(prefix + '0.npy', {force: true});
  const r = spawnSync(process.execPath, [runMjs, ...args.map((a) => a.replace('OUT', prefix))],
                      {encoding: 'utf8', timeout: 60000});
  assert.equal(r.status, 1, `exit status for ${args.join(' ')}: ${r.stderr}`);
  const ours = r.stderr.split('\n').filter((l) => l.startsWith('litert-run: '));
  assert.equal(ours.length, 1, r.stderr);
  assert.match(ours[0], message);
  assert.ok(!fs.existsSync(prefix + '0.npy'));
}

test('run.mjs rejects bad arguments and inputs', () => {
  const conv = path.join(models(), 'conv_u8');
  const model = path.join(conv, 'model.tflite');  // float32 input [1,4,4,2]
  const f32 = path.join(tmp, 'f32.npy');
  const f32Shape = path.join(tmp, 'f32_shape.npy');
  writeNpy(f32, 'float32', [1, 4, 4, 2], new Float32Array(32));
  writeNpy(f32Shape, 'float32', [1, 4, 2, 4], new Float32Array(32));
  const garbage = path.join(tmp, 'garbage.tflite');
  fs.writeFileSync(garbage, Buffer.from('0123456789abcdef'.repeat(4)));

  runFails([model], /usage: node run\.mjs/);
  runFails(['--threads', '0', model, 'OUT', f32], /--threads: expected a positive integer/);
  runFails(['--bogus', model, 'OUT', f32], /unknown option '--bogus'/);
  runFails([path.join(tmp, 'none.tflite'), 'OUT', f32], /none\.tflite: cannot read model/);
  runFails([garbage, 'OUT', f32], /garbage\.tflite: LiteRT cannot load the model/);
  runFails([model, 'OUT'], /model\.tflite: the model has 1 input\(s\) \(ifm\), 0 \.npy/);
  runFails([model, 'OUT', f32, f32], /the model has 1 input\(s\) \(ifm\), 2 \.npy/);
  runFails([model, 'OUT', path.join(conv, 'input0.npy')],
           /input0\.npy: input 'ifm' expects float32 \[1,4,4,2\], the file holds uint8/);
  runFails([model, 'OUT', f32Shape],
           /f32_shape\.npy: input 'ifm' expects float32 \[1,4,4,2\], .* holds float32 \[1,4,2,4/);
  runFails([model, 'OUT', path.join(conv, 'qparam.json')], /qparam\.json: not a \.npy file/);
});
