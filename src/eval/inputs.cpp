#include "eval/inputs.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "io/npy.h"
#include "schema/circle_generated.h"
#include "util/error.h"

namespace qimplant::eval {
namespace {

std::string shape_text(const std::vector<int32_t>& shape) {
  return npy::format_shape(std::vector<int64_t>(shape.begin(), shape.end()));
}

const SubgraphInfo& main_graph(const ModelFile& file) {
  if (file.info().subgraphs.empty()) throw Error("model '" + file.path() + "' has no subgraph");
  return file.info().subgraphs[0];
}

std::string input_names(const SubgraphInfo& g) {
  std::string names;
  for (int32_t t : g.inputs) names += (names.empty() ? "'" : ", '") + g.tensors[t].name + "'";
  return names.empty() ? "none" : names;
}

// The tensor whose parameters describe what a quantized model input can represent: the input
// itself when quantized, or the output of the QUANTIZE that alone reads a float input.
const TensorInfo* quantized_view(const SubgraphInfo& g, int32_t input) {
  const TensorInfo& t = g.tensors[input];
  int64_t lo, hi;
  if (integer_range(t.type, &lo, &hi) && t.quant.scale.size() == 1) return &t;
  const OperatorInfo* reader = nullptr;
  for (const auto& op : g.operators) {
    for (int32_t in : op.inputs) {
      if (in != input) continue;
      if (reader) return nullptr;
      reader = &op;
    }
  }
  if (!reader || reader->builtin_code != circle::BuiltinOperator_QUANTIZE ||
      reader->outputs.size() != 1 || reader->outputs[0] < 0)
    return nullptr;
  const TensorInfo& q = g.tensors[reader->outputs[0]];
  if (integer_range(q.type, &lo, &hi) && q.quant.scale.size() == 1) return &q;
  return nullptr;
}

}  // namespace

bool integer_range(int8_t type, int64_t* min, int64_t* max) {
  switch (static_cast<TensorType>(type)) {
    case TensorType::UInt8:
      *min = 0, *max = 255;
      return true;
    case TensorType::Int8:
      *min = -128, *max = 127;
      return true;
    case TensorType::Int16:
      *min = -32768, *max = 32767;
      return true;
    case TensorType::Int32:
      *min = INT32_MIN, *max = INT32_MAX;
      return true;
    case TensorType::Int4:
      *min = -8, *max = 7;
      return true;
    case TensorType::UInt4:
      *min = 0, *max = 15;
      return true;
    default:
      return false;
  }
}

std::vector<size_t> match_inputs(const ModelFile& float_model, const ModelFile& quantized) {
  const SubgraphInfo& f = main_graph(float_model);
  const SubgraphInfo& q = main_graph(quantized);
  if (f.inputs.size() != q.inputs.size()) {
    throw Error("the models' inputs do not correspond: float model '" + float_model.path() +
                "' has " + std::to_string(f.inputs.size()) + " (" + input_names(f) +
                "), quantized model '" + quantized.path() + "' has " +
                std::to_string(q.inputs.size()) + " (" + input_names(q) + ")");
  }
  std::vector<size_t> match;
  for (int32_t ft : f.inputs) {
    const TensorInfo& fi = f.tensors[ft];
    size_t found = q.inputs.size();
    for (size_t j = 0; j < q.inputs.size(); ++j)
      if (q.tensors[q.inputs[j]].name == fi.name) found = j;
    if (found == q.inputs.size()) {
      throw Error("quantized model '" + quantized.path() + "' has no input named '" + fi.name +
                  "' (an input of float model '" + float_model.path() +
                  "'); its inputs: " + input_names(q));
    }
    const TensorInfo& qi = q.tensors[q.inputs[found]];
    if (qi.shape != fi.shape) {
      throw Error("input '" + fi.name + "': float model '" + float_model.path() + "' has shape " +
                  shape_text(fi.shape) + ", quantized model '" + quantized.path() + "' has shape " +
                  shape_text(qi.shape));
    }
    match.push_back(found);
  }
  return match;
}

InputSet load_inputs(const ModelFile& float_model, const std::vector<InputFile>& files) {
  const SubgraphInfo& g = main_graph(float_model);
  InputSet set;
  std::vector<std::vector<float>> data(g.inputs.size());
  std::vector<const InputFile*> given(g.inputs.size(), nullptr);
  for (const auto& file : files) {
    size_t i = 0;
    while (i < g.inputs.size() && g.tensors[g.inputs[i]].name != file.name) ++i;
    if (i == g.inputs.size()) {
      throw Error("--input " + file.name + "=" + file.path + ": float model '" +
                  float_model.path() + "' has no input named '" + file.name +
                  "'; its inputs: " + input_names(g));
    }
    if (given[i]) {
      throw Error("input '" + file.name + "' given twice: '" + given[i]->path + "' and '" +
                  file.path + "'");
    }
    given[i] = &file;
  }
  int64_t samples = -1;
  const InputFile* samples_from = nullptr;
  set.sources.resize(g.inputs.size());
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const TensorInfo& t = g.tensors[g.inputs[i]];
    if (!given[i]) {
      throw Error("input '" + t.name + "' of float model '" + float_model.path() +
                  "' has no --input " + t.name +
                  "=FILE.npy: give every input, or none to use random samples");
    }
    const npy::Array a = npy::load(given[i]->path);
    const std::vector<int64_t> shape(t.shape.begin(), t.shape.end());
    int64_t n = 0;
    if (a.shape == shape) {
      n = 1;
    } else if (a.shape.size() == shape.size() + 1 &&
               std::equal(shape.begin(), shape.end(), a.shape.begin() + 1) && a.shape[0] > 0) {
      n = a.shape[0];
    }
    if (a.kind != 'f' || n == 0) {
      std::string expected = npy::format_shape(shape);
      std::string with_n = "(N, " + expected.substr(1);
      if (shape.empty()) with_n = "(N,)";
      throw Error("npy file '" + given[i]->path + "' for input '" + t.name +
                  "': expected a float32 array of shape " + expected + " (one sample) or " +
                  with_n + " (N samples), found " + npy::describe(a));
    }
    if (samples >= 0 && n != samples) {
      throw Error("npy file '" + given[i]->path + "' for input '" + t.name + "' holds " +
                  std::to_string(n) + " sample(s), but '" + samples_from->path + "' for input '" +
                  samples_from->name + "' holds " + std::to_string(samples) +
                  ": every input needs the same number of samples");
    }
    samples = n;
    samples_from = given[i];
    data[i] = npy::to_float32(a);
    for (size_t e = 0; e < data[i].size(); ++e) {
      if (std::isnan(data[i][e])) {
        throw Error("npy file '" + given[i]->path + "' for input '" + t.name + "': element " +
                    std::to_string(e) + " is nan; inputs must be numbers");
      }
    }
    set.sources[i] = given[i]->path;
  }
  if (g.inputs.empty()) samples = 1;
  set.samples.resize(static_cast<size_t>(samples));
  for (int64_t s = 0; s < samples; ++s) {
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      const size_t per = static_cast<size_t>(g.tensors[g.inputs[i]].element_count());
      set.samples[s].emplace_back(data[i].begin() + s * per, data[i].begin() + (s + 1) * per);
    }
  }
  return set;
}

