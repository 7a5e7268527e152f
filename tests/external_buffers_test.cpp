// Models whose buffer data lives after the FlatBuffer (Buffer.offset / Buffer.size), as the TFLite
// converter and ONE write them past 2 GB: reading them, implanting into them, choosing the
// output layout, round trips, and malformed offsets.
//
// The external models are made here, independently of q-implant's writer: the FlatBuffer is
// packed from the object API with offset/size fields present (packed twice: once to learn its
// size, once with the real offsets; uint64 table fields are fixed-width, so the size cannot
// change), then the data is appended on 16-byte boundaries.
#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>

#include "implant.h"
#include "model/model_file.h"
#include "model/schema.h"
#include "quant/quantize.h"
#include "support/fixtures.h"
#include "util/error.h"
#include "write/model_writer.h"

namespace qimplant::test {
namespace {

uint64_t align16(uint64_t n) {
  return (n + 15) / 16 * 16;
}

// How to_external lays the data out (the defaults are TFLite's and ONE's layout).
struct ExternalLayout {
  bool keep_small_inline = false;  // buffers of up to 8 bytes stay inline (a mixed model)
  // Called with each buffer's (index, offset, size) before packing, to make malformed files.
  std::function<void(size_t, uint64_t&, uint64_t&)> tamper;
  // One buffer whose real size is `big_size` (its data in the model is a stand-in); its bytes
  // are made by `big_writer` when the file is written (see write_external_file).
  size_t big_index = SIZE_MAX;
  uint64_t big_size = 0;
};

struct ExternalModel {
  std::vector<uint8_t> flatbuffer;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> blocks;  // offset, bytes
  uint64_t big_offset = 0;
  uint64_t end = 0;  // file size
};

template <Format F>
ExternalModel lay_out(const std::vector<uint8_t>& inline_model, const ExternalLayout& layout) {
  using S = Schema<F>;
  std::unique_ptr<typename S::ModelT> m(S::root(inline_model.data())->UnPack());
  std::vector<std::vector<uint8_t>> data(m->buffers.size());
  std::vector<bool> moved(m->buffers.size(), false);
  for (size_t i = 0; i < m->buffers.size(); ++i) {
    auto& b = *m->buffers[i];
    if (b.data.empty() || (layout.keep_small_inline && b.data.size() <= 8)) continue;
    data[i] = std::move(b.data);
    b.data.clear();
    moved[i] = true;
    b.offset = 1;  // placeholders: present in the table, patched below
    b.size = 1;
  }
  auto pack = [&]() {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(S::Model::Pack(fbb, m.get()), S::identifier);
    return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  };
  const size_t fb_size = pack().size();
  ExternalModel out;
  uint64_t at = align16(fb_size);
  for (size_t i = 0; i < m->buffers.size(); ++i) {
    if (!moved[i]) continue;
    uint64_t offset = at, size = i == layout.big_index ? layout.big_size : data[i].size();
    at = align16(at + size);
    if (i == layout.big_index) {
      out.big_offset = offset;
    } else {
      out.blocks.emplace_back(offset, std::move(data[i]));
    }
    if (layout.tamper) layout.tamper(i, offset, size);
    m->buffers[i]->offset = offset;
    m->buffers[i]->size = size;
  }
  out.flatbuffer = pack();
  EXPECT_EQ(out.flatbuffer.size(), fb_size) << "fixed-width offset fields keep the size";
  out.end = at;
  return out;
}

ExternalModel lay_out(Format f, const std::vector<uint8_t>& inline_model,
                      const ExternalLayout& layout) {
  return f == Format::Circle ? lay_out<Format::Circle>(inline_model, layout)
                             : lay_out<Format::TFLite>(inline_model, layout);
}

std::vector<uint8_t> to_external(Format f, const std::vector<uint8_t>& inline_model,
                                 const ExternalLayout& layout = {}) {
  ExternalModel e = lay_out(f, inline_model, layout);
  std::vector<uint8_t> out = std::move(e.flatbuffer);
  out.resize(e.end, 0);
  for (const auto& [offset, bytes] : e.blocks) {
    if (!bytes.empty()) std::memcpy(out.data() + offset, bytes.data(), bytes.size());
  }
  return out;
}

// FULLY_CONNECTED with float weight and bias, then RESHAPE with an untouched int32 shape constant.
ModelBuilder fc_model(Format f) {
  ModelBuilder b(f);
  const int32_t in = b.tensor("in", {1, 3});
  const int32_t w = b.constant("w", {2, 3}, {1, 2, -3, 4, 5, -6});
  const int32_t bias = b.constant("bias", {2}, {0.25f, -1.5f});
  const int32_t out = b.tensor("out", {1, 2});
  const int32_t shape = b.constant_i32("shape", {2}, {2, 1});
  const int32_t out2 = b.tensor("out2", {2, 1});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, w, bias}, {out});
  b.op(circle::BuiltinOperator_RESHAPE, {out, shape}, {out2});
  b.inputs({in});
  b.outputs({out2});
  return b;
}

