// Helpers for the tests of the tools around the implant (inspect, names, extract): running the
// q-implant binary with separate stdout/stderr, and the extract round trip that any test making a
// quantized model can call.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "extract/extract.h"
#include "implant.h"
#include "model/model_file.h"
#include "support/test_util.h"

namespace qimplant::test {

struct ToolRun {
  int status = -1;
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::ostream& operator<<(std::ostream& os, const ToolRun& r) {
  return os << "exit " << r.status << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
}

// Runs the q-implant binary with `args` (quoted by the caller where needed).
inline ToolRun run_tool(const std::string& args) {
  ScratchDir capture;
  const std::string cmd = "(" + shell_quote(QIMPLANT_CLI) + " " + args + " >" +
                          shell_quote(capture.file("out")) + " 2>" +
                          shell_quote(capture.file("err")) + ")";
  ToolRun r;
  std::string ignored;
  r.status = run_command(cmd, &ignored);
  const auto out = read_bytes(capture.file("out"));
  const auto err = read_bytes(capture.file("err"));
  r.out.assign(out.begin(), out.end());
  r.err.assign(err.begin(), err.end());
  return r;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The round trip of issue 4: extract(quantized) implanted into `float_model` must give the
// quantized model back exactly: equal flatc decodings (every field, tensors, quantization and
// buffers included) and equal tensors and buffer bytes through our reader. `allow_float` as the
// quantized model was made. Returns the extract result for further checks.
inline ExtractResult expect_round_trip(const std::string& float_model, const std::string& quantized,
                                       const std::string& workdir, bool allow_float = false,
                                       std::optional<Target> target = {}) {
  ExtractOptions x;
  x.input = quantized;
  x.outdir = workdir + "/extracted";
  const ExtractResult extracted = extract(x);
  EXPECT_TRUE(extracted.skipped.empty())
      << extracted.skipped.front().tensor << ": " << extracted.skipped.front().reason;
  ImplantOptions o;
  o.input = float_model;
  o.qparam = extracted.qparam_path;
  o.output = workdir + "/roundtrip.model";
  o.allow_float = allow_float;
  o.target = target;
  implant(o);

  auto a = ModelFile::open(quantized);
  auto b = ModelFile::open(o.output);
  EXPECT_EQ(a->format(), b->format());
  const ModelInfo& ma = a->info();
  const ModelInfo& mb = b->info();
  EXPECT_EQ(ma.buffers.size(), mb.buffers.size());
  EXPECT_EQ(ma.subgraphs.size(), mb.subgraphs.size());
  for (size_t s = 0; s < ma.subgraphs.size() && s < mb.subgraphs.size(); ++s) {
    const auto& ta = ma.subgraphs[s].tensors;
    const auto& tb = mb.subgraphs[s].tensors;
    EXPECT_EQ(ta.size(), tb.size());
    for (size_t i = 0; i < ta.size() && i < tb.size(); ++i) {
      SCOPED_TRACE("subgraph " + std::to_string(s) + " tensor '" + ta[i].name + "'");
      EXPECT_EQ(ta[i].type, tb[i].type);
      EXPECT_EQ(ta[i].shape, tb[i].shape);
      EXPECT_EQ(ta[i].quant.scale, tb[i].quant.scale);
      EXPECT_EQ(ta[i].quant.zero_point, tb[i].quant.zero_point);
      EXPECT_EQ(ta[i].quant.quantized_dimension, tb[i].quant.quantized_dimension);
      EXPECT_EQ(ta[i].buffer, tb[i].buffer);
      if (ta[i].buffer < ma.buffers.size() && tb[i].buffer < mb.buffers.size()) {
        const BufferInfo& ba = ma.buffers[ta[i].buffer];
        const BufferInfo& bb = mb.buffers[tb[i].buffer];
        EXPECT_EQ(std::string(ba.data, ba.data + ba.size), std::string(bb.data, bb.data + bb.size));
      }
    }
  }
  const std::string schema = format_name(a->format());
  EXPECT_EQ(decode_with_flatc(o.output, schema), decode_with_flatc(quantized, schema));
  return extracted;
}

}  // namespace qimplant::test