std::pair<double, double> random_range(const ModelFile& float_model, const ModelFile& quantized,
                                       size_t index) {
  const SubgraphInfo& f = main_graph(float_model);
  const SubgraphInfo& q = main_graph(quantized);
  const std::string& name = f.tensors[f.inputs.at(index)].name;
  for (int32_t qt : q.inputs) {
    if (q.tensors[qt].name != name) continue;
    const TensorInfo* view = quantized_view(q, qt);
    if (!view) break;
    int64_t lo = 0, hi = 0;
    if (!integer_range(view->type, &lo, &hi)) break;
    const double scale = view->quant.scale[0];
    const double zp =
        static_cast<double>(view->quant.zero_point.empty() ? 0 : view->quant.zero_point[0]);
    return {(static_cast<double>(lo) - zp) * scale, (static_cast<double>(hi) - zp) * scale};
  }
  return {-1.0, 1.0};
}

InputSet random_inputs(const ModelFile& float_model, const ModelFile& quantized, int64_t samples,
                       uint64_t seed) {
  const SubgraphInfo& g = main_graph(float_model);
  if (samples < 1) throw Error("--samples must be at least 1, found " + std::to_string(samples));
  InputSet set;
  std::vector<std::pair<double, double>> ranges;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const TensorInfo& t = g.tensors[g.inputs[i]];
    if (t.type != TensorType::Float32) {
      throw Error("input '" + t.name + "' of float model '" + float_model.path() + "' is " +
                  tensor_type_name(float_model.format(), t.type) +
                  ", not FLOAT32: random samples are only drawn for float inputs; give it with "
                  "--input " +
                  t.name + "=FILE.npy");
    }
    if (std::any_of(t.shape.begin(), t.shape.end(), [](int32_t d) { return d < 0; })) {
      throw Error("input '" + t.name + "' of float model '" + float_model.path() + "' has shape " +
                  shape_text(t.shape) +
                  " with an unknown dimension: random samples need a fixed shape; give it with "
                  "--input " +
                  t.name + "=FILE.npy");
    }
    ranges.push_back(random_range(float_model, quantized, i));
    std::ostringstream os;
    os.precision(6);
    os << "random [" << ranges.back().first << ", " << ranges.back().second << "]";
    set.sources.push_back(os.str());
  }
  std::mt19937_64 rng(seed);
  set.samples.resize(static_cast<size_t>(samples));
  for (auto& sample : set.samples) {
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      std::vector<float> v(static_cast<size_t>(g.tensors[g.inputs[i]].element_count()));
      const auto [lo, hi] = ranges[i];
      for (float& x : v) {
        const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
        x = static_cast<float>(lo + (hi - lo) * u);
      }
      sample.push_back(std::move(v));
    }
  }
  return set;
}

