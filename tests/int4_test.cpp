// 4-bit types (int4, uint4): packing both ways, the buffer writer's slices, and implanting into
// circle and tflite from "value" npy files and from float data. Expected packed bytes are
// computed here from the order the runtimes read (even element in the low nibble, odd element in
// the high nibble, a lone last element leaves the high nibble 0; see src/quant/pack4.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "implant.h"
#include "model/model_file.h"
#include "plan/edit_plan.h"
#include "quant/pack4.h"
#include "quant/qtype.h"
#include "schema/circle_generated.h"
#include "support/format_test.h"
#include "support/model_builder.h"
#include "support/test_util.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

// The test's own packer: byte k = nibble(v[2k]) | nibble(v[2k + 1]) << 4.
std::vector<uint8_t> ref_pack(const std::vector<int>& v) {
  std::vector<uint8_t> out((v.size() + 1) / 2, 0);
  for (size_t i = 0; i < v.size(); ++i) {
    const unsigned nibble = static_cast<unsigned>(v[i]) & 0x0Fu;
    out[i / 2] = static_cast<uint8_t>(out[i / 2] | (i % 2 ? nibble << 4 : nibble));
  }
  return out;
}

std::vector<uint8_t> as_bytes(const std::vector<int>& v) {
  std::vector<uint8_t> out;
  for (int x : v) out.push_back(static_cast<uint8_t>(x));
  return out;
}

// round-half-even(x / scale) + zp, clamped: the reference quantizer (float32 product).
int ref_quantize(float x, float scale, int zp, int lo, int hi) {
  const float v = x * (1.0f / scale);
  const double f = std::floor(static_cast<double>(v));
  const double d = static_cast<double>(v) - f;
  int r = static_cast<int>(f);
  if (d > 0.5 || (d == 0.5 && r % 2 != 0)) ++r;
  r += zp;
  return r < lo ? lo : (r > hi ? hi : r);
}

// ---------------------------------------------------------------------------------------------
// Packing

TEST(Pack4, PacksLowNibbleFirst) {
  const std::vector<uint8_t> in = as_bytes({1, -1, 7, -8, 0, 5});
  std::vector<uint8_t> out(3, 0xAA);
  pack_4bit(in.data(), in.size(), out.data());
  EXPECT_EQ(out, (std::vector<uint8_t>{0xF1, 0x87, 0x50}));
}

TEST(Pack4, OddCountLeavesLastHighNibbleZero) {
  const std::vector<uint8_t> in = as_bytes({3, -1, -1});
  std::vector<uint8_t> out(2, 0xAA);
  pack_4bit(in.data(), in.size(), out.data());
  EXPECT_EQ(out, (std::vector<uint8_t>{0xF3, 0x0F}));
  std::vector<uint8_t> one(1, 0xAA);
  const uint8_t fifteen = 15;
  pack_4bit(&fifteen, 1, one.data());
  EXPECT_EQ(one[0], 0x0F);
}

TEST(Pack4, UnpacksWithSignExtension) {
  const std::vector<uint8_t> packed{0xF1, 0x87, 0xA9};
  std::vector<int8_t> s(5);
  unpack_int4(packed.data(), 5, s.data());
  EXPECT_EQ(s, (std::vector<int8_t>{1, -1, 7, -8, -7}));  // 0x9 = -7; 0xA ignored (odd count)
  std::vector<uint8_t> u(5);
  unpack_uint4(packed.data(), 5, u.data());
  EXPECT_EQ(u, (std::vector<uint8_t>{1, 15, 7, 8, 9}));
  std::vector<int8_t> all(6);
  unpack_int4(packed.data(), 6, all.data());
  EXPECT_EQ(all[5], -6);
}

TEST(Pack4, RoundTripsEveryPair) {
  for (int a = -8; a <= 7; ++a)
    for (int b = -8; b <= 7; ++b) {
      const std::vector<uint8_t> in = as_bytes({a, b, a});
      std::vector<uint8_t> packed(2);
      pack_4bit(in.data(), 3, packed.data());
      EXPECT_EQ(packed, ref_pack({a, b, a}));
      std::vector<int8_t> s(3);
      unpack_int4(packed.data(), 3, s.data());
      EXPECT_EQ(s, (std::vector<int8_t>{int8_t(a), int8_t(b), int8_t(a)}));
      std::vector<uint8_t> u(3);
      unpack_uint4(packed.data(), 3, u.data());
      EXPECT_EQ(u, (std::vector<uint8_t>{uint8_t(a & 15), uint8_t(b & 15), uint8_t(a & 15)}));
    }
}

