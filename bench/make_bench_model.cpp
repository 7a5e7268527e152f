// Writes the inputs of the q-implant benchmark (bench/bench.sh) into a directory:
//
//   model.circle (or model.tflite)  a float32 chain of FULLY_CONNECTED layers, [N, N] weights and
//                                   [N] biases, of about --size-mb MiB; buffer data inline, or
//                                   with --external after the FlatBuffer (Buffer.offset/size,
//                                   the layout converters use past 2 GB; any size)
//   qparam_value.json               per-channel int8 weights and per-channel int32 biases given as
//                                   `value` npy files, int8 (or uint8) activations
//   qparam_float.json               the same parameters without `value`: q-implant quantizes the
//                                   float data itself
//   npy/                            the npy files both qparam files name
//
// The `value` files hold exactly what q-implant computes from the float data (same scales, same
// rounding: half to even), so both runs must produce byte-identical models.
//
// Weights come from a fixed-seed PRNG, so the files are the same on every run (the same data in
// either layout). Inline, the model is built with FlatBufferBuilder directly into one pre-sized
// allocation: weights are generated in place, the model is held in memory once (about --size-mb
// MiB). External, the FlatBuffer holds no data and each layer is generated into one reused
// buffer and appended, so memory stays at one layer whatever the size.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "model/schema.h"
#include "quant/quantize.h"
#include "util/error.h"

namespace {

// The FlatBuffer (inline buffers) must stay below 2 GiB; keep a margin for metadata.
constexpr size_t kMaxInlineSizeMiB = 1900;
constexpr size_t kMaxSizeMiB = 1u << 20;  // external: 1 TiB, far beyond any disk here
constexpr size_t kAlignment = 16;         // buffer data alignment, as converters and q-implant use

// splitmix64: fast, deterministic, good enough for weights.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Two uniform values in [-1, 1) from 24-bit fractions.
  void pair(float& a, float& b) {
    const uint64_t r = next();
    constexpr float k = 1.0f / 8388608.0f;  // 2^-23
    a = static_cast<float>(static_cast<uint32_t>(r) >> 8) * k - 1.0f;
    b = static_cast<float>(static_cast<uint32_t>(r >> 32) >> 8) * k - 1.0f;
  }
};