exec::Value feed(const std::vector<float>& data, const TensorInfo& tensor, const ModelFile& file) {
  exec::Value v;
  v.type = tensor.type;
  v.shape = tensor.shape;
  v.quant = tensor.quant;
  if (tensor.type == TensorType::Float32) {
    v.data.resize(data.size() * sizeof(float));
    if (!v.data.empty()) std::memcpy(v.data.data(), data.data(), v.data.size());
    return v;
  }
  int64_t lo, hi;
  if (!integer_range(tensor.type, &lo, &hi) || tensor.quant.scale.size() != 1) {
    throw Error("input '" + tensor.name + "' of model '" + file.path() + "' is " +
                tensor_type_name(file.format(), tensor.type) +
                (tensor.quant.scale.size() > 1 ? " with per-channel parameters" : "") +
                ": eval feeds float32 inputs and per-tensor quantized uint8/int8/int16/int32/4-bit "
                "inputs only");
  }
  const float scale = tensor.quant.scale[0];
  const int64_t zp = tensor.quant.zero_point.empty() ? 0 : tensor.quant.zero_point[0];
  const size_t size = static_cast<TensorType>(tensor.type) == TensorType::Int16   ? 2
                      : static_cast<TensorType>(tensor.type) == TensorType::Int32 ? 4
                                                                                  : 1;
  v.data.resize(data.size() * size);
  for (size_t i = 0; i < data.size(); ++i) {
    const double r = std::round(static_cast<double>(data[i] / scale));
    int64_t q =
        std::isnan(r) ? zp : static_cast<int64_t>(std::fmax(std::fmin(r, 4e18), -4e18)) + zp;
    q = std::min(std::max(q, lo), hi);
    if (size == 1) {
      const int8_t b = static_cast<int8_t>(static_cast<uint8_t>(q & 0xff));
      std::memcpy(&v.data[i], &b, 1);
    } else if (size == 2) {
      const int16_t h = static_cast<int16_t>(q);
      std::memcpy(&v.data[i * 2], &h, 2);
    } else {
      const int32_t w = static_cast<int32_t>(q);
      std::memcpy(&v.data[i * 4], &w, 4);
    }
  }
  return v;
}

}  // namespace qimplant::eval