// Weight from float (per channel), bias derived; or the weight given as "value".
std::vector<QParamSpec> fc_qparams(bool weight_value) {
  QParamSpec ws{"w", "int8", {0.5f, 2.0f}, {0, 0}};
  ws.quantized_dimension = 0;
  if (weight_value) {
    ws.value_descr = "|i1";
    ws.value_shape = {2, 3};
    ws.value_bytes = {7, 0xf9, 1, 2, 3, 4};
  }
  return {{"in", "int8", {0.1f}, {3}}, ws, {"out", "int8", {0.2f}, {-1}}};
}

class ExternalBuffersTest : public ::testing::TestWithParam<Format> {
 protected:
  Format format() const { return GetParam(); }
  std::string ext() const { return format() == Format::Circle ? ".circle" : ".tflite"; }
  std::string save_external(const std::string& name, const ExternalLayout& layout = {}) {
    const std::string path = dir.file(name + ext());
    write_bytes(path, to_external(format(), fc_model(format()).finish(), layout));
    return path;
  }
  std::string save_inline(const std::string& name) {
    const std::string path = dir.file(name + ext());
    fc_model(format()).save(path);
    return path;
  }
  ImplantOptions options(const std::string& model, const std::string& qparam,
                         const std::string& out) const {
    ImplantOptions o;
    o.input = model;
    o.qparam = qparam;
    o.output = dir.file(out + ext());
    return o;
  }
  ScratchDir dir;
};

bool all_external(const ModelInfo& m) {
  for (const BufferInfo& b : m.buffers)
    if (b.size > 0 && !b.external) return false;
  return true;
}
bool none_external(const ModelInfo& m) {
  for (const BufferInfo& b : m.buffers)
    if (b.external) return false;
  return true;
}

// Same tensors (names, types, shapes, buffers' bytes, quantization), whatever the layout.
void expect_same_content(const ModelInfo& a, const ModelInfo& b) {
  ASSERT_EQ(a.subgraphs.size(), b.subgraphs.size());
  for (size_t s = 0; s < a.subgraphs.size(); ++s) {
    const auto &ta = a.subgraphs[s].tensors, &tb = b.subgraphs[s].tensors;
    ASSERT_EQ(ta.size(), tb.size());
    for (size_t t = 0; t < ta.size(); ++t) {
      EXPECT_EQ(ta[t].name, tb[t].name);
      EXPECT_EQ(ta[t].type, tb[t].type) << ta[t].name;
      EXPECT_EQ(ta[t].shape, tb[t].shape) << ta[t].name;
      EXPECT_EQ(ta[t].quant, tb[t].quant) << ta[t].name;
      EXPECT_EQ(ta[t].buffer, tb[t].buffer) << ta[t].name;
    }
  }
  ASSERT_EQ(a.buffers.size(), b.buffers.size());
  for (size_t i = 0; i < a.buffers.size(); ++i) {
    ASSERT_EQ(a.buffers[i].size, b.buffers[i].size) << "buffer " << i;
    if (a.buffers[i].size) {
      EXPECT_EQ(std::memcmp(a.buffers[i].data, b.buffers[i].data, a.buffers[i].size), 0)
          << "buffer " << i;
    }
  }
}

