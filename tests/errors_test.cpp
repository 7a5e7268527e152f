// Every bad input q-implant handles, one case each: implant() throws qimplant::Error whose
// message names the file, the tensor and the field and says what was expected and what was
// found; nothing is written (no output, no temporary file left in the output directory) and the
// input model is untouched. The accepted variants next to them (float64 / 0-d scales, narrow
// zero point dtypes, upper-case dtypes) check what lands in the output.
//
// Every case starts from ONE's README example (conv2d_model + readme_qparams, which implants
// cleanly, see BaseQParamsAreAccepted) and breaks exactly one thing. The README numbering of the
// npy files is used throughout: ifm 0/1, ker 2/3 + value 4, bias 5/6 + value 7, ofm 8/9.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <random>

#include "implant.h"
#include "io/npy.h"
#include "model/model_file.h"
#include "schema/circle_generated.h"
#include "support/fixtures.h"
#include "util/error.h"

namespace qimplant::test {
namespace {

using ojson = nlohmann::ordered_json;

// A version 1.0 .npy file with a header written by hand, for what npy::save refuses to write.
std::vector<uint8_t> raw_npy(const std::string& header, const std::vector<uint8_t>& data) {
  std::string h = header;
  const size_t unpadded = 10 + h.size() + 1;
  h.append((64 - unpadded % 64) % 64, ' ');
  h.push_back('\n');
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.push_back(static_cast<uint8_t>(h.size() & 0xff));
  out.push_back(static_cast<uint8_t>(h.size() >> 8));
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::vector<std::string> sorted_listing(const std::string& dir) {
  auto names = list_dir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

// Every part must appear in the message; the failure lists the ones that do not.
::testing::AssertionResult Mentions(const std::string& message,
                                    std::initializer_list<std::string> parts) {
  std::string missing;
  for (const auto& p : parts)
    if (message.find(p) == std::string::npos) missing += "\n  missing: " + p;
  if (missing.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message: " << message << missing;
}

std::string field(const std::string& name) {
  return "\"" + name + "\"";
}
std::string tensor(const std::string& name) {
  return "tensor '" + name + "'";
}

// The same object with key `from` renamed to `to`, order kept.
ojson rename_key(const ojson& j, const std::string& from, const std::string& to) {
  ojson out = ojson::object();
  for (auto it = j.begin(); it != j.end(); ++it) out[it.key() == from ? to : it.key()] = it.value();
  return out;
}

// ONE's README qparams with the bias made consistent with its operands (scale = input scale x
// weight scale, zero point 0), so that a model checker has nothing to object to.
std::vector<QParamSpec> readme_qparams() {
  auto specs = conv2d_qparams();
  specs[2].scale = {specs[0].scale[0] * specs[1].scale[0]};
  specs[2].zerop = {0};
  return specs;
}

class ErrorsTest : public ::testing::TestWithParam<Format> {
 protected:
  void SetUp() override {
    model_ = dir_.file("in" + ext());
    conv2d_model(format()).save(model_);
    reset();
  }
  // Back to the README's qparam.json and npy files.
  void reset() { qparam_ = write_qparams(dir_.path(), readme_qparams()); }

  Format format() const { return GetParam(); }
  std::string ext() const { return format() == Format::Circle ? ".circle" : ".tflite"; }

  std::string qfile() const { return "qparam file '" + qparam_ + "'"; }
  std::string mfile() const { return "model file '" + model_ + "'"; }
  // The path an npy name in qparam.json resolves to, as messages show it.
  std::string npy_path(const std::string& name) const { return dir_.file(name); }
  std::string nfile(const std::string& name) const { return "npy file '" + npy_path(name) + "'"; }

  ojson qjson() const {
    std::ifstream in(qparam_);
    return ojson::parse(in);
  }
  void write_json(const ojson& j) const { write_text(qparam_, j.dump(2)); }

  ImplantOptions options() const {
    ImplantOptions o;
    o.input = model_;
    o.qparam = qparam_;
    o.output = out_.file("out" + ext());
    return o;
  }

  // Runs implant() expecting a qimplant::Error and returns its message, after checking that
  // nothing was written, nothing was left behind and the input is as it was.
  std::string fails(const ImplantOptions& o) const {
    const bool input_is_file = is_regular_file(o.input);
    const std::vector<uint8_t> input_before =
        input_is_file ? read_bytes(o.input) : std::vector<uint8_t>();
    const std::string out_dir = parent_dir(o.output);
    const auto listing_before = sorted_listing(out_dir);
    const bool output_existed = file_exists(o.output);
    std::string message;
    try {
      implant(o);
      ADD_FAILURE() << "implant() accepted the input";
    } catch (const Error& e) {
      message = e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "implant() threw something other than qimplant::Error: " << e.what();
    }
    if (!output_existed) {
      EXPECT_FALSE(file_exists(o.output)) << "output written: " << o.output;
    }
    if (input_is_file) {
      EXPECT_EQ(read_bytes(o.input), input_before) << "the input changed";
    }
    EXPECT_EQ(sorted_listing(out_dir), listing_before) << "files left in " << out_dir;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line expected: " << message;
    return message;
  }
  std::string fails() const { return fails(options()); }

  // Runs implant() expecting success; returns the output model, read back.
  std::unique_ptr<ModelFile> succeeds() const {
    const ImplantOptions o = options();
    try {
      implant(o);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "implant() failed: " << e.what();
      return nullptr;
    }
    return ModelFile::open(o.output);
  }

  ScratchDir dir_;  // model, qparam.json and npy files
  ScratchDir out_;  // the output directory: stays empty when a run fails
  std::string model_, qparam_;
};

TEST_P(ErrorsTest, BaseQParamsAreAccepted) {
  // The starting point of every case below implants; each case breaks one thing.
  auto m = succeeds();
  ASSERT_TRUE(m);
  const auto& t = m->info().subgraphs[0].tensors;
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].type, static_cast<int8_t>(TensorType::UInt8));
  EXPECT_EQ(t[2].type, static_cast<int8_t>(TensorType::Int32));
}

// ---- qparam.json structure -------------------------------------------------------------------

TEST_P(ErrorsTest, UnknownTensorSuggestsTheClosestNames) {
  write_json(rename_key(qjson(), "ifm", "ifn"));
  const std::string msg = fails();
  EXPECT_TRUE(Mentions(msg, {qfile(), tensor("ifn"), "is not in the model '" + model_ + "'",
                             "closest names among activations (the entry has no \"value\"): "
                             "'ifm'"}));
}

TEST_P(ErrorsTest, MissingKey) {
  for (const char* key : {"dtype", "scale", "zerop"}) {
    SCOPED_TRACE(key);
    reset();
    auto j = qjson();
    j["ker"].erase(key);
    write_json(j);
    EXPECT_TRUE(
        Mentions(fails(), {qfile(), tensor("ker"), field(key) + ": missing", "expected a string"}));
  }
}

TEST_P(ErrorsTest, WrongJsonTypeForAKey) {
  struct Case {
    const char* tensor;
    const char* key;
    ojson value;
    const char* expected;
    const char* found;
  };
  const Case cases[] = {
      {"ifm", "dtype", 8, "expected a string", "found an integer (8)"},
      // Numbers may be inline (compact qparam.json), so an array must hold numbers.
      {"ifm", "scale", ojson::array({"0.npy"}), "expected an array of numbers",
       "found an element that is a string"},
      {"ofm", "zerop", nullptr, "expected an npy path, a number or an array of numbers",
       "found null"},
      {"ker", "value", true, "expected a string", "found a boolean (true)"},
      {"ker", "quantized_dimension", "0", "expected an integer", "found a string (\"0\")"},
      {"ker", "quantized_dimension", 1.5, "expected an integer", "found a number (1.5)"},
      {"ker", "quantized_dimension", false, "expected an integer", "found a boolean (false)"},
      {"ker", "quantized_dimension", -1, "expected a dimension index >= 0", "found -1"},
      {"ker", "quantized_dimension", 2147483648u,
       "expected a dimension index smaller than the tensor's rank", "found 2147483648"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.key) + " = " + c.value.dump());
    reset();
    auto j = qjson();
    j[c.tensor][c.key] = c.value;
    write_json(j);
    EXPECT_TRUE(Mentions(fails(), {qfile(), tensor(c.tensor), field(c.key), c.expected, c.found}));
  }
}

TEST_P(ErrorsTest, MalformedJsonGivesLineAndColumn) {
  write_text(qparam_, "{\n  \"ifm\": {\n    \"dtype\" \"uint8\"\n  }\n}\n");  // no ':' on line 3
  EXPECT_TRUE(Mentions(fails(), {qfile(), "malformed JSON", "line 3, column "}));

  write_text(qparam_, "{\n  \"ifm\": {\"dtype\": \"uint8\",\n");  // ends early
  EXPECT_TRUE(Mentions(fails(), {qfile(), "malformed JSON", "line 3", "column"}));

  write_text(qparam_, "");
  EXPECT_TRUE(Mentions(fails(), {qfile(), "malformed JSON", "line 1", "column"}));
}

TEST_P(ErrorsTest, TopLevelNotAnObject) {
  write_text(qparam_, "[{\"ifm\": {}}]");
  EXPECT_TRUE(Mentions(fails(), {qfile(), "expected a JSON object", "found an array"}));
  write_text(qparam_, "\"ifm\"");
  EXPECT_TRUE(Mentions(fails(), {qfile(), "expected a JSON object", "found a string (\"ifm\")"}));
}

TEST_P(ErrorsTest, EntryNotAnObject) {
  auto j = qjson();
  j["ofm"] = 3;
  write_json(j);
  EXPECT_TRUE(
      Mentions(fails(), {qfile(), tensor("ofm"), "expected an object", "found an integer (3)"}));
  j["ofm"] = ojson::array({"0.npy", "1.npy"});
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ofm"), "expected an object", "found an array"}));
}

TEST_P(ErrorsTest, DuplicateTensorKey) {
  const auto j = qjson();
  // nlohmann cannot write a duplicate key, so the text is spliced together.
  std::string text = j.dump(2);
  text.insert(text.rfind('}'), ",\n  \"ifm\": " + j["ofm"].dump() + "\n");
  write_text(qparam_, text);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), "more than once"}));
}

