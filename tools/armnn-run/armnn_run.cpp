// armnn-run: loads a .tflite model with Arm NN's TfLite parser, runs it once on a CPU backend
// and writes each output tensor as .npy. An independent runtime check of q-implant's output:
// nothing here uses q-implant's own code (its npy reader/writer included).
//
//   armnn-run [--backend CpuRef] [--print] MODEL.tflite OUT_PREFIX [INPUT.npy|INPUT.bin ...]
//
// Inputs bind to the subgraph-0 inputs in order; a .npy must match the input's element size
// and count (dtype is not enforced beyond size), anything else is read as raw bytes.
// Output i goes to OUT_PREFIX<i>.npy. Each input and output is described on stdout as
//   input|output NAME type=QAsymmU8 shape=[1,2,2,3] scale=0.05 zp=128
// and --print adds a line with its values.
#include <armnn/ArmNN.hpp>
#include <armnnTfLiteParser/ITfLiteParser.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Returns the payload of a .npy (v1/v2/v3, C order); descr goes to *descr.
std::vector<uint8_t> npy_payload(const std::vector<uint8_t>& file, std::string* descr) {
  static const char magic[] = "\x93NUMPY";
  if (file.size() < 10 || std::memcmp(file.data(), magic, 6) != 0) {
    descr->clear();
    return file;  // raw bytes
  }
  const uint8_t major = file[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = file[8] | (file[9] << 8);
    start = 10;
  } else {
    if (file.size() < 12) throw std::runtime_error("truncated npy");
    header_len = file[8] | (file[9] << 8) | (file[10] << 16) | (size_t(file[11]) << 24);
    start = 12;
  }
  if (start + header_len > file.size()) throw std::runtime_error("truncated npy header");
  const std::string header(file.begin() + start, file.begin() + start + header_len);
  if (header.find("'fortran_order': True") != std::string::npos)
    throw std::runtime_error("fortran-order npy not supported");
  const auto d = header.find("'descr':");
  if (d != std::string::npos) {
    const auto q1 = header.find('\'', d + 8);
    const auto q2 = header.find('\'', q1 + 1);
    *descr = header.substr(q1 + 1, q2 - q1 - 1);
  }
  return std::vector<uint8_t>(file.begin() + start + header_len, file.end());
}

const char* npy_descr(armnn::DataType t) {
  switch (t) {
    case armnn::DataType::Float32:
      return "<f4";
    case armnn::DataType::QAsymmU8:
      return "|u1";
    case armnn::DataType::QAsymmS8:
      return "|i1";
    case armnn::DataType::QSymmS8:
      return "|i1";
    case armnn::DataType::QSymmS16:
      return "<i2";
    case armnn::DataType::Signed32:
      return "<i4";
    case armnn::DataType::Boolean:
      return "|u1";
    default:
      throw std::runtime_error("unsupported output type");
  }
}

