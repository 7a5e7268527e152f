// Ranking tensor names by how close they are to a name the user wrote.
//
// Names from PyTorch ("subnet.conv2.bias", "layer1.0.conv1.weight") and from converters
// ("model/subnet/conv2/BiasAdd;...", "/layer1/layer1.0/conv1/Conv_output_0", "onnx::Conv_12")
// differ in separators, in the words around the layer name and in the words for a role
// ("weight" / "kernel"). So the score is mostly how much of the query's words the candidate
// holds, in order (split on . / ; : _ - and other punctuation, case-insensitive), where numbers
// must agree ("conv1" never matches "conv2", and a candidate whose numbers contradict the
// query's, "layer1.0" for "layer1.1", ranks lower), a word may be the start of another ("bias" in
// "BiasAdd") and a few role words are synonyms; then how little else the candidate holds; then
// the edit distance of the whole names. A name fused from several ("a;b;c") is also compared
// part by part. Words every converter adds ("model", "sequential", "ReadVariableOp", "onnx",
// "module") are left out of the word comparison.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace qimplant {

// Similarity in [0, 1]; 1 means equal after case and separator folding.
double name_similarity(const std::string& a, const std::string& b);

// Up to `count` candidates most similar to `query`, best first (ties keep candidate order),
// without duplicates, skipping poor matches (those sharing no word with the query).
std::vector<std::string> closest_names(const std::string& query,
                                       const std::vector<std::string>& candidates, size_t count);

// The same ranking over a fixed set of names split into words once, for many queries against
// one model (`q-implant names` with many unknown keys).
class NameIndex {
 public:
  explicit NameIndex(const std::vector<std::string>& names);
  ~NameIndex();
  NameIndex(const NameIndex&) = delete;
  NameIndex& operator=(const NameIndex&) = delete;
  // Exactly closest_names(query, names, count), fast on many names. Not for concurrent calls
  // on one index (it reuses scratch space).
  std::vector<std::string> closest(const std::string& query, size_t count) const;

 private:
  struct Entry;
  struct Vocabulary;
  std::vector<std::string> names_;
  std::vector<Entry> entries_;
  std::unique_ptr<Vocabulary> vocab_;
};

}  // namespace qimplant