TEST_P(ErrorsTest, DuplicateFieldInAnEntry) {
  // The second "scale" would win silently; the user cannot know which one was used.
  write_text(qparam_,
             "{\"ifm\": {\"dtype\": \"uint8\", \"scale\": \"0.npy\", \"zerop\": \"1.npy\", "
             "\"scale\": \"8.npy\"}}");
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("scale"), "more than once"}));
}

TEST_P(ErrorsTest, UnknownKeySuggestsTheKnownOne) {
  auto j = qjson();
  j["ofm"] = rename_key(j["ofm"], "scale", "scales");
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ofm"), field("scales"), "unknown key",
                                 "did you mean \"scale\"?"}));
  // A control character in a key is shown escaped: the message stays on one line.
  reset();
  j = qjson();
  j["ker"] = rename_key(j["ker"], "quantized_dimension", "qu\nantized_dimension");
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {tensor("ker"), "\"qu\\nantized_dimension\": unknown key",
                                 "did you mean \"quantized_dimension\"?"}));
}

TEST_P(ErrorsTest, UnknownDtype) {
  auto j = qjson();
  j["ifm"]["dtype"] = "uint9";
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("dtype"), "unknown dtype 'uint9'",
                                 "expected one of uint8, int8, int16, int32, int64"}));
}