void write_npy(const std::string& path, const armnn::TensorInfo& info, const void* data) {
  std::ostringstream shape;
  shape << "(";
  for (unsigned i = 0; i < info.GetNumDimensions(); ++i) {
    shape << info.GetShape()[i];
    if (info.GetNumDimensions() == 1 || i + 1 < info.GetNumDimensions()) shape << ",";
    if (i + 1 < info.GetNumDimensions()) shape << " ";
  }
  shape << ")";
  std::string header = std::string("{'descr': '") + npy_descr(info.GetDataType()) +
                       "', 'fortran_order': False, 'shape': " + shape.str() + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char l[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(l, 2);
  out << header;
  out.write(static_cast<const char*>(data), info.GetNumBytes());
  if (!out) throw std::runtime_error("cannot write " + path);
}

void describe(std::ostream& os, const std::string& name, const armnn::TensorInfo& info) {
  os << name << " type=" << armnn::GetDataTypeName(info.GetDataType()) << " shape=[";
  for (unsigned i = 0; i < info.GetNumDimensions(); ++i) os << (i ? "," : "") << info.GetShape()[i];
  os << "]";
  if (info.IsQuantized()) {
    if (info.HasMultipleQuantizationScales()) {
      os << " scales=" << info.GetQuantizationScales().size();
    } else {
      os << " scale=" << std::setprecision(9) << info.GetQuantizationScale()
         << " zp=" << info.GetQuantizationOffset();
    }
  }
  os << "\n";
}

void print_values(std::ostream& os, const armnn::TensorInfo& info, const std::vector<uint8_t>& b) {
  const unsigned n = info.GetNumElements();
  for (unsigned i = 0; i < n; ++i) {
    os << (i ? " " : "  ");
    switch (info.GetDataType()) {
      case armnn::DataType::Float32: {
        float f;
        std::memcpy(&f, b.data() + 4 * i, 4);
        os << f;
        break;
      }
      case armnn::DataType::QAsymmU8:
      case armnn::DataType::Boolean:
        os << int(b[i]);
        break;
      case armnn::DataType::QAsymmS8:
      case armnn::DataType::QSymmS8:
        os << int(static_cast<int8_t>(b[i]));
        break;
      case armnn::DataType::Signed32: {
        int32_t v;
        std::memcpy(&v, b.data() + 4 * i, 4);
        os << v;
        break;
      }
      default:
        os << "?";
    }
  }
  os << "\n";
}

int usage() {
  std::cerr << "usage: armnn-run [--backend CpuRef|CpuAcc] [--print] MODEL.tflite OUT_PREFIX "
               "[INPUT.npy|INPUT.bin ...]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<armnn::BackendId> backends;
  bool print = false;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--backend" && i + 1 < argc) {
      backends.emplace_back(argv[++i]);
    } else if (a == "--print") {
      print = true;
    } else if (a == "-h" || a == "--help") {
      return usage();
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() < 2) return usage();
  if (backends.empty()) backends.emplace_back("CpuRef");

  try {
    armnn::ConfigureLogging(false, false, armnn::LogSeverity::Warning);
    auto parser = armnnTfLiteParser::ITfLiteParser::Create();
    armnn::INetworkPtr network = parser->CreateNetworkFromBinaryFile(pos[0].c_str());

    const auto in_names = parser->GetSubgraphInputTensorNames(0);
    const auto out_names = parser->GetSubgraphOutputTensorNames(0);
    if (pos.size() - 2 != in_names.size()) {
      std::cerr << "model has " << in_names.size() << " input(s), " << pos.size() - 2 << " given\n";
      return 2;
    }

    armnn::IRuntime::CreationOptions options;
    armnn::IRuntimePtr runtime = armnn::IRuntime::Create(options);
    std::vector<std::string> messages;
    armnn::IOptimizedNetworkPtr opt =
        armnn::Optimize(*network, backends, runtime->GetDeviceSpec(), armnn::OptimizerOptions(),
                        armnn::Optional<std::vector<std::string>&>(messages));
    for (const auto& m : messages) std::cerr << "optimize: " << m << "\n";
    if (!opt) {
      std::cerr << "error: Arm NN could not optimize the network for the requested backend\n";
      return 1;
    }
    armnn::NetworkId id;
    std::string err;
    if (runtime->LoadNetwork(id, std::move(opt), err, armnn::INetworkProperties()) !=
        armnn::Status::Success) {
      std::cerr << "error: LoadNetwork failed: " << err << "\n";
      return 1;
    }

    std::vector<std::vector<uint8_t>> in_data(in_names.size());
    armnn::InputTensors inputs;
    for (size_t i = 0; i < in_names.size(); ++i) {
      const auto binding = parser->GetNetworkInputBindingInfo(0, in_names[i]);
      const armnn::TensorInfo info = runtime->GetInputTensorInfo(id, binding.first);
      std::string descr;
      in_data[i] = npy_payload(read_file(pos[2 + i]), &descr);
      if (in_data[i].size() != info.GetNumBytes()) {
        std::cerr << "input " << in_names[i] << ": " << in_data[i].size()
                  << " bytes given, model needs " << info.GetNumBytes() << "\n";
        return 2;
      }
      describe(std::cout, "input " + in_names[i], info);
      if (print) print_values(std::cout, info, in_data[i]);
      inputs.emplace_back(binding.first, armnn::ConstTensor(info, in_data[i].data()));
    }

    std::vector<std::vector<uint8_t>> out_data(out_names.size());
    std::vector<armnn::TensorInfo> out_info;
    armnn::OutputTensors outputs;
    for (size_t i = 0; i < out_names.size(); ++i) {
      const auto binding = parser->GetNetworkOutputBindingInfo(0, out_names[i]);
      const armnn::TensorInfo info = runtime->GetOutputTensorInfo(id, binding.first);
      out_info.push_back(info);
      out_data[i].assign(info.GetNumBytes(), 0);
      outputs.emplace_back(binding.first, armnn::Tensor(info, out_data[i].data()));
    }

    if (runtime->EnqueueWorkload(id, inputs, outputs) != armnn::Status::Success) {
      std::cerr << "error: EnqueueWorkload failed\n";
      return 1;
    }
    for (size_t i = 0; i < out_names.size(); ++i) {
      write_npy(pos[1] + std::to_string(i) + ".npy", out_info[i], out_data[i].data());
      describe(std::cout, "output " + out_names[i], out_info[i]);
      if (print) print_values(std::cout, out_info[i], out_data[i]);
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
