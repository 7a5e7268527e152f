#include "model/model_file.h"

#include <algorithm>
#include <cstring>

#include "model/schema.h"
#include "util/error.h"

namespace qimplant {

namespace {

// FlatBuffers cannot address more than 2 GiB; larger files keep their data after that part. The
// verifier accepts buffers strictly smaller than FLATBUFFERS_MAX_BUFFER_SIZE (2^31 - 1), so a
// larger file is verified over its first 2^31 - 2 bytes.
constexpr size_t kMaxVerifySize = FLATBUFFERS_MAX_BUFFER_SIZE - 1;

template <typename V>
std::vector<int32_t> to_vector(const V* v) {
  return v ? std::vector<int32_t>(v->begin(), v->end()) : std::vector<int32_t>{};
}

template <Format F>
void read_model(const MappedFile& file, ModelInfo& info, size_t& flatbuffer_size) {
  using S = Schema<F>;
  const size_t verify_size = std::min<size_t>(file.size(), kMaxVerifySize);
  flatbuffers::Verifier verifier(file.data(), verify_size, /*max_depth=*/128,
                                 /*max_tables=*/100000000);
  if (!S::verify(verifier)) {
    throw Error("model file '" + file.path() + "': not a valid " + format_name(F) +
                " model (the FlatBuffers verifier rejects it: truncated or corrupt)");
  }
  const auto* model = S::root(file.data());
  info.format = F;
  info.version = model->version();

  if (const auto* codes = model->operator_codes()) {
    for (const auto* code : *codes) {
      OperatorCodeInfo c;
      c.builtin_code = resolve_builtin_code(code->deprecated_builtin_code(),
                                            static_cast<int32_t>(code->builtin_code()));
      if (code->custom_code()) c.custom_code = code->custom_code()->str();
      c.version = code->version();
      info.operator_codes.push_back(std::move(c));
    }
  }

  size_t data_start = file.size();
  if (const auto* buffers = model->buffers()) {
    for (flatbuffers::uoffset_t i = 0; i < buffers->size(); ++i) {
      const auto* b = buffers->Get(i);
      BufferInfo bi;
      if (b->offset() > 1) {
        // Written as a subtraction so that a huge size cannot wrap around.
        if (b->offset() > file.size() || b->size() > file.size() - b->offset()) {
          throw Error("model file '" + file.path() + "': buffer " + std::to_string(i) +
                      " points outside the file (offset " + std::to_string(b->offset()) +
                      ", size " + std::to_string(b->size()) + ", file size " +
                      std::to_string(file.size()) + ")");
        }
        bi.data = file.data() + b->offset();
        bi.size = b->size();
        bi.external = true;
        data_start = std::min<size_t>(data_start, b->offset());
      } else if (b->data()) {
        bi.data = b->data()->data();
        bi.size = b->data()->size();
      }
      info.buffers.push_back(bi);
    }
  }
  // External data starts after the FlatBuffer (nothing in the file says where the FlatBuffer
  // ends). Verifying again up to the first external offset proves that no table, vector or
  // string of the FlatBuffer reaches into the data.
  if (data_start < verify_size) {
    flatbuffers::Verifier part(file.data(), data_start, /*max_depth=*/128,
                               /*max_tables=*/100000000);
    if (!S::verify(part)) {
      size_t first = 0;
      for (size_t i = 0; i < info.buffers.size(); ++i) {
        if (info.buffers[i].external &&
            static_cast<size_t>(info.buffers[i].data - file.data()) == data_start) {
          first = i;
          break;
        }
      }
      throw Error("model file '" + file.path() + "': buffer " + std::to_string(first) +
                  " points into the FlatBuffer part (offset " + std::to_string(data_start) +
                  "; external data must start after the FlatBuffer, which extends past it)");
    }
  }
  flatbuffer_size = std::min(data_start, verify_size);

  auto check_index = [&](int32_t index, size_t count, const std::string& where) {
    if (index < -1 || (index >= 0 && static_cast<size_t>(index) >= count)) {
      throw Error("model file '" + file.path() + "': " + where + " refers to tensor " +
                  std::to_string(index) + ", but the subgraph has " + std::to_string(count) +
                  " tensors");
    }
  };

  if (const auto* subgraphs = model->subgraphs()) {
    for (flatbuffers::uoffset_t s = 0; s < subgraphs->size(); ++s) {
      const auto* sg = subgraphs->Get(s);
      SubgraphInfo g;
      if (sg->name()) g.name = sg->name()->str();
      if (const auto* tensors = sg->tensors()) {
        for (const auto* t : *tensors) {
          TensorInfo ti;
          if (t->name()) ti.name = t->name()->str();
          ti.type = static_cast<int8_t>(t->type());
          ti.shape = to_vector(t->shape());
          ti.buffer = t->buffer();
          ti.is_variable = t->is_variable();
          if (ti.buffer >= info.buffers.size() && ti.buffer != 0) {
            throw Error("model file '" + file.path() + "': tensor '" + ti.name +
                        "' refers to buffer " + std::to_string(ti.buffer) + ", but the model has " +
                        std::to_string(info.buffers.size()) + " buffers");
          }
          if (const auto* q = t->quantization()) {
            if (q->scale()) ti.quant.scale.assign(q->scale()->begin(), q->scale()->end());
            // The verifier checks vector alignment to 4 bytes only; an int64 vector may sit at
            // an address that is not a multiple of 8, so it is copied bytewise.
            if (const auto* zp = q->zero_point()) {
              ti.quant.zero_point.resize(zp->size());
              if (zp->size())
                std::memcpy(ti.quant.zero_point.data(), zp->Data(), zp->size() * sizeof(int64_t));
            }
            ti.quant.quantized_dimension = q->quantized_dimension();
          }
          g.tensors.push_back(std::move(ti));
        }
      }
      const std::string where = "subgraph " + std::to_string(s);
      g.inputs = to_vector(sg->inputs());
      g.outputs = to_vector(sg->outputs());
      // -1 marks an omitted operator operand; a graph input or output must be a tensor.
      auto check_io = [&](int32_t index, const std::string& what) {
        if (index == -1)
          throw Error("model file '" + file.path() + "': " + what +
                      " refers to tensor -1 (the mark of an omitted operand); a graph " +
                      "input or output must be a tensor of the subgraph");
        check_index(index, g.tensors.size(), what);
      };
      for (int32_t i : g.inputs) check_io(i, where + " input");
      for (int32_t i : g.outputs) check_io(i, where + " output");
      if (const auto* ops = sg->operators()) {
        for (flatbuffers::uoffset_t o = 0; o < ops->size(); ++o) {
          const auto* op = ops->Get(o);
          OperatorInfo oi;
          oi.opcode_index = op->opcode_index();
          if (oi.opcode_index >= info.operator_codes.size()) {
            throw Error("model file '" + file.path() + "': " + where + " operator " +
                        std::to_string(o) + " uses operator code " +
                        std::to_string(oi.opcode_index) + ", but the model has " +
                        std::to_string(info.operator_codes.size()));
          }
          oi.builtin_code = info.operator_codes[oi.opcode_index].builtin_code;
          oi.inputs = to_vector(op->inputs());
          oi.outputs = to_vector(op->outputs());
          const std::string op_where = where + " operator " + std::to_string(o);
          for (int32_t i : oi.inputs) check_index(i, g.tensors.size(), op_where);
          for (int32_t i : oi.outputs) check_index(i, g.tensors.size(), op_where);
          g.operators.push_back(std::move(oi));
        }
      }
      info.subgraphs.push_back(std::move(g));
    }
  }
}

}  // namespace

std::unique_ptr<ModelFile> ModelFile::open(const std::string& path) {
  auto model = std::unique_ptr<ModelFile>(new ModelFile());
  // Kept open: the writer copies untouched buffers with copy_file_range from it.
  model->file_ = MappedFile::open(path, "model file", /*keep_descriptor=*/true);
  const MappedFile& file = *model->file_;
  if (file.size() < 8) {
    throw Error("model file '" + path + "': too small to be a circle or tflite model (" +
                std::to_string(file.size()) + " bytes)");
  }
  const char* id = reinterpret_cast<const char*>(file.data()) + 4;
  if (std::memcmp(id, Schema<Format::Circle>::identifier, 4) == 0) {
    read_model<Format::Circle>(file, model->info_, model->flatbuffer_size_);
  } else if (std::memcmp(id, Schema<Format::TFLite>::identifier, 4) == 0) {
    read_model<Format::TFLite>(file, model->info_, model->flatbuffer_size_);
  } else {
    std::string shown;
    for (int i = 0; i < 4; ++i) {
      const unsigned char c = static_cast<unsigned char>(id[i]);
      if (c >= 0x20 && c < 0x7f) {
        shown += static_cast<char>(c);
      } else {
        static const char* hex = "0123456789abcdef";
        shown += std::string("\\x") + hex[c >> 4] + hex[c & 15];
      }
    }
    throw Error("model file '" + path + "': not a circle or tflite model (file identifier is '" +
                shown + "', expected 'CIR0' for circle or 'TFL3' for tflite)");
  }
  // The verifier touched every table and the length of every data vector; where tables sit
  // between the data (each Buffer next to its bytes, as builders lay it out) the kernel's
  // fault-around and large page-cache folios then map nearly the whole file: 68 of 68 MB of
  // a model of 12,100 small tensors. What is read from here on faults back in on demand.
  file.release(0, file.size());
  return model;
}

}  // namespace qimplant