TEST_P(ErrorsTest, DtypeIsCaseInsensitive) {
  auto j = qjson();
  j["ifm"]["dtype"] = "UINT8";
  j["bias"]["dtype"] = "Int32";
  write_json(j);
  auto m = succeeds();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().subgraphs[0].tensors[0].type, static_cast<int8_t>(TensorType::UInt8));
  EXPECT_EQ(m->info().subgraphs[0].tensors[2].type, static_cast<int8_t>(TensorType::Int32));
}

TEST_P(ErrorsTest, EmptyNpyPath) {
  auto j = qjson();
  j["ifm"]["zerop"] = "";
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("zerop"), "expected the path",
                                 "found an empty string"}));
}

// ---- npy files -------------------------------------------------------------------------------

TEST_P(ErrorsTest, NpyMissing) {
  auto j = qjson();
  j["ifm"]["scale"] = "missing.npy";
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("scale"), nfile("missing.npy"),
                                 "cannot open", "No such file or directory"}));
}

TEST_P(ErrorsTest, NpyTruncated) {
  // Data cut short: a (1,) float32 array with 2 of its 4 bytes.
  npy::save(npy_path("0.npy"), std::vector<float>{0.5f}, {1});
  auto bytes = read_bytes(npy_path("0.npy"));
  bytes.resize(bytes.size() - 2);
  write_bytes(npy_path("0.npy"), bytes);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("scale"), nfile("0.npy"),
                                 "truncated", "expected 4 bytes", "found 2"}));

  // Cut inside the header.
  write_bytes(npy_path("0.npy"), std::vector<uint8_t>(bytes.begin(), bytes.begin() + 20));
  EXPECT_TRUE(
      Mentions(fails(), {qfile(), tensor("ifm"), field("scale"), nfile("0.npy"), "truncated"}));
}

