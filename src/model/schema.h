// Compile-time access to the generated code of both formats.
//
// Reader and writer are written once as templates over Schema<Format>; only what differs between
// circle and tflite (namespaces, identifiers, the enum name tables) is spelled out here.
#pragma once

#include "model/model.h"
#include "schema/circle_generated.h"
#include "schema/tflite_generated.h"

namespace qimplant {

template <Format F>
struct Schema;

template <>
struct Schema<Format::Circle> {
  using Model = circle::Model;
  using ModelBuilder = circle::ModelBuilder;
  using Buffer = circle::Buffer;
  using BufferBuilder = circle::BufferBuilder;
  using SubGraph = circle::SubGraph;
  using OperatorCode = circle::OperatorCode;
  using Metadata = circle::Metadata;
  using SignatureDef = circle::SignatureDef;
  using ModelT = circle::ModelT;
  using SubGraphT = circle::SubGraphT;
  using TensorT = circle::TensorT;
  using OperatorT = circle::OperatorT;
  using QuantizeOptionsT = circle::QuantizeOptionsT;
  using DequantizeOptionsT = circle::DequantizeOptionsT;
  using BuiltinOperator = circle::BuiltinOperator;
  using QuantizationParametersT = circle::QuantizationParametersT;
  using OperatorCodeT = circle::OperatorCodeT;
  using MetadataT = circle::MetadataT;
  using SignatureDefT = circle::SignatureDefT;
  static constexpr const char* identifier = "CIR0";
  static const Model* root(const void* data) { return circle::GetModel(data); }
  static bool verify(flatbuffers::Verifier& v) { return circle::VerifyModelBuffer(v); }
  static const char* op_name(int32_t op) {
    return circle::EnumNameBuiltinOperator(static_cast<circle::BuiltinOperator>(op));
  }
  static constexpr int32_t op_min = circle::BuiltinOperator_MIN;
  static constexpr int32_t op_max = circle::BuiltinOperator_MAX;
};

template <>
struct Schema<Format::TFLite> {
  using Model = tflite::Model;
  using ModelBuilder = tflite::ModelBuilder;
  using Buffer = tflite::Buffer;
  using BufferBuilder = tflite::BufferBuilder;
  using SubGraph = tflite::SubGraph;
  using OperatorCode = tflite::OperatorCode;
  using Metadata = tflite::Metadata;
  using SignatureDef = tflite::SignatureDef;
  using ModelT = tflite::ModelT;
  using SubGraphT = tflite::SubGraphT;
  using TensorT = tflite::TensorT;
  using OperatorT = tflite::OperatorT;
  using QuantizeOptionsT = tflite::QuantizeOptionsT;
  using DequantizeOptionsT = tflite::DequantizeOptionsT;
  using BuiltinOperator = tflite::BuiltinOperator;
  using QuantizationParametersT = tflite::QuantizationParametersT;
  using OperatorCodeT = tflite::OperatorCodeT;
  using MetadataT = tflite::MetadataT;
  using SignatureDefT = tflite::SignatureDefT;
  static constexpr const char* identifier = "TFL3";
  static const Model* root(const void* data) { return tflite::GetModel(data); }
  static bool verify(flatbuffers::Verifier& v) { return tflite::VerifyModelBuffer(v); }
  static const char* op_name(int32_t op) {
    return tflite::EnumNameBuiltinOperator(static_cast<tflite::BuiltinOperator>(op));
  }
  static constexpr int32_t op_min = tflite::BuiltinOperator_MIN;
  static constexpr int32_t op_max = tflite::BuiltinOperator_MAX;
};

// Both schemas encode the operator code in two fields; this is the one rule for reading it.
// The old byte is authoritative unless it holds the "look at builtin_code" marker (127), or is
// left at 0 by a writer that filled only the new field.
inline int32_t resolve_builtin_code(int8_t deprecated_code, int32_t builtin_code) {
  if (deprecated_code == 127) return builtin_code;
  if (deprecated_code == 0 && builtin_code != 0) return builtin_code;
  return deprecated_code;
}

}  // namespace qimplant