// The parts of the generated API the generator uses, for either format.
#define QIMPLANT_BENCH_API(NAME, NS)                                                               \
  struct NAME {                                                                                    \
    using Buffer = NS::Buffer;                                                                     \
    using Tensor = NS::Tensor;                                                                     \
    using Operator = NS::Operator;                                                                 \
    using SubGraph = NS::SubGraph;                                                                 \
    using OperatorCode = NS::OperatorCode;                                                         \
    static flatbuffers::Offset<Buffer> buffer(                                                     \
        flatbuffers::FlatBufferBuilder& fbb,                                                       \
        flatbuffers::Offset<flatbuffers::Vector<uint8_t>> d) {                                     \
      return NS::CreateBuffer(fbb, d);                                                             \
    }                                                                                              \
    /* External data: placeholder offset/size of 1 (fixed-width fields, patched after Finish). */  \
    static flatbuffers::Offset<Buffer> placeholder(flatbuffers::FlatBufferBuilder& fbb) {          \
      return NS::CreateBuffer(fbb, 0, 1, 1);                                                       \
    }                                                                                              \
    static void patch(uint8_t* model, size_t index, uint64_t offset, uint64_t size) {              \
      const auto* b = reinterpret_cast<const flatbuffers::Table*>(                                 \
          NS::GetModel(model)->buffers()->Get(static_cast<flatbuffers::uoffset_t>(index)));        \
      const uint8_t* o = b->GetAddressOf(Buffer::VT_OFFSET);                                       \
      const uint8_t* s = b->GetAddressOf(Buffer::VT_SIZE);                                         \
      flatbuffers::WriteScalar<uint64_t>(model + (o - model), offset);                             \
      flatbuffers::WriteScalar<uint64_t>(model + (s - model), size);                               \
    }                                                                                              \
    static flatbuffers::Offset<Tensor> tensor(flatbuffers::FlatBufferBuilder& fbb,                 \
                                              const std::vector<int32_t>& shape, uint32_t buffer,  \
                                              const std::string& name) {                           \
      return NS::CreateTensor(fbb, fbb.CreateVector(shape), NS::TensorType_FLOAT32, buffer,        \
                              fbb.CreateString(name));                                             \
    }                                                                                              \
    static flatbuffers::Offset<Operator> fully_connected(flatbuffers::FlatBufferBuilder& fbb,      \
                                                         const std::vector<int32_t>& in,           \
                                                         const std::vector<int32_t>& out) {        \
      const auto in_vec = fbb.CreateVector(in);                                                    \
      const auto out_vec = fbb.CreateVector(out);                                                  \
      const auto options = NS::CreateFullyConnectedOptions(fbb);                                   \
      return NS::CreateOperator(fbb, 0, in_vec, out_vec, NS::BuiltinOptions_FullyConnectedOptions, \
                                options.Union());                                                  \
    }                                                                                              \
    static flatbuffers::Offset<SubGraph> subgraph(                                                 \
        flatbuffers::FlatBufferBuilder& fbb,                                                       \
        const std::vector<flatbuffers::Offset<Tensor>>& tensors, const std::vector<int32_t>& in,   \
        const std::vector<int32_t>& out, const std::vector<flatbuffers::Offset<Operator>>& ops) {  \
      const auto t = fbb.CreateVector(tensors);                                                    \
      const auto i = fbb.CreateVector(in);                                                         \
      const auto o = fbb.CreateVector(out);                                                        \
      const auto p = fbb.CreateVector(ops);                                                        \
      return NS::CreateSubGraph(fbb, t, i, o, p, fbb.CreateString("main"));                        \
    }                                                                                              \
    static flatbuffers::Offset<OperatorCode> fully_connected_code(                                 \
        flatbuffers::FlatBufferBuilder& fbb) {                                                     \
      return NS::CreateOperatorCode(fbb, NS::BuiltinOperator_FULLY_CONNECTED, 0, 1,                \
                                    NS::BuiltinOperator_FULLY_CONNECTED);                          \
    }                                                                                              \
    static void finish(flatbuffers::FlatBufferBuilder& fbb,                                        \
                       flatbuffers::Offset<OperatorCode> code,                                     \
                       flatbuffers::Offset<SubGraph> subgraph,                                     \
                       const std::vector<flatbuffers::Offset<Buffer>>& buffers) {                  \
      const auto codes = fbb.CreateVector(&code, 1);                                               \
      const auto subgraphs = fbb.CreateVector(&subgraph, 1);                                       \
      const auto description = fbb.CreateString("q-implant benchmark model (float32)");            \
      const auto buffers_vec = fbb.CreateVector(buffers);                                          \
      NS::FinishModelBuffer(fbb,                                                                   \
                            NS::CreateModel(fbb, 3, codes, subgraphs, description, buffers_vec));  \
    }                                                                                              \
  };

QIMPLANT_BENCH_API(CircleApi, circle)
QIMPLANT_BENCH_API(TFLiteApi, tflite)
#undef QIMPLANT_BENCH_API

struct Options {
  std::string dir;
  size_t size_mib = 1024;
  int32_t width = 0;  // 0: chosen from the size
  size_t layers = 0;  // 0: as many as --size-mb needs
  std::string format = "circle";
  std::string act_dtype = "int8";
  uint64_t seed = 1;
  bool external = false;  // data after the FlatBuffer (offset/size)
};

struct Layer {
  std::string weight, bias, out;  // tensor names
  std::vector<float> weight_scale, bias_scale;
};

void write_file(const std::string& path, const void* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw qimplant::Error("cannot create '" + path + "': " + std::strerror(errno));
  const bool ok = std::fwrite(data, 1, size, f) == size;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) throw qimplant::Error("cannot write '" + path + "'");
}

void make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST)
    throw qimplant::Error("cannot create directory '" + path + "': " + std::strerror(errno));
}