TEST_P(ErrorsTest, NpyNotNpy) {
  write_text(npy_path("1.npy"), "216\n");  // the zero point as text
  EXPECT_TRUE(Mentions(
      fails(), {qfile(), tensor("ifm"), field("zerop"), nfile("1.npy"), "not a .npy file"}));
  write_text(npy_path("1.npy"), "");
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("zerop"), nfile("1.npy"), "empty"}));
}

TEST_P(ErrorsTest, NpyFortranOrder) {
  write_bytes(
      npy_path("4.npy"),
      raw_npy("{'descr': '|u1', 'fortran_order': True, 'shape': (1, 1, 1, 2), }", {237, 157}));
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), field("value"), nfile("4.npy"),
                                 "Fortran-ordered", "C-ordered"}));
}

TEST_P(ErrorsTest, NpyBigEndian) {
  const float s = 0.27102426f;
  std::vector<uint8_t> be = bytes_of(std::vector<float>{s});
  std::reverse(be.begin(), be.end());
  write_bytes(npy_path("0.npy"),
              raw_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", be));
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("scale"), nfile("0.npy"),
                                 "big-endian", "'>f4'", "little-endian"}));
}

TEST_P(ErrorsTest, ScaleWithIntegerDtype) {
  npy::save(npy_path("2.npy"), std::vector<int32_t>{1}, {1});
  EXPECT_TRUE(
      Mentions(fails(), {qfile(), tensor("ker"), field("scale"), nfile("2.npy"),
                         "expected a floating-point array", "found int32 array of shape (1,)"}));
}

TEST_P(ErrorsTest, ZeropWithFloatDtype) {
  npy::save(npy_path("3.npy"), std::vector<float>{103.0f}, {1});
  EXPECT_TRUE(
      Mentions(fails(), {qfile(), tensor("ker"), field("zerop"), nfile("3.npy"),
                         "expected an integer array", "found float32 array of shape (1,)"}));
  const uint8_t yes = 1;
  npy::save(npy_path("3.npy"), "|b1", {1}, &yes, 1);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), field("zerop"), nfile("3.npy"),
                                 "expected an integer array", "found bool array"}));
}

TEST_P(ErrorsTest, ScaleAndZeropMustBeOneDimensional) {
  npy::save(npy_path("0.npy"), std::vector<float>{0.27102426f}, {1, 1});
  EXPECT_TRUE(
      Mentions(fails(), {qfile(), tensor("ifm"), field("scale"), nfile("0.npy"),
                         "expected a 1-D float32 array", "found float32 array of shape (1, 1)"}));
  npy::save(npy_path("0.npy"), std::vector<float>{0.27102426f}, {1});
  npy::save(npy_path("1.npy"), std::vector<int64_t>{216}, {1, 1});
  EXPECT_TRUE(
      Mentions(fails(), {qfile(), tensor("ifm"), field("zerop"), nfile("1.npy"),
                         "expected a 1-D int64 array", "found int64 array of shape (1, 1)"}));
}

