// Reads and writes .npy files (format versions 1-3, C order, little-endian) for the dtypes the
// runtime tests exchange with LiteRT: float32, int8, uint8, int16, int32. Anything else throws
// an Error naming the file and what was found, so a bad input never reaches the runtime.
import fs from 'node:fs';

// numpy descr -> element size and TypedArray; '|' and '<' are both accepted for 1-byte types.
export const NPY_DTYPES = {
  float32: {descr: ['<f4'], size: 4, array: Float32Array},
  int32: {descr: ['<i4'], size: 4, array: Int32Array},
  int16: {descr: ['<i2'], size: 2, array: Int16Array},
  int8: {descr: ['|i1', '<i1'], size: 1, array: Int8Array},
  uint8: {descr: ['|u1', '<u1'], size: 1, array: Uint8Array},
};

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);  // \x93NUMPY

function fail(file, what) {
  throw new Error(`${file}: ${what}`);
}

function dtypeOfDescr(file, descr) {
  for (const [name, d] of Object.entries(NPY_DTYPES)) {
    if (d.descr.includes(descr)) return name;
  }
  fail(file, `dtype '${descr}' is not supported (expected one of ${
    Object.values(NPY_DTYPES).map((d) => d.descr[0]).join(', ')})`);
}

// The header is a Python dict literal; only the three keys numpy writes are read.
function parseHeader(file, text) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const order = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !order || !shape) {
    fail(file, `header is not a numpy header dict (found ${JSON.stringify(text.trim())})`);
  }
  if (order[1] === 'True') fail(file, 'fortran_order True is not supported (expected C order)');
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '');
  const parsed = dims.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (parsed.some((v) => Number.isNaN(v))) {
    fail(file, `shape '(${shape[1]})' is not a tuple of non-negative integers`);
  }
  return {dtype: dtypeOfDescr(file, descr[1]), shape: parsed};
}

/** Returns {dtype, shape, data: TypedArray} for the .npy file `file`. */
export function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    fail(file, `cannot read (${e.code ?? e.message})`);
  }
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    fail(file, 'not a .npy file (expected the \\x93NUMPY magic)');
  }
  const major = buf[6];
  let headerLen, headerStart;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(file, 'truncated header');
    headerLen = buf.readUInt32LE(8);
    headerStart = 12;
  } else {
    fail(file, `format version ${major} is not supported (expected 1, 2 or 3)`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) {
    fail(file, `header length ${headerLen} runs past the end of the file`);
  }
  const header = parseHeader(file, buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart,
                                                dataStart));
  const d = NPY_DTYPES[header.dtype];
  const count = header.shape.reduce((a, b) => a * b, 1);
  const bytes = buf.length - dataStart;
  if (bytes !== count * d.size) {
    fail(file, `shape [${header.shape}] of ${header.dtype} needs ${count * d.size} data bytes, ` +
                   `found ${bytes}`);
  }
  // Copy into an aligned buffer: the data offset need not be a multiple of the element size.
  const data = new d.array(count);
  new Uint8Array(data.buffer).set(buf.subarray(dataStart));
  return {dtype: header.dtype, shape: header.shape, data};
}

/** Writes `data` (a TypedArray of `dtype`) with `shape` as a version 1.0 .npy file. */
export function writeNpy(file, dtype, shape, data) {
  const d = NPY_DTYPES[dtype];
  if (!d) throw new Error(`${file}: cannot write dtype '${dtype}'`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${d.descr[0]}', 'fortran_order': False, 'shape': ${tuple}, }`;
  // numpy pads the header with spaces so that the data starts on a 64-byte boundary.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}