// Fills one layer's weights `w` ([n, n] float32) and biases `b` ([n]) from the PRNG, records the
// layer's scales, and writes its npy files (scales, and the `value`s exactly as
// q-implant would quantize them).
void make_layer(size_t l, int32_t n, float act_scale, Rng& rng, uint8_t* w, uint8_t* b,
                const std::string& npy_dir, Layer& L) {
  const size_t weight_bytes = static_cast<size_t>(n) * static_cast<size_t>(n) * 4;
  const size_t bias_bytes = static_cast<size_t>(n) * 4;
  const std::string prefix = "fc" + std::to_string(l);

  // Weights; per output channel (row) its own magnitude.
  std::vector<float> row(static_cast<size_t>(n));
  L.weight_scale.resize(static_cast<size_t>(n));
  for (int32_t r = 0; r < n; ++r) {
    const float amp =
        0.01f +
        0.04f *
            static_cast<float>((static_cast<uint32_t>(r) * 2654435761u + static_cast<uint32_t>(l)) %
                               1000u) /
            1000.0f;
    float peak = 0.0f;
    for (int32_t c = 0; c + 1 < n; c += 2) {
      float x, y;
      rng.pair(x, y);
      row[c] = x * amp;
      row[c + 1] = y * amp;
    }
    if (n % 2) {
      float x, y;
      rng.pair(x, y);
      row[n - 1] = x * amp;
    }
    for (float v : row) peak = std::max(peak, std::fabs(v));
    L.weight_scale[r] = std::max(peak, 1e-6f) / 127.0f;
    std::memcpy(w + static_cast<size_t>(r) * row.size() * 4, row.data(), row.size() * 4);
  }

  // Biases: small floats; int32 with scale = input scale * weight scale, zero point 0.
  L.bias_scale.resize(static_cast<size_t>(n));
  for (int32_t c = 0; c < n; c += 2) {
    float x, y;
    rng.pair(x, y);
    row[c] = x * 0.5f;
    if (c + 1 < n) row[c + 1] = y * 0.5f;
  }
  std::memcpy(b, row.data(), bias_bytes);
  for (int32_t c = 0; c < n; ++c) L.bias_scale[c] = act_scale * L.weight_scale[c];

  const std::vector<int64_t> zeros(static_cast<size_t>(n), 0);
  qimplant::npy::save(npy_dir + "/" + prefix + "_weight_scale.npy", L.weight_scale, {n});
  qimplant::npy::save(npy_dir + "/" + prefix + "_bias_scale.npy", L.bias_scale, {n});
  std::vector<uint8_t> quantized(weight_bytes / 4);
  qimplant::QuantParams wq{L.weight_scale, zeros, 0};
  if (qimplant::quantize_float32(w, {n, n}, wq, qimplant::QType::Int8,
                                 qimplant::Rounding::HalfToEven, quantized.data()) >= 0)
    throw qimplant::Error("internal error: NaN in generated weights");
  qimplant::npy::save(npy_dir + "/" + prefix + "_weight_value.npy", "|i1", {n, n}, quantized.data(),
                      quantized.size());
  std::vector<int32_t> bias_q(static_cast<size_t>(n));
  qimplant::QuantParams bq{L.bias_scale, zeros, 0};
  if (qimplant::quantize_float32(b, {n}, bq, qimplant::QType::Int32, qimplant::Rounding::HalfToEven,
                                 reinterpret_cast<uint8_t*>(bias_q.data())) >= 0)
    throw qimplant::Error("internal error: NaN in generated biases");
  qimplant::npy::save(npy_dir + "/" + prefix + "_bias_value.npy", bias_q, {n});
}

size_t align_up(size_t n) {
  return (n + kAlignment - 1) / kAlignment * kAlignment;
}