TEST_P(ErrorsTest, ValueWithWrongShape) {
  npy::save(npy_path("4.npy"), std::vector<uint8_t>{237, 157}, {2});
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), field("value"), nfile("4.npy"),
                                 "has shape [2]", "expected the tensor's shape [1, 1, 1, 2]"}));
  npy::save(npy_path("4.npy"), std::vector<uint8_t>{237, 157}, {1, 1, 2, 1});
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), field("value"), nfile("4.npy"),
                                 "has shape [1, 1, 2, 1]", "[1, 1, 1, 2]"}));
}

TEST_P(ErrorsTest, ValueWithWrongDtype) {
  npy::save(npy_path("4.npy"), std::vector<int8_t>{37, 57}, {1, 1, 1, 2});
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), field("value"), nfile("4.npy"),
                                 "expected uint8", "found int8 array of shape (1, 1, 1, 2)"}));
  reset();
  npy::save(npy_path("7.npy"), std::vector<int64_t>{88}, {1});
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("bias"), field("value"), nfile("7.npy"),
                                 "expected int32", "found int64 array of shape (1,)"}));
}

// These change ofm's parameters: no other tensor's parameters depend on them.
TEST_P(ErrorsTest, Float64AndFloat16ScalesAreAccepted) {
  const std::vector<double> d = {0.1};  // not exact in float32: rounds to the nearest float
  npy::save(npy_path("8.npy"), "<f8", {1}, d.data(), 8);
  auto m = succeeds();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().subgraphs[0].tensors[3].quant.scale, std::vector<float>{0.1f});

  const uint16_t half = 0x3800;  // 0.5
  npy::save(npy_path("8.npy"), "<f2", {1}, &half, 2);
  m = succeeds();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().subgraphs[0].tensors[3].quant.scale, std::vector<float>{0.5f});
}

TEST_P(ErrorsTest, Float64ScaleThatDoesNotFitFloat32) {
  std::vector<double> d = {1e300};
  npy::save(npy_path("0.npy"), "<f8", {1}, d.data(), 8);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("scale"), nfile("0.npy"),
                                 "element 0 is 1e+300", "overflows float32"}));
  d = {1e-300};
  npy::save(npy_path("0.npy"), "<f8", {1}, d.data(), 8);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("scale"), nfile("0.npy"),
                                 "element 0 is 1e-300", "would become 0"}));
}

TEST_P(ErrorsTest, ZeroDimensionalScaleAndZeropAreAccepted) {
  npy::save(npy_path("8.npy"), std::vector<float>{0.125f}, {});
  npy::save(npy_path("9.npy"), std::vector<int64_t>{5}, {});
  auto m = succeeds();
  ASSERT_TRUE(m);
  const auto& q = m->info().subgraphs[0].tensors[3].quant;
  EXPECT_EQ(q.scale, std::vector<float>{0.125f});
  EXPECT_EQ(q.zero_point, std::vector<int64_t>{5});
}

TEST_P(ErrorsTest, NarrowZeropDtypesAreWidened) {
  npy::save(npy_path("1.npy"), std::vector<int8_t>{100}, {1});
  const uint16_t zp = 200;
  npy::save(npy_path("9.npy"), "<u2", {1}, &zp, 2);
  auto m = succeeds();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().subgraphs[0].tensors[0].quant.zero_point, std::vector<int64_t>{100});
  EXPECT_EQ(m->info().subgraphs[0].tensors[3].quant.zero_point, std::vector<int64_t>{200});
}

// ---- parameter values ------------------------------------------------------------------------

TEST_P(ErrorsTest, EmptyScale) {
  npy::save(npy_path("8.npy"), std::vector<float>{}, {0});
  npy::save(npy_path("9.npy"), std::vector<int64_t>{}, {0});
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ofm"), field("scale"), nfile("8.npy"), "is empty",
                                 "expected at least one scale"}));
}