// External buffers start on 16-byte boundaries after the FlatBuffer and inside the file.
void expect_external_layout(const ModelFile& m) {
  const uint8_t* base = m.file().data();
  for (size_t i = 0; i < m.info().buffers.size(); ++i) {
    const BufferInfo& b = m.info().buffers[i];
    if (!b.external) continue;
    const size_t offset = static_cast<size_t>(b.data - base);
    EXPECT_EQ(offset % 16, 0u) << "buffer " << i;
    EXPECT_GE(offset, m.flatbuffer_size()) << "buffer " << i;
    EXPECT_LE(offset + b.size, m.file().size()) << "buffer " << i;
  }
}

// flatc's JSON of the FlatBuffer part only (flatc cannot see external data), with each buffer's
// data / offset / size removed: what is left must not depend on the layout.
nlohmann::json masked_json(const ModelFile& m, const std::string& dir, const std::string& name) {
  const std::string part = dir + "/" + name + ".fb";
  std::vector<uint8_t> bytes(m.file().data(), m.file().data() + m.flatbuffer_size());
  write_bytes(part, bytes);
  nlohmann::json j = decode_with_flatc(part, format_name(m.format()));
  if (j.contains("buffers")) {
    for (auto& b : j["buffers"]) {
      b.erase("data");
      b.erase("offset");
      b.erase("size");
    }
  }
  return j;
}

TEST_P(ExternalBuffersTest, ReadsExternalModelsByteForByte) {
  const std::string in = save_inline("inline");
  for (bool mixed : {false, true}) {
    ExternalLayout layout;
    layout.keep_small_inline = mixed;
    const std::string ext_path = save_external(mixed ? "mixed" : "external", layout);
    auto a = ModelFile::open(in);
    auto b = ModelFile::open(ext_path);
    expect_same_content(a->info(), b->info());
    expect_external_layout(*b);
    size_t external = 0;
    for (const auto& buf : b->info().buffers) external += buf.external;
    EXPECT_EQ(external, mixed ? 1u : 3u);  // w (24 bytes), bias (8), shape (8 bytes)
    EXPECT_LT(b->flatbuffer_size(), b->file().size());
  }
}

TEST_P(ExternalBuffersTest, ImplantIntoExternalKeepsExternalLayout) {
  for (bool value : {false, true}) {
    SCOPED_TRACE(value ? "weight from value" : "weight from float");
    ScratchDir qdir;
    const std::string q = write_qparams(qdir.path(), fc_qparams(value));
    const std::string tag = value ? "v" : "f";
    const ImplantOptions oi = options(save_inline("in"), q, "out-inline-" + tag);
    const ImplantOptions oe = options(save_external("in-ext"), q, "out-ext-" + tag);
    implant(oi);
    const ImplantResult r = implant(oe);
    auto a = ModelFile::open(oi.output);
    auto b = ModelFile::open(oe.output);
    EXPECT_TRUE(none_external(a->info()));
    EXPECT_TRUE(all_external(b->info()));
    EXPECT_EQ(r.output_bytes, b->file().size());
    expect_external_layout(*b);
    expect_same_content(a->info(), b->info());
    const auto& w = b->info().subgraphs[0].tensors[1];
    EXPECT_EQ(w.type, static_cast<int8_t>(TensorType::Int8));
    const BufferInfo& wb = b->info().buffers[w.buffer];
    ASSERT_EQ(wb.size, 6u);
    const int8_t want_float[] = {2, 4, -6, 2, 2, -3};
    const int8_t want_value[] = {7, -7, 1, 2, 3, 4};
    for (int i = 0; i < 6; ++i)
      EXPECT_EQ(static_cast<int8_t>(wb.data[i]), value ? want_value[i] : want_float[i]) << i;
    // The untouched int32 shape constant is carried over.
    const BufferInfo& sb = b->info().buffers[b->info().subgraphs[0].tensors[4].buffer];
    ASSERT_EQ(sb.size, 8u);
    int32_t shape[2];
    std::memcpy(shape, sb.data, 8);
    EXPECT_EQ(shape[0], 2);
    EXPECT_EQ(shape[1], 1);
    // flatc reads the FlatBuffer part; the rest is the same model as the inline output.
    EXPECT_EQ(masked_json(*a, dir.path(), "a" + tag), masked_json(*b, dir.path(), "b" + tag));
  }
}