template <class Api>
void generate(const Options& o) {
  const int32_t n = o.width;
  const size_t weight_bytes = static_cast<size_t>(n) * static_cast<size_t>(n) * 4;
  const size_t bias_bytes = static_cast<size_t>(n) * 4;
  const size_t target = o.size_mib << 20;
  const size_t layers =
      o.layers ? o.layers : (target + weight_bytes + bias_bytes - 1) / (weight_bytes + bias_bytes);
  const size_t data_estimate =
      o.external ? 0 : layers * (weight_bytes + bias_bytes + 4 * kAlignment);
  const size_t estimate = data_estimate + (1u << 20);
  if (estimate >= 0x7fffffffu)
    throw qimplant::Error("model would not fit in a 2 GiB FlatBuffer (use --external)");

  const std::string npy_dir = o.dir + "/npy";
  make_dir(o.dir);
  make_dir(npy_dir);

  const bool act_int8 = o.act_dtype == "int8";
  const float act_scale = 0.05f;
  const int64_t act_zp = act_int8 ? -3 : 125;
  qimplant::npy::save(npy_dir + "/act_scale.npy", std::vector<float>{act_scale}, {1});
  qimplant::npy::save(npy_dir + "/act_zerop.npy", std::vector<int64_t>{act_zp}, {1});
  qimplant::npy::save(npy_dir + "/channel_zerop.npy",
                      std::vector<int64_t>(static_cast<size_t>(n), 0), {n});

  // One allocation for the whole model: the builder never grows (no second copy while building).
  flatbuffers::FlatBufferBuilder fbb(estimate);
  std::vector<flatbuffers::Offset<typename Api::Buffer>> buffers;
  buffers.push_back(Api::buffer(fbb, 0));  // buffer 0: the empty sentinel

  Rng rng{o.seed};
  std::vector<Layer> info(layers);
  for (size_t l = 0; l < layers; ++l) {
    const std::string prefix = "fc" + std::to_string(l);
    info[l].weight = prefix + "/weight";
    info[l].bias = prefix + "/bias";
    info[l].out = prefix + "/out";
    if (o.external) {
      buffers.push_back(Api::placeholder(fbb));
      buffers.push_back(Api::placeholder(fbb));
      continue;
    }
    // Inline: generated in place in the builder.
    uint8_t* w = nullptr;
    fbb.ForceVectorAlignment(weight_bytes, 1, kAlignment);
    const auto w_vec = fbb.CreateUninitializedVector(weight_bytes, 1, &w);
    uint8_t* b = nullptr;
    // The builder fills back to front: the bias is created second but must be generated after
    // the weights, as in the external layout, so that both layouts hold the same numbers.
    fbb.ForceVectorAlignment(bias_bytes, 1, kAlignment);
    const auto b_vec = fbb.CreateUninitializedVector(bias_bytes, 1, &b);
    // Where the weights are now (the builder was sized not to move them, but never assume).
    w = fbb.GetCurrentBufferPointer() + (fbb.GetSize() - w_vec) + sizeof(flatbuffers::uoffset_t);
    make_layer(l, n, act_scale, rng, w, b, npy_dir, info[l]);
    buffers.push_back(Api::buffer(fbb, w_vec));
    buffers.push_back(Api::buffer(fbb, b_vec));
  }

  // Tensors: input, then per layer weight, bias, output. Layer l reads tensor 3l (the input or
  // the previous layer's output).
  std::vector<flatbuffers::Offset<typename Api::Tensor>> tensors;
  std::vector<flatbuffers::Offset<typename Api::Operator>> ops;
  tensors.push_back(Api::tensor(fbb, {1, n}, 0, "input"));
  for (size_t l = 0; l < layers; ++l) {
    const int32_t base = static_cast<int32_t>(3 * l);
    const uint32_t wb = static_cast<uint32_t>(1 + 2 * l);
    tensors.push_back(Api::tensor(fbb, {n, n}, wb, info[l].weight));
    tensors.push_back(Api::tensor(fbb, {n}, wb + 1, info[l].bias));
    tensors.push_back(Api::tensor(fbb, {1, n}, 0, info[l].out));
    ops.push_back(Api::fully_connected(fbb, {base, base + 1, base + 2}, {base + 3}));
  }
  const int32_t last = static_cast<int32_t>(3 * layers);
  const auto sg = Api::subgraph(fbb, tensors, {0}, {last}, ops);
  Api::finish(fbb, Api::fully_connected_code(fbb), sg, buffers);

  const std::string model_path = o.dir + "/model." + o.format;
  size_t file_size = fbb.GetSize();
  if (!o.external) {
    write_file(model_path, fbb.GetBufferPointer(), fbb.GetSize());
  } else {
    // FlatBuffer, padded to 16; then per layer the weights and the biases, each padded to 16;
    // then 16 zero bytes, as the converters lay it out (see src/write/model_writer.cpp).
    uint8_t* model = fbb.GetBufferPointer();
    size_t at = align_up(fbb.GetSize());
    for (size_t l = 0; l < layers; ++l) {
      Api::patch(model, 1 + 2 * l, at, weight_bytes);
      at = align_up(at + weight_bytes);
      Api::patch(model, 2 + 2 * l, at, bias_bytes);
      at = align_up(at + bias_bytes);
    }
    file_size = at + kAlignment;
    std::FILE* f = std::fopen(model_path.c_str(), "wb");
    if (!f) throw qimplant::Error("cannot create '" + model_path + "': " + std::strerror(errno));
    bool ok = true;
    const std::vector<uint8_t> zeros(kAlignment, 0);
    auto put = [&](const void* p, size_t size) { ok = ok && std::fwrite(p, 1, size, f) == size; };
    auto pad = [&](size_t size) { put(zeros.data(), align_up(size) - size); };
    put(model, fbb.GetSize());
    pad(fbb.GetSize());
    std::vector<uint8_t> w(weight_bytes), b(bias_bytes);
    for (size_t l = 0; l < layers; ++l) {
      make_layer(l, n, act_scale, rng, w.data(), b.data(), npy_dir, info[l]);
      put(w.data(), w.size());
      pad(w.size());
      put(b.data(), b.size());
      pad(b.size());
    }
    put(zeros.data(), kAlignment);
    const bool closed = std::fclose(f) == 0;
    if (!ok || !closed) throw qimplant::Error("cannot write '" + model_path + "'");
  }

  // The two qparam files: the same parameters, with and without `value`.
  using nlohmann::json;
  const json act = {{"dtype", o.act_dtype},
                    {"scale", "npy/act_scale.npy"},
                    {"zerop", "npy/act_zerop.npy"},
                    {"quantized_dimension", 0}};
  json with_value = json::object(), from_float = json::object();
  with_value["input"] = from_float["input"] = act;
  for (size_t l = 0; l < layers; ++l) {
    const std::string prefix = "npy/fc" + std::to_string(l);
    json w = {{"dtype", "int8"},
              {"scale", prefix + "_weight_scale.npy"},
              {"zerop", "npy/channel_zerop.npy"},
              {"quantized_dimension", 0}};
    json b = {{"dtype", "int32"},
              {"scale", prefix + "_bias_scale.npy"},
              {"zerop", "npy/channel_zerop.npy"},
              {"quantized_dimension", 0}};
    from_float[info[l].weight] = w;
    from_float[info[l].bias] = b;
    w["value"] = prefix + "_weight_value.npy";
    b["value"] = prefix + "_bias_value.npy";
    with_value[info[l].weight] = w;
    with_value[info[l].bias] = b;
    with_value[info[l].out] = from_float[info[l].out] = act;
  }
  const std::string v = with_value.dump(2) + "\n", f = from_float.dump(2) + "\n";
  write_file(o.dir + "/qparam_value.json", v.data(), v.size());
  write_file(o.dir + "/qparam_float.json", f.data(), f.size());

  std::cout << "make-bench-model: wrote " << model_path << " (" << o.format << ", " << file_size
            << " bytes, " << (o.external ? "external" : "inline") << " buffers, " << layers
            << " FULLY_CONNECTED layers of [" << n << ", " << n << "] float32 weights + [" << n
            << "] biases), qparam_value.json, "
            << "qparam_float.json and " << 3 + 4 * layers << " npy files in " << npy_dir << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Writes a float32 benchmark model and two qparam.json files for q-implant "
      "(bench/bench.sh uses it).",
      "qimplant-make-bench-model"};
  Options o;
  app.add_option("dir", o.dir, "output directory (created if missing)")->required();
  app.add_option("--size-mb", o.size_mib, "model size in MiB (rounded up to whole layers)")
      ->check(CLI::Range(size_t{1}, kMaxSizeMiB))
      ->capture_default_str();
  app.add_option("--width", o.width,
                 "N of the [N, N] weights (default: 4096, smaller for models under 512 MiB)")
      ->check(CLI::Range(2, 16384));
  app.add_option("--layers", o.layers,
                 "number of layers (3 tensors each, plus the input); overrides --size-mb")
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  app.add_option("--format", o.format, "model format")
      ->check(CLI::IsMember({"circle", "tflite"}))
      ->capture_default_str();
  app.add_option("--act-dtype", o.act_dtype, "activation dtype")
      ->check(CLI::IsMember({"int8", "uint8"}))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "PRNG seed")->capture_default_str();
  app.add_flag("--external", o.external,
               "buffer data after the FlatBuffer (offset/size), for models past 2 GiB");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!o.external && o.size_mib > kMaxInlineSizeMiB) {
    std::cerr << "make-bench-model: error: --size-mb over " << kMaxInlineSizeMiB
              << " needs --external (an inline FlatBuffer stays under 2 GiB)\n";
    return 2;
  }
  if (o.width == 0) {
    // At least 8 layers: width = sqrt(size / 8 / 4 bytes), a multiple of 64, at most 4096.
    const double w = std::sqrt(static_cast<double>(o.size_mib << 20) / 32.0);
    o.width = std::clamp(static_cast<int32_t>(w) / 64 * 64, 64, 4096);
  }
  try {
    if (o.format == "circle")
      generate<CircleApi>(o);
    else
      generate<TFLiteApi>(o);
  } catch (const std::exception& e) {
    std::cerr << "make-bench-model: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