TEST(Pack4, TypeTable) {
  EXPECT_EQ(parse_qtype("INT4"), QType::Int4);
  EXPECT_EQ(parse_qtype("uint4"), QType::UInt4);
  EXPECT_EQ(qtype_info(QType::Int4).min, -8);
  EXPECT_EQ(qtype_info(QType::Int4).max, 7);
  EXPECT_EQ(qtype_info(QType::UInt4).min, 0);
  EXPECT_EQ(qtype_info(QType::UInt4).max, 15);
  EXPECT_EQ(static_cast<int>(qtype_info(QType::Int4).tensor_type), 17);
  EXPECT_EQ(static_cast<int>(qtype_info(QType::UInt4).tensor_type), -1);
  EXPECT_EQ(storage_bytes(QType::Int4, 0), 0u);
  EXPECT_EQ(storage_bytes(QType::Int4, 1), 1u);
  EXPECT_EQ(storage_bytes(QType::UInt4, 9), 5u);
  EXPECT_EQ(storage_bytes(QType::Int4, 10), 5u);
  EXPECT_EQ(storage_bytes(QType::Int8, 9), 9u);
  EXPECT_EQ(storage_bytes(QType::Int16, 9), 18u);
  EXPECT_EQ(storage_bytes(QType::Int64, 3), 24u);
}

// ---------------------------------------------------------------------------------------------
// Implanting

class Int4Implant : public FormatTest {
 protected:
  // FULLY_CONNECTED: in [1, 3] x w [3, 3] -> out [1, 3]; w holds `w` as float.
  ImplantOptions options(const std::vector<float>& w, const std::vector<QParamSpec>& wspec,
                         bool in_and_out = true) {
    ModelBuilder b(GetParam());
    const int32_t in = b.tensor("in", {1, 3});
    const int32_t wt = b.constant("w", {3, 3}, w);
    const int32_t out = b.tensor("out", {1, 3});
    b.op(circle::BuiltinOperator_FULLY_CONNECTED, {in, wt}, {out});
    b.inputs({in});
    b.outputs({out});
    const std::string model = dir.file("in" + ext());
    b.save(model);
    std::vector<QParamSpec> specs = wspec;
    if (in_and_out) {
      specs.push_back({"in", "int8", {0.1f}, {0}});
      specs.push_back({"out", "int8", {0.2f}, {0}});
    }
    ImplantOptions o;
    o.input = model;
    o.qparam = write_qparams(dir.path(), specs);
    o.output = dir.file("out" + ext());
    return o;
  }

  std::string fails(const ImplantOptions& o) {
    try {
      implant(o);
      ADD_FAILURE() << "implant() accepted the input";
    } catch (const Error& e) {
      EXPECT_FALSE(file_exists(o.output));
      return e.what();
    }
    return "";
  }

  // The weight tensor "w" (index 1) of the output and its buffer bytes.
  static std::vector<uint8_t> weight_bytes(const ModelFile& m, int8_t* type) {
    const TensorInfo& t = m.info().subgraphs[0].tensors[1];
    EXPECT_EQ(t.name, "w");
    *type = t.type;
    const BufferInfo& b = m.info().buffers[t.buffer];
    return std::vector<uint8_t>(b.data, b.data + b.size);
  }
};

const std::vector<float> kW{0.5f, -1.0f, 3.5f, -4.0f, 100.0f, -100.0f, 0.25f, 1.5f, -2.5f};

TEST_P(Int4Implant, Int4Value) {
  const std::vector<int> v{1, -1, 7, -8, 0, 3, -3, 6, -5};
  QParamSpec w{"w", "int4", {0.5f}, {0}};
  w.value_descr = "|i1";
  w.value_shape = {3, 3};
  w.value_bytes = as_bytes(v);
  const ImplantOptions o = options(kW, {w});
  implant(o);
  auto m = ModelFile::open(o.output);
  int8_t type = 0;
  const std::vector<uint8_t> bytes = weight_bytes(*m, &type);
  EXPECT_EQ(type, 17);  // INT4 in both schemas
  EXPECT_EQ(bytes.size(), 5u);
  EXPECT_EQ(bytes, ref_pack(v));
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0xF1, 0x87, 0x30, 0x6D, 0x0B}));
  const auto json = decode_with_flatc(o.output, GetParam() == Format::Circle ? "circle" : "tflite");
  EXPECT_EQ(json["subgraphs"][0]["tensors"][1]["type"], "INT4");
}