TEST_P(ExternalBuffersTest, RoundTripExternalInlineExternal) {
  const std::string q = write_qparams(dir.path(), fc_qparams(false));
  ImplantOptions o = options(save_external("in-ext"), q, "a");
  implant(o);
  auto a = ModelFile::open(o.output);

  WriteOptions to_inline;
  to_inline.buffers = BufferLayout::Inline;
  const std::string b_path = dir.file("b" + ext());
  write_model(*a, EditPlan{}, b_path, to_inline);
  auto b = ModelFile::open(b_path);
  EXPECT_TRUE(none_external(b->info()));
  EXPECT_EQ(b->flatbuffer_size(), b->file().size());

  WriteOptions to_external_layout;
  to_external_layout.buffers = BufferLayout::External;
  const std::string c_path = dir.file("c" + ext());
  write_model(*b, EditPlan{}, c_path, to_external_layout);
  auto c = ModelFile::open(c_path);
  EXPECT_TRUE(all_external(c->info()));
  expect_external_layout(*c);

  expect_same_content(a->info(), b->info());
  expect_same_content(a->info(), c->info());
  EXPECT_EQ(masked_json(*a, dir.path(), "a"), masked_json(*b, dir.path(), "b"));
  EXPECT_EQ(masked_json(*a, dir.path(), "a"), masked_json(*c, dir.path(), "c"));
  EXPECT_EQ(read_bytes(o.output), read_bytes(c_path)) << "the writer is deterministic";

  // Auto keeps each input's layout.
  const std::string d_path = dir.file("d" + ext());
  write_model(*b, EditPlan{}, d_path);
  EXPECT_EQ(read_bytes(d_path), read_bytes(b_path));
  const std::string e_path = dir.file("e" + ext());
  write_model(*c, EditPlan{}, e_path);
  EXPECT_EQ(read_bytes(e_path), read_bytes(c_path));
}

TEST_P(ExternalBuffersTest, AutoSwitchesToExternalPastTheThreshold) {
  const std::string q = write_qparams(dir.path(), fc_qparams(false));
  ImplantOptions o = options(save_inline("in"), q, "small");
  o.external_threshold_for_tests = 1u << 30;
  implant(o);
  EXPECT_TRUE(none_external(ModelFile::open(o.output)->info()));

  o.output = dir.file("switched" + ext());
  o.external_threshold_for_tests = 64;  // any real model is larger
  implant(o);
  auto m = ModelFile::open(o.output);
  EXPECT_TRUE(all_external(m->info()));
  expect_external_layout(*m);

  // --buffers inline wins over the threshold and over an external input.
  o.buffers = BufferLayout::Inline;
  o.output = dir.file("forced" + ext());
  implant(o);
  EXPECT_TRUE(none_external(ModelFile::open(o.output)->info()));
  o.input = save_external("in-ext");
  o.output = dir.file("forced2" + ext());
  implant(o);
  EXPECT_TRUE(none_external(ModelFile::open(o.output)->info()));
}

TEST_P(ExternalBuffersTest, CommandLineBuffersOption) {
  const std::string q = write_qparams(dir.path(), fc_qparams(true));
  const std::string in = save_inline("in");
  const std::string out = dir.file("cli" + ext());
  std::string output;
  ASSERT_EQ(run_command(std::string(QIMPLANT_CLI) + " " + in + " " + q + " " + out +
                            " -q --buffers external",
                        &output),
            0)
      << output;
  EXPECT_TRUE(all_external(ModelFile::open(out)->info()));
  ASSERT_EQ(run_command(std::string(QIMPLANT_CLI) + " " + in + " " + q + " " + out +
                            " -q --external-threshold-for-tests 64",
                        &output),
            0)
      << output;
  EXPECT_TRUE(all_external(ModelFile::open(out)->info()));
  const std::string in_ext = save_external("in-ext");
  ASSERT_EQ(run_command(std::string(QIMPLANT_CLI) + " " + in_ext + " " + q + " " + out +
                            ".inline -q --buffers inline",
                        &output),
            0)
      << output;
  EXPECT_TRUE(none_external(ModelFile::open(out + ".inline")->info()));
  EXPECT_EQ(run_command(
                std::string(QIMPLANT_CLI) + " " + in + " " + q + " " + out + " --buffers sideways",
                &output),
            2)
      << output;
}