TEST_P(ErrorsTest, PerChannelLengthMismatch) {
  // ker is [1, 1, 1, 2]: 3 channels along dimension 3 cannot fit.
  npy::save(npy_path("2.npy"), std::vector<float>{0.1f, 0.2f, 0.3f}, {3});
  npy::save(npy_path("3.npy"), std::vector<int64_t>{1, 2, 3}, {3});
  auto j = qjson();
  j["ker"]["quantized_dimension"] = 3;
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), field("scale"), "has 3 values",
                                 "along dimension 3", "[1, 1, 1, 2]", "has size 2"}));
}

TEST_P(ErrorsTest, ZeropLengthDiffersFromScaleLength) {
  npy::save(npy_path("2.npy"), std::vector<float>{0.1f, 0.2f}, {2});
  auto j = qjson();
  j["ker"]["quantized_dimension"] = 3;
  write_json(j);
  EXPECT_TRUE(Mentions(fails(),
                       {qfile(), tensor("ker"), field("zerop"), nfile("3.npy"), "has 1 zero points",
                        "expected 2", "one per scale in '" + npy_path("2.npy") + "'"}));
}

TEST_P(ErrorsTest, PerChannelWithoutQuantizedDimension) {
  npy::save(npy_path("2.npy"), std::vector<float>{0.1f, 0.2f}, {2});
  npy::save(npy_path("3.npy"), std::vector<int64_t>{1, 2}, {2});
  auto j = qjson();
  j["ker"].erase("quantized_dimension");
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), field("quantized_dimension"), "missing",
                                 "has 2 values", "\"scale\" ('" + npy_path("2.npy") + "')"}));
}

TEST_P(ErrorsTest, QuantizedDimensionOutOfRange) {
  npy::save(npy_path("2.npy"), std::vector<float>{0.1f, 0.2f}, {2});
  npy::save(npy_path("3.npy"), std::vector<int64_t>{1, 2}, {2});
  auto j = qjson();
  j["ker"]["quantized_dimension"] = 4;
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), field("quantized_dimension"), "is 4",
                                 "[1, 1, 1, 2]", "rank 4", "expected 0..3"}));

  // Per-tensor parameters ignore the dimension, but not one the tensor does not have.
  reset();
  j = qjson();
  j["bias"]["quantized_dimension"] = 9;
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("bias"), field("quantized_dimension"), "is 9",
                                 "shape [1]", "rank 1", "expected 0..0"}));
}

TEST_P(ErrorsTest, ZeroPointOutOfRange) {
  npy::save(npy_path("1.npy"), std::vector<int64_t>{256}, {1});
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("zerop"), nfile("1.npy"),
                                 "zerop[0] is 256", "outside the range of uint8 [0, 255]"}));
  npy::save(npy_path("1.npy"), std::vector<int64_t>{-129}, {1});
  auto j = qjson();
  j["ifm"]["dtype"] = "int8";
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("zerop"), nfile("1.npy"),
                                 "zerop[0] is -129", "outside the range of int8 [-128, 127]"}));
}

TEST_P(ErrorsTest, ScaleMustBeFiniteAndPositive) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::pair<float, const char*> cases[] = {
      {0.0f, "is 0,"}, {-0.5f, "is -0.5,"}, {nan, "is nan,"}, {inf, "is inf,"}, {-inf, "is -inf,"}};
  for (const auto& [value, shown] : cases) {
    SCOPED_TRACE(shown);
    npy::save(npy_path("8.npy"), std::vector<float>{value}, {1});
    EXPECT_TRUE(
        Mentions(fails(), {qfile(), tensor("ofm"), field("scale"), nfile("8.npy"),
                           std::string("scale[0] ") + shown, "expected a finite value > 0"}));
  }
  // The element is named in per-channel scales.
  npy::save(npy_path("2.npy"), std::vector<float>{0.5f, 0.0f}, {2});
  npy::save(npy_path("3.npy"), std::vector<int64_t>{1, 2}, {2});
  auto j = qjson();
  j["ker"]["quantized_dimension"] = 3;
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {tensor("ker"), field("scale"), nfile("2.npy"), "scale[1] is 0,"}));
}

// ---- against the model -----------------------------------------------------------------------

