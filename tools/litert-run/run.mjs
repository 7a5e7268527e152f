#!/usr/bin/env node
// Runs a .tflite model once in LiteRT.js (Google's TFLite/LiteRT runtime compiled to WebAssembly,
// npm package @litertjs/core) under Node, on the CPU:
//
//   node run.mjs [--threads N] [--print] MODEL.tflite OUT_PREFIX [INPUT0.npy ...]
//   node run.mjs --self-check     (loads the runtime only: can this Node run it?)
//
// Inputs are .npy files in signature order (dtype and shape must be the model's). Each output i
// is written to OUT_PREFIX<i>.npy. stdout describes the run:
//   runtime LiteRT.js <version> (<wasm file>) accelerator=wasm fully_delegated=<yes|no>
//   input|output NAME type=<dtype> shape=[d0,d1,...]
// LiteRT.js exposes no quantization parameters, so none are printed. Exit 0 on success; any
// bad input or runtime failure prints one message on stderr and exits 1.
//
// The package's JS wrapper only handles float32/int32/uint8 tensors, so this script uses the
// embind API of its wasm module directly (the same calls the wrapper makes) and loads the
// module itself: the wrapper's loader expects a browser (script tags or importScripts).
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import {createRequire} from 'node:module';
import {NPY_DTYPES, readNpy, writeNpy} from './npy.mjs';

const require = createRequire(import.meta.url);

// litert::ElementType values (litert_model_types.h) for the dtypes npy.mjs handles.
const ELEMENT_DTYPE = {1: 'float32', 2: 'int32', 3: 'uint8', 7: 'int16', 9: 'int8'};

// The "compat" build needs no relaxed-SIMD (Node 18/20 have none without a flag), so the same
// binary runs everywhere; its CPU path is XNNPACK, as in every LiteRT.js build.
const WASM_JS = 'litert_wasm_compat_internal.js';

function usage() {
  return 'usage: node run.mjs [--threads N] [--print] MODEL.tflite OUT_PREFIX [INPUT.npy ...]\n' +
         '       node run.mjs --self-check';
}

function parseArgs(argv) {
  const opts = {threads: 1, print: false, selfCheck: false, positional: []};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--print') {
      opts.print = true;
    } else if (a === '--self-check') {
      opts.selfCheck = true;
    } else if (a === '--threads') {
      const v = argv[++i];
      if (v === undefined || !/^[1-9]\d*$/.test(v)) {
        throw new Error(`--threads: expected a positive integer, found '${v ?? ''}'`);
      }
      opts.threads = Number(v);
    } else if (a === '-h' || a === '--help') {
      console.log(usage());
      process.exit(0);
    } else if (a.startsWith('--')) {
      throw new Error(`unknown option '${a}'\n${usage()}`);
    } else {
      opts.positional.push(a);
    }
  }
  if (!opts.selfCheck && opts.positional.length < 2) throw new Error(usage());
  return opts;
}

// Evaluates the emscripten glue as a function body so that its `require`, `__dirname` and
// `ModuleFactory` stay local, then instantiates the module from the .wasm beside it.
async function loadWasm() {
  const pkgJson = require.resolve('@litertjs/core/package.json');
  const version = JSON.parse(fs.readFileSync(pkgJson, 'utf8')).version;
  const dir = path.join(path.dirname(pkgJson), 'wasm');
  const file = path.join(dir, WASM_JS);
  const code = fs.readFileSync(file, 'utf8') + '\nreturn ModuleFactory;';
  const factory = vm.compileFunction(code, ['require', '__dirname', '__filename'],
                                     {filename: file})(require, dir, file);
  const w = await factory({});
  w.setupLogging();
  return {w, version, file: WASM_JS};
}

function vectorToArray(v) {
  const out = [];
  for (let i = 0; i < v.size(); i++) out.push(v.get(i));
  v.delete();
  return out;
}

function describeType(t, what) {
  const code = t.elementType().value;
  const dtype = ELEMENT_DTYPE[code];
  const layout = t.layout();
  const shape = vectorToArray(layout.dimensions());
  layout.delete();
  if (!dtype) throw new Error(`${what}: element type ${code} is not supported by this runner`);
  return {dtype, shape};
}