std::string open_error(const std::string& path) {
  try {
    ModelFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_P(ExternalBuffersTest, RejectsMalformedOffsets) {
  // w is buffer 1 (24 bytes), bias 2, shape 3.
  struct Case {
    const char* name;
    std::function<void(size_t, uint64_t&, uint64_t&)> tamper;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {"past-end",
       [](size_t i, uint64_t& offset, uint64_t&) {
         if (i == 1) offset += 1u << 20;
       },
       {"buffer 1", "points outside the file", "size 24"}},
      {"size-past-end",
       [](size_t i, uint64_t&, uint64_t& size) {
         if (i == 3) size = 4096;
       },
       {"buffer 3", "points outside the file", "size 4096"}},
      {"size-overflow",
       [](size_t i, uint64_t&, uint64_t& size) {
         if (i == 2) size = ~uint64_t{0} - 8;
       },
       {"buffer 2", "points outside the file"}},
      {"into-flatbuffer",
       [](size_t i, uint64_t& offset, uint64_t&) {
         if (i == 1) offset = 16;
       },
       {"buffer 1", "points into the FlatBuffer part", "offset 16"}},
  };
  for (const Case& c : cases) {
    ExternalLayout layout;
    layout.tamper = c.tamper;
    const std::string path = save_external(c.name, layout);
    const std::string error = open_error(path);
    ASSERT_FALSE(error.empty()) << c.name;
    EXPECT_NE(error.find(path), std::string::npos) << error;
    for (const auto& e : c.expect) EXPECT_NE(error.find(e), std::string::npos) << error;
  }
}

TEST_P(ExternalBuffersTest, FailedWriteLeavesNothing) {
  // A NaN in a float weight of an external model: the error comes while streaming the data,
  // after the FlatBuffer part was written to the temporary file.
  ModelBuilder b(format());
  const int32_t in = b.tensor("in", {1, 2});
  const int32_t w = b.constant("w", {2}, {1.0f, std::nanf("")});
  const int32_t out = b.tensor("out", {1, 2});
  b.op(circle::BuiltinOperator_MUL, {in, w}, {out});
  b.inputs({in});
  b.outputs({out});
  const std::string model = dir.file("nan" + ext());
  write_bytes(model, to_external(format(), b.finish()));
  ScratchDir qdir;
  const std::string q = write_qparams(
      qdir.path(),
      {{"in", "int8", {0.1f}, {0}}, {"w", "int8", {1.0f}, {0}}, {"out", "int8", {0.1f}, {0}}});
  ImplantOptions o = options(model, q, "out");
  const auto before = list_dir(dir.path());
  try {
    implant(o);
    FAIL() << "NaN must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
  EXPECT_EQ(list_dir(dir.path()), before) << "no output, no temporary file";
}

INSTANTIATE_TEST_SUITE_P(Formats, ExternalBuffersTest,
                         ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

// A model just over 2 GB: a FULLY_CONNECTED whose float weight alone passes the limit. Opt-in
// (QIMPLANT_LARGE_TESTS=1) and only with room on the disk for input and output.
TEST(ExternalBuffersLargeTest, ImplantsIntoAModelOver2GB) {
  const char* flag = std::getenv("QIMPLANT_LARGE_TESTS");
  if (!flag || std::string(flag) != "1") GTEST_SKIP() << "set QIMPLANT_LARGE_TESTS=1 to run";
  ScratchDir dir;
  constexpr int32_t kOut = 16, kIn = 33554432 + 64;  // 16 x (32 Mi + 64) floats: 2 GiB + 4 KiB
  const uint64_t weight_bytes = uint64_t{kOut} * kIn * 4;
  struct statvfs fs;
  if (::statvfs(dir.path().c_str(), &fs) != 0 ||
      uint64_t{fs.f_bavail} * fs.f_frsize < weight_bytes + weight_bytes / 2 + (256u << 20)) {
    GTEST_SKIP() << "not enough free disk space in " << dir.path();
  }
  ModelBuilder b(Format::Circle);
  const int32_t in = b.tensor("in", {1, kIn});
  const int32_t w = b.constant_bytes("w", {kOut, kIn}, TensorType::Float32, {0, 0, 0, 0});
  const int32_t out = b.tensor("out", {1, kOut});
  const int32_t shape = b.constant_i32("shape", {2}, {kOut, 1});
  const int32_t out2 = b.tensor("out2", {kOut, 1});
  b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, w, -1}, {out});
  b.op(circle::BuiltinOperator_RESHAPE, {out, shape}, {out2});
  b.inputs({in});
  b.outputs({out2});
  const std::vector<uint8_t> small = b.finish();
  ExternalLayout layout;
  layout.big_index =
      circle::GetModel(small.data())->subgraphs()->Get(0)->tensors()->Get(w)->buffer();
  layout.big_size = weight_bytes;
  const ExternalModel e = lay_out(Format::Circle, small, layout);
  const std::string model = dir.file("large.circle");
  {
    std::ofstream f(model, std::ios::binary);
    f.write(reinterpret_cast<const char*>(e.flatbuffer.data()),
            static_cast<std::streamsize>(e.flatbuffer.size()));
    // Channel o holds ((i % 255) - 127) * (o + 1); with scale o + 1 it quantizes back.
    std::vector<float> row(kIn);
    f.seekp(static_cast<std::streamoff>(e.big_offset));
    for (int32_t o = 0; o < kOut; ++o) {
      for (int32_t i = 0; i < kIn; ++i) row[i] = static_cast<float>((i % 255) - 127) * (o + 1);
      f.write(reinterpret_cast<const char*>(row.data()), static_cast<std::streamsize>(kIn * 4));
    }
    for (const auto& [offset, bytes] : e.blocks) {
      f.seekp(static_cast<std::streamoff>(offset));
      f.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    }
    // Pad the file to its end (the last block may stop short of the 16-byte boundary).
    uint64_t last = e.big_offset + weight_bytes;
    for (const auto& [offset, bytes] : e.blocks)
      last = std::max<uint64_t>(last, offset + bytes.size());
    if (last < e.end) {
      f.seekp(static_cast<std::streamoff>(e.end - 1));
      f.put('\0');
    }
    ASSERT_TRUE(f.good());
  }
  {
    auto input = ModelFile::open(model);
    ASSERT_GT(input->file().size(), uint64_t{1} << 31);
    ASSERT_EQ(input->info().buffers[layout.big_index].size, weight_bytes);
  }
  std::vector<float> scales(kOut);
  for (int32_t o = 0; o < kOut; ++o) scales[o] = static_cast<float>(o + 1);
  QParamSpec ws{"w", "int8", scales, std::vector<int64_t>(kOut, 0)};
  ws.quantized_dimension = 0;
  const std::string q =
      write_qparams(dir.path(), {{"in", "int8", {0.5f}, {0}}, ws, {"out", "int8", {1000.0f}, {0}}});
  ImplantOptions o;
  o.input = model;
  o.qparam = q;
  o.output = dir.file("large-out.circle");
  implant(o);
  auto result = ModelFile::open(o.output);
  EXPECT_TRUE(all_external(result->info()));
  expect_external_layout(*result);
  const BufferInfo& rb = result->info().buffers[result->info().subgraphs[0].tensors[w].buffer];
  ASSERT_EQ(rb.size, uint64_t{kOut} * kIn);
  for (int32_t ch : {0, 7, 15}) {
    for (int32_t i : {0, 1, 127, 254, kIn - 1}) {
      EXPECT_EQ(
          static_cast<int8_t>(rb.data[static_cast<uint64_t>(ch) * kIn + static_cast<uint64_t>(i)]),
          (i % 255) - 127)
          << ch << "," << i;
    }
  }
  const BufferInfo& sb = result->info().buffers[result->info().subgraphs[0].tensors[shape].buffer];
  ASSERT_EQ(sb.size, 8u);
  int32_t dims[2];
  std::memcpy(dims, sb.data, 8);
  EXPECT_EQ(dims[0], kOut);
}

}  // namespace
}  // namespace qimplant::test