TEST_P(ErrorsTest, ValueOnANonConstantTensor) {
  const std::vector<uint8_t> data(8, 1);
  npy::save(npy_path("ifm_value.npy"), data, {1, 2, 2, 2});
  auto j = qjson();
  j["ifm"]["value"] = "ifm_value.npy";
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ifm"), field("value"),
                                 "not a constant in the model '" + model_ + "'"}));
}

TEST_P(ErrorsTest, TensorNotFloat32) {
  ModelBuilder b(format());
  const int32_t a = b.tensor("a", {3}, TensorType::Int32);
  const int32_t c = b.tensor("c", {3}, TensorType::Int32);
  b.op(circle::BuiltinOperator_ADD, {a, a}, {c});
  b.inputs({a});
  b.outputs({c});
  b.save(model_);
  write_qparams(dir_.path(), {{"a", "int8", {0.1f}, {0}}});
  EXPECT_TRUE(
      Mentions(fails(), {qfile(), tensor("a"), field("dtype"),
                         "the tensor is INT32 in the model '" + model_ + "'", "expected FLOAT32"}));
}

TEST_P(ErrorsTest, TwoKeysNameTheSameTensor) {
  auto j = qjson();
  j["#0:ifm"] = j["ifm"];
  write_json(j);
  EXPECT_TRUE(Mentions(fails(), {qfile(), "keys 'ifm' and '#0:ifm'", "both name", tensor("ifm")}));
}

TEST_P(ErrorsTest, QualifiedKeyWithSubgraphOutOfRange) {
  write_json(rename_key(qjson(), "ifm", "#3:ifm"));
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("#3:ifm"), "the model '" + model_ + "'",
                                 "has 1 subgraph(s)", "no subgraph 3"}));
  write_json(rename_key(qjson(), "#3:ifm", "#0:ifn"));
  EXPECT_TRUE(
      Mentions(fails(), {qfile(), tensor("ifn"), "is not in subgraph 0", "closest names: 'ifm'"}));
}

TEST_P(ErrorsTest, FloatConstantWithNaNCannotBeQuantized) {
  ModelBuilder b(format());
  const int32_t ifm = b.tensor("ifm", {1, 2, 2, 2});
  const int32_t ker =
      b.constant("ker", {1, 1, 1, 2}, {0.5f, std::numeric_limits<float>::quiet_NaN()});
  const int32_t bias = b.constant("bias", {1}, {0.5f});
  const int32_t ofm = b.tensor("ofm", {1, 2, 2, 1});
  b.op(circle::BuiltinOperator_CONV_2D, {ifm, ker, bias}, {ofm});
  b.inputs({ifm});
  b.outputs({ofm});
  b.save(model_);
  auto specs = readme_qparams();
  specs[1].value_descr.clear();  // quantize ker from its float data
  write_qparams(dir_.path(), specs);
  EXPECT_TRUE(Mentions(fails(), {qfile(), tensor("ker"), "NaN at element 1", "give \"value\""}));
}

// ---- files -----------------------------------------------------------------------------------

TEST_P(ErrorsTest, ModelFileMissing) {
  auto o = options();
  o.input = dir_.file("missing" + ext());
  EXPECT_TRUE(Mentions(
      fails(o), {"model file '" + o.input + "'", "cannot open", "No such file or directory"}));
}

TEST_P(ErrorsTest, ModelFileEmpty) {
  write_bytes(model_, {});
  EXPECT_TRUE(Mentions(fails(), {mfile(), "too small", "0 bytes"}));
}

TEST_P(ErrorsTest, ModelFileTruncated) {
  auto bytes = read_bytes(model_);
  bytes.resize(bytes.size() / 2);
  write_bytes(model_, bytes);
  EXPECT_TRUE(Mentions(fails(), {mfile(), std::string("not a valid ") + format_name(format()),
                                 "truncated or corrupt"}));
}

TEST_P(ErrorsTest, ModelFileRandomBytes) {
  std::mt19937 rng(42);
  std::vector<uint8_t> bytes(4096);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  write_bytes(model_, bytes);
  EXPECT_TRUE(Mentions(fails(), {mfile(), "not a circle or tflite model",
                                 "expected 'CIR0' for circle or 'TFL3' for tflite"}));
}

