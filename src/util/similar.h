// Ranking tensor names by how close they are to a name the user wrote.
//
// Names from PyTorch ("subnet.conv2.bias") and from converters ("model/subnet/conv2/BiasAdd;...")
// differ in separators and in the words around the layer name, so the score combines shared words
// (split on . / ; : _ - and spaces, case-insensitive) with the edit distance of the whole names.
#pragma once

#include <string>
#include <vector>

namespace qimplant {

// Similarity in [0, 1]; 1 means equal after case and separator folding.
double name_similarity(const std::string& a, const std::string& b);

// Up to `count` candidates most similar to `query`, best first, skipping poor matches.
std::vector<std::string> closest_names(const std::string& query,
                                       const std::vector<std::string>& candidates, size_t count);

}  // namespace qimplant