TEST_P(Int4Implant, Int4FromFloatPerChannelClamps) {
  const std::vector<float> scale{0.5f, 1.0f, 0.25f};
  QParamSpec w{"w", "int4", scale, {0, 0, 0}, 0};
  const ImplantOptions o = options(kW, {w});
  implant(o);
  auto m = ModelFile::open(o.output);
  int8_t type = 0;
  const std::vector<uint8_t> bytes = weight_bytes(*m, &type);
  EXPECT_EQ(type, 17);
  std::vector<int> want;
  for (size_t i = 0; i < kW.size(); ++i)
    want.push_back(ref_quantize(kW[i], scale[i / 3], 0, -8, 7));
  EXPECT_EQ(want[4], 7);   // 100 clamps
  EXPECT_EQ(want[5], -8);  // -100 clamps
  EXPECT_EQ(bytes, ref_pack(want));
}

TEST_P(Int4Implant, UInt4OnlyInCircle) {
  const std::vector<int> v{0, 15, 8, 1, 2, 3, 4, 5, 9};
  QParamSpec w{"w", "uint4", {0.5f}, {8}};
  w.value_descr = "|u1";
  w.value_shape = {3, 3};
  w.value_bytes = as_bytes(v);
  const ImplantOptions o = options(kW, {w}, /*in_and_out=*/false);
  if (GetParam() == Format::TFLite) {
    const std::string msg = fails(o);
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("uint4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tflite"), std::string::npos) << msg;
    return;
  }
  ImplantOptions allow = o;
  allow.allow_float = true;  // only the weight is quantized here
  implant(allow);
  auto m = ModelFile::open(o.output);
  int8_t type = 0;
  const std::vector<uint8_t> bytes = weight_bytes(*m, &type);
  EXPECT_EQ(type, -1);  // circle UINT4
  EXPECT_EQ(bytes, ref_pack(v));
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0xF0, 0x18, 0x32, 0x54, 0x09}));
  const auto json = decode_with_flatc(o.output, "circle");
  EXPECT_EQ(json["subgraphs"][0]["tensors"][1]["type"], "UINT4");
}

TEST_P(Int4Implant, UInt4FromFloat) {
  if (GetParam() == Format::TFLite) GTEST_SKIP() << "uint4 is circle only";
  QParamSpec w{"w", "uint4", {0.5f}, {8}};
  ImplantOptions o = options(kW, {w}, /*in_and_out=*/false);
  o.allow_float = true;
  implant(o);
  auto m = ModelFile::open(o.output);
  int8_t type = 0;
  const std::vector<uint8_t> bytes = weight_bytes(*m, &type);
  EXPECT_EQ(type, -1);
  std::vector<int> want;
  for (float x : kW) want.push_back(ref_quantize(x, 0.5f, 8, 0, 15));
  EXPECT_EQ(want[4], 15);
  EXPECT_EQ(want[5], 0);
  EXPECT_EQ(bytes, ref_pack(want));
}

TEST_P(Int4Implant, ValueOutOfRangeNamesFileElementAndValue) {
  QParamSpec w{"w", "int4", {0.5f}, {0}};
  w.value_descr = "|i1";
  w.value_shape = {3, 3};
  w.value_bytes = as_bytes({1, 2, 3, 4, 9, 0, 0, 0, 0});
  const std::string msg = fails(options(kW, {w}));
  EXPECT_NE(msg.find(".npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("element 4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("is 9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[-8, 7]"), std::string::npos) << msg;
}

TEST_P(Int4Implant, ValueMustBeInt8Npy) {
  QParamSpec w{"w", "int4", {0.5f}, {0}};
  w.value_descr = "<i2";
  w.value_shape = {3, 3};
  w.value_bytes = std::vector<uint8_t>(18, 0);
  const std::string msg = fails(options(kW, {w}));
  EXPECT_NE(msg.find("expected int8 data holding int4 values"), std::string::npos) << msg;
}

TEST_P(Int4Implant, ActivationsCannotBe4Bit) {
  QParamSpec w{"w", "int4", {0.5f}, {0}};
  ImplantOptions o = options(kW, {w}, false);
  o.qparam =
      write_qparams(dir.path(), {w, {"in", "int4", {0.1f}, {0}}, {"out", "int8", {0.2f}, {0}}});
  const std::string msg = fails(o);
  EXPECT_NE(msg.find("'in'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4-bit types are for constant weights"), std::string::npos) << msg;
}

INSTANTIATE_TEST_SUITE_P(Formats, Int4Implant, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
