// Errors q-implant reports to its users.
//
// Every failure caused by the user's input (model, qparam.json, .npy files, options) is thrown as
// qimplant::Error whose message is complete on its own: it names the file, the tensor and the
// field, and says what was expected and what was found. The CLI prints it as one line and exits
// non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace qimplant {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace qimplant