function sameShape(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.selfCheck) {
    const {w, version, file} = await loadWasm();
    w.LiteRtEnvironment.create(null).delete();
    console.log(`LiteRT.js ${version} (${file}) runs under Node ${process.version}`);
    return;
  }
  const [modelFile, outPrefix, ...inputFiles] = opts.positional;
  let modelBytes;
  try {
    modelBytes = fs.readFileSync(modelFile);
  } catch (e) {
    throw new Error(`${modelFile}: cannot read model (${e.code ?? e.message})`);
  }
  const inputs = inputFiles.map(readNpy);

  const {w, version, file} = await loadWasm();
  const env = w.LiteRtEnvironment.create(null);
  const ptr = w._malloc(modelBytes.length);
  w.HEAPU8.set(modelBytes, ptr);
  let model, compiled;
  try {
    model = w.loadModel(env, ptr, modelBytes.length);
    compiled = await w.compileModel(
        env, model,
        {accelerator: 'wasm', cpuOptions: {numThreads: opts.threads}, gpuOptions: {},
         webNNOptions: {}});
  } catch (e) {
    throw new Error(`${modelFile}: LiteRT cannot ${model ? 'compile' : 'load'} the model (${
      e.message})`);
  }
  console.log(`runtime LiteRT.js ${version} (${file}) accelerator=wasm fully_delegated=${
    compiled.isFullyAccelerated() ? 'yes' : 'no'}`);

  const sig = model.getSignature(0);
  const inNames = vectorToArray(sig.inputNames());
  const outNames = vectorToArray(sig.outputNames());
  if (inputs.length !== inNames.length) {
    throw new Error(`${modelFile}: the model has ${inNames.length} input(s) (${
      inNames.join(', ')}), ${inputs.length} .npy file(s) given`);
  }

  const buffers = inNames.map((name, i) => {
    const t = model.getInputTensorType(0, i);
    const want = describeType(t, `input '${name}'`);
    console.log(`input ${name} type=${want.dtype} shape=[${want.shape.join(',')}]`);
    const got = inputs[i];
    if (got.dtype !== want.dtype || !sameShape(got.shape, want.shape)) {
      throw new Error(`${inputFiles[i]}: input '${name}' expects ${want.dtype} [${want.shape}], ` +
                      `the file holds ${got.dtype} [${got.shape}]`);
    }
    const buf = w.LiteRtTensorBuffer.createManaged(env, w.LiteRtTensorBufferType.HOST_MEMORY, t,
                                                   t.bytes());
    t.delete();
    const p = buf.lock(w.LiteRtTensorBufferLockMode.WRITE);
    w.HEAPU8.set(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength), p);
    buf.unlock();
    return buf;
  });

  const outs = await compiled.run(0, buffers);
  outs.forEach((buf, i) => {
    const t = buf.tensorType();
    const {dtype, shape} = describeType(t, `output '${outNames[i]}'`);
    t.delete();
    console.log(`output ${outNames[i]} type=${dtype} shape=[${shape.join(',')}]`);
    if (buf.offset() !== 0 || buf.size() !== buf.packedSize()) {
      throw new Error(`output '${outNames[i]}': strided or padded buffers are not supported`);
    }
    const p = buf.lock(w.LiteRtTensorBufferLockMode.READ);
    const bytes = w.HEAPU8.slice(p, p + buf.packedSize());
    buf.unlock();
    const data = new NPY_DTYPES[dtype].array(bytes.buffer);
    writeNpy(`${outPrefix}${i}.npy`, dtype, shape, data);
    if (opts.print) console.log(`  values ${Array.from(data).join(' ')}`);
    buf.delete();
  });
  buffers.forEach((b) => b.delete());
  compiled.delete();
  model.delete();
  w._free(ptr);
}

main().catch((e) => {
  console.error(`litert-run: ${e.message}`);
  process.exit(1);
});