TEST_P(ErrorsTest, ModelFileWithWrongIdentifier) {
  auto bytes = read_bytes(model_);
  std::memcpy(bytes.data() + 4, "ONNX", 4);
  write_bytes(model_, bytes);
  EXPECT_TRUE(Mentions(fails(), {mfile(), "file identifier is 'ONNX'", "expected 'CIR0'"}));
}

TEST_P(ErrorsTest, ModelIsADirectory) {
  auto o = options();
  o.input = dir_.path();
  EXPECT_TRUE(Mentions(fails(o), {"model file '" + dir_.path() + "'", "is a directory"}));
}

TEST_P(ErrorsTest, QParamFileMissing) {
  auto o = options();
  o.qparam = dir_.file("missing.json");
  EXPECT_TRUE(Mentions(
      fails(o), {"qparam file '" + o.qparam + "'", "cannot open", "No such file or directory"}));
}

TEST_P(ErrorsTest, QParamFileIsADirectory) {
  auto o = options();
  o.qparam = dir_.path();
  EXPECT_TRUE(Mentions(fails(o), {"qparam file '" + o.qparam + "'", "is a directory"}));
}

TEST_P(ErrorsTest, FifoInputsAreRefusedWithoutWaiting) {
  // Reading a FIFO would block until some writer appears; it is refused instead.
  auto o = options();
  o.qparam = dir_.file("fifo.json");
  ASSERT_EQ(mkfifo(o.qparam.c_str(), 0600), 0);
  EXPECT_TRUE(Mentions(fails(o), {"qparam file '" + o.qparam + "'", "not a regular file"}));

  ASSERT_EQ(mkfifo(npy_path("fifo.npy").c_str(), 0600), 0);
  auto j = qjson();
  j["ifm"]["scale"] = "fifo.npy";
  write_json(j);
  EXPECT_TRUE(Mentions(
      fails(), {qfile(), tensor("ifm"), field("scale"), nfile("fifo.npy"), "not a regular file"}));

  o = options();
  o.input = dir_.file("fifo" + ext());
  ASSERT_EQ(mkfifo(o.input.c_str(), 0600), 0);
  EXPECT_TRUE(Mentions(fails(o), {"model file '" + o.input + "'", "not a regular file"}));
}

TEST_P(ErrorsTest, OutputDirectoryMissing) {
  auto o = options();
  o.output = out_.file("missing/out" + ext());
  EXPECT_TRUE(
      Mentions(fails(o), {"output file '" + o.output + "'",
                          "cannot create a temporary file in '" + out_.file("missing") + "'",
                          "No such file or directory"}));
  EXPECT_TRUE(list_dir(out_.path()).empty());
}

TEST_P(ErrorsTest, OutputIsADirectory) {
  // Fails at the final rename, after the temporary file is written: it must be removed.
  auto o = options();
  o.output = out_.file("taken");
  ASSERT_EQ(mkdir(o.output.c_str(), 0755), 0);
  EXPECT_TRUE(Mentions(fails(o), {"output file '" + o.output + "'", "cannot rename"}));
  EXPECT_EQ(list_dir(out_.path()), std::vector<std::string>{"taken"});
  EXPECT_TRUE(list_dir(o.output).empty());
}

TEST_P(ErrorsTest, OutputIsTheInputWithoutInPlace) {
  auto o = options();
  o.output = model_;
  EXPECT_TRUE(Mentions(fails(o), {"output '" + model_ + "' is the input model", "--in-place"}));
  // Another spelling of the same file is the same file.
  o.output = dir_.path() + "/./in" + ext();
  EXPECT_TRUE(Mentions(fails(o), {"is the input model", "--in-place"}));
}

INSTANTIATE_TEST_SUITE_P(Formats, ErrorsTest, ::testing::Values(Format::Circle, Format::TFLite),
                         [](const auto& info) { return std::string(format_name(info.param)); });

}  // namespace
}  // namespace qimplant::test
