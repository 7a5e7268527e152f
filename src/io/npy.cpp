#include "io/npy.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "io/atomic_file.h"
#include "model/tensor_type.h"
#include "util/error.h"

// Element bytes are handed out and converted as native values, and '=' in a descr means native.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy.cpp assumes a little-endian host");

namespace qimplant {
namespace npy {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// numpy aligns the start of the data to this many bytes so it can be memory-mapped efficiently.
constexpr size_t kAlignment = 64;
// Deeper nesting than this in a header is never produced by numpy and only risks the stack.
constexpr int kMaxNesting = 32;

const char kSupported[] =
    "supported: bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, float32, "
    "float64";

std::string where(const std::string& path) {
  return "npy file '" + path + "': ";
}

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw Error(where(path) + message);
}

struct Dtype {
  char kind = 0;
  int size = 0;
  char order = '=';
};

std::string type_name(char kind, int size) {
  switch (kind) {
    case 'b':
      return "bool";
    case 'i':
      return "int" + std::to_string(size * 8);
    case 'u':
      return "uint" + std::to_string(size * 8);
    case 'f':
      return "float" + std::to_string(size * 8);
  }
  return "unknown";
}

// Returns why `descr` is not acceptable (without the file prefix), or "" and fills `out`.
std::string parse_descr(const std::string& descr, Dtype* out) {
  const std::string quoted = "'" + descr + "'";
  size_t pos = 0;
  char order = '=';  // numpy reads a descr without a byte-order character as native
  if (!descr.empty() && std::strchr("<>|=", descr[0]) != nullptr) {
    order = descr[0];
    pos = 1;
  }
  if (pos >= descr.size()) return "invalid dtype descr " + quoted + " (" + kSupported + ")";
  const char kind = descr[pos];
  switch (kind) {
    case 'O':
      return "object arrays (descr " + quoted + ") are not supported; save a numeric array";
    case 'U':
    case 'S':
    case 'a':
      return "string arrays (descr " + quoted + ") are not supported; save a numeric array";
    case 'V':
      return "raw void arrays (descr " + quoted + ") are not supported; save a numeric array";
    case 'M':
    case 'm':
      return "datetime arrays (descr " + quoted + ") are not supported; save a numeric array";
    case 'c':
      return "complex arrays (descr " + quoted + ") are not supported; save a real array";
  }
  const std::string unsupported = "unsupported dtype descr " + quoted + " (" + kSupported + ")";
  if (std::strchr("biuf", kind) == nullptr) return unsupported;
  const std::string digits = descr.substr(pos + 1);
  if (digits.empty() || digits.size() > 2 || digits[0] == '0' ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return unsupported;
  }
  const int size = std::atoi(digits.c_str());
  const bool ok = kind == 'b'   ? size == 1
                  : kind == 'f' ? size == 2 || size == 4 || size == 8
                                : size == 1 || size == 2 || size == 4 || size == 8;
  if (!ok) return unsupported;
  // Byte order is meaningless for one-byte types ('>i1' is the same array as '|i1').
  if (order == '>' && size > 1) {
    return "big-endian data (descr " + quoted + ") is not supported; convert it to " +
           "little-endian first, e.g. np.save(path, arr.astype('<" + kind + digits + "'))";
  }
  out->kind = kind;
  out->size = size;
  out->order = order;
  return "";
}

// A Python literal as it can appear in a .npy header.
struct Value {
  enum class Type { kString, kInt, kBool, kNone, kTuple, kList };
  Type type = Type::kNone;
  std::string text;
  int64_t number = 0;
  bool flag = false;
  std::vector<Value> items;
};

std::string repr(const Value& v) {
  switch (v.type) {
    case Value::Type::kString:
      return "'" + v.text + "'";
    case Value::Type::kInt:
      return std::to_string(v.number);
    case Value::Type::kBool:
      return v.flag ? "True" : "False";
    case Value::Type::kNone:
      return "None";
    case Value::Type::kTuple:
    case Value::Type::kList: {
      const bool tuple = v.type == Value::Type::kTuple;
      std::string s = tuple ? "(" : "[";
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) s += ", ";
        s += repr(v.items[i]);
      }
      if (tuple && v.items.size() == 1) s += ",";
      return s + (tuple ? ")" : "]");
    }
  }
  return "?";
}

// Shows the header in a message: printable, without the padding, and not too long.
std::string show_header(const std::string& text) {
  constexpr size_t kMax = 200;
  size_t end = text.find_last_not_of(" \t\r\n\f\v");
  end = end == std::string::npos ? 0 : end + 1;
  std::string s;
  for (size_t i = 0; i < end && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      s += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      s += buf;
    }
  }
  if (end > kMax) s += "...";
  return s;
}

// A recursive-descent reader for the subset of Python literal syntax numpy headers use: one dict
// of string keys whose values are strings, integers, True/False/None, tuples and lists.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

  std::vector<std::pair<std::string, Value>> parse_dict() {
    std::vector<std::pair<std::string, Value>> entries;
    skip_space();
    if (at_end()) error("the header is empty");
    if (peek() != '{') error("expected '{' to open the dictionary");
    ++pos_;
    skip_space();
    while (!at_end() && peek() != '}') {
      if (peek() != '\'' && peek() != '"') error("expected a string key");
      std::string key = parse_string();
      skip_space();
      if (at_end() || peek() != ':') error("expected ':' after key '" + key + "'");
      ++pos_;
      skip_space();
      Value value = parse_value(0);
      entries.emplace_back(std::move(key), std::move(value));
      skip_space();
      if (!at_end() && peek() == ',') {
        ++pos_;
        skip_space();
      } else if (at_end() || peek() != '}') {
        error("expected ',' or '}'");
      }
    }
    if (at_end()) error("the dictionary is not closed by '}'");
    ++pos_;
    skip_space();
    if (!at_end()) error("unexpected text after the dictionary");
    return entries;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_space() {
    while (!at_end() && std::strchr(" \t\r\n\f\v", peek()) != nullptr && peek() != '\0') ++pos_;
  }

  [[noreturn]] void error(const std::string& what) const {
    fail(path_, "malformed header: " + what + " at offset " + std::to_string(pos_) +
                    " in header \"" + show_header(text_) + "\"");
  }

  Value parse_value(int depth) {
    if (depth > kMaxNesting) error("values nested too deeply");
    if (at_end()) error("unexpected end of header, expected a value");
    const char c = peek();
    Value v;
    if (c == '\'' || c == '"') {
      v.type = Value::Type::kString;
      v.text = parse_string();
    } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
      v.type = Value::Type::kInt;
      v.number = parse_int();
    } else if (c == '_' || std::isalpha(static_cast<unsigned char>(c))) {
      const size_t start = pos_;
      while (!at_end() && (peek() == '_' || std::isalnum(static_cast<unsigned char>(peek())))) {
        ++pos_;
      }
      const std::string name = text_.substr(start, pos_ - start);
      if (name == "True" || name == "False") {
        v.type = Value::Type::kBool;
        v.flag = name == "True";
      } else if (name == "None") {
        v.type = Value::Type::kNone;
      } else {
        pos_ = start;
        error("unexpected name '" + name + "'");
      }
    } else if (c == '(' || c == '[') {
      const bool tuple = c == '(';
      const char close = tuple ? ')' : ']';
      ++pos_;
      skip_space();
      bool comma = false;
      while (!at_end() && peek() != close) {
        v.items.push_back(parse_value(depth + 1));
        skip_space();
        if (!at_end() && peek() == ',') {
          comma = true;
          ++pos_;
          skip_space();
        } else if (at_end() || peek() != close) {
          error(std::string("expected ',' or '") + close + "'");
        }
      }
      if (at_end()) error(std::string("missing '") + close + "'");
      ++pos_;
      // As in Python, "(3)" is just 3 in parentheses; only "(3,)" is a one-element tuple.
      if (tuple && v.items.size() == 1 && !comma) return std::move(v.items[0]);
      v.type = tuple ? Value::Type::kTuple : Value::Type::kList;
    } else {
      error(std::string("unexpected character '") + show_header(std::string(1, c)) + "'");
    }
    return v;
  }

  std::string parse_string() {
    const char quote = peek();
    const size_t start = ++pos_;
    while (!at_end() && peek() != quote) {
      // No key or descr numpy accepts contains these, so a header using them is rejected anyway;
      // refusing here avoids implementing Python's escape rules.
      if (peek() == '\\') error("escape sequences in strings are not supported");
      if (peek() == '\n') error("unterminated string");
      ++pos_;
    }
    if (at_end()) error("unterminated string");
    return text_.substr(start, pos_++ - start);
  }

  int64_t parse_int() {
    bool negative = false;
    if (peek() == '-' || peek() == '+') {
      negative = peek() == '-';
      ++pos_;
      skip_space();
    }
    if (at_end() || peek() < '0' || peek() > '9') error("expected digits");
    // Accumulated as a negative number so that INT64_MIN is representable.
    int64_t n = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      const int digit = peek() - '0';
      if (n < (std::numeric_limits<int64_t>::min() + digit) / 10) error("integer too large");
      n = n * 10 - digit;
      ++pos_;
    }
    // Headers written by numpy under Python 2 spell longs as "3L".
    if (!at_end() && (peek() == 'L' || peek() == 'l')) ++pos_;
    if (!at_end() &&
        (peek() == '.' || peek() == '_' || std::isalnum(static_cast<unsigned char>(peek())))) {
      error("invalid number (only integers are allowed here)");
    }
    if (!negative) {
      if (n == std::numeric_limits<int64_t>::min()) error("integer too large");
      n = -n;
    }
    return n;
  }

  const std::string& path_;
  const std::string& text_;
  size_t pos_ = 0;
};

template <typename T>
T read_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Product of the dimensions times item_size; false on overflow of size_t.
bool byte_count(const std::vector<int64_t>& shape, size_t item_size, size_t* out) {
  size_t n = item_size;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  *out = n;
  return true;
}

std::string format_index(const std::vector<int64_t>& shape, size_t flat) {
  std::string tail = "element " + std::to_string(flat);
  if (shape.size() < 2) return tail;
  std::vector<int64_t> index(shape.size());
  size_t rest = flat;
  for (size_t i = shape.size(); i-- > 0;) {
    index[i] = static_cast<int64_t>(rest % static_cast<size_t>(shape[i]));
    rest /= static_cast<size_t>(shape[i]);
  }
  tail += " (index [";
  for (size_t i = 0; i < index.size(); ++i) {
    if (i > 0) tail += ", ";
    tail += std::to_string(index[i]);
  }
  return tail + "])";
}

// The shortest decimal form that reads back as the same double, so messages show what the user
// wrote rather than 17 digits of binary noise.
std::string format_double(double v) {
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

template <typename T>
void save_typed(const std::string& path, const char* descr, const std::vector<T>& values,
                const std::vector<int64_t>& shape) {
  size_t count = 0;
  if (!byte_count(shape, 1, &count) || count != values.size()) {
    fail(path, "cannot save " + std::to_string(values.size()) + " values as an array of shape " +
                   format_shape(shape));
  }
  save(path, descr, shape, values.data(), values.size() * sizeof(T));
}

}  // namespace

size_t Array::count() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string format_shape(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::string dtype_name(const Array& array) {
  return type_name(array.kind, array.item_size);
}

std::string describe(const Array& array) {
  if (array.shape.empty()) return "0-d " + dtype_name(array) + " array";
  return dtype_name(array) + " array of shape " + format_shape(array.shape);
}

Array load(const std::string& path) {
  auto file = MappedFile::open(path, "npy file");
  Array array = load(file, path);
  // Reading the header mapped the file's first pages. A `value` array stays mapped until the
  // writer streams it (which maps its pages again, slice by slice): with thousands of small
  // files, the pages kept in between would cost a page or more each (48 MB for 8,066 arrays).
  file->release(0, file->size());
  return array;
}

Array load(std::shared_ptr<const MappedFile> file, const std::string& path) {
  const uint8_t* bytes = file->data();
  const size_t size = file->size();

  if (size < kMagicSize || std::memcmp(bytes, kMagic, kMagicSize) != 0) {
    if (size == 0) fail(path, "the file is empty, not a .npy file");
    if (size >= 4 && std::memcmp(bytes, "PK\x03\x04", 4) == 0) {
      fail(path, "this is a .npz archive (zip), not a .npy file; save each array with np.save");
    }
    fail(path, "not a .npy file (it does not start with the magic string \\x93NUMPY)");
  }
  if (size < kMagicSize + 2) fail(path, "truncated: the file ends inside the header");
  const int major = bytes[6];
  const int minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0) {
    fail(path, "unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  const size_t header_start = major == 1 ? 10 : 12;
  if (size < header_start) fail(path, "truncated: the file ends inside the header");
  const size_t header_len =
      major == 1 ? read_le<uint16_t>(bytes + 8) : static_cast<size_t>(read_le<uint32_t>(bytes + 8));
  if (header_len > size - header_start) {
    fail(path, "truncated: the header is " + std::to_string(header_len) + " bytes long but only " +
                   std::to_string(size - header_start) + " bytes follow");
  }
  const std::string header(reinterpret_cast<const char*>(bytes + header_start), header_len);

  const Value* descr = nullptr;
  const Value* fortran = nullptr;
  const Value* shape = nullptr;
  const auto entries = HeaderParser(path, header).parse_dict();
  for (const auto& [key, value] : entries) {
    const Value** slot = key == "descr"           ? &descr
                         : key == "fortran_order" ? &fortran
                         : key == "shape"         ? &shape
                                                  : nullptr;
    if (slot == nullptr) {
      fail(path, "header has unexpected key '" + key +
                     "' (expected exactly 'descr', 'fortran_order' and 'shape')");
    }
    if (*slot != nullptr) fail(path, "header has key '" + key + "' more than once");
    *slot = &value;
  }
  for (const auto& [name, slot] : {std::pair<const char*, const Value*>{"descr", descr},
                                   {"fortran_order", fortran},
                                   {"shape", shape}}) {
    if (slot == nullptr) fail(path, std::string("header has no '") + name + "' key");
  }

  Array a;
  a.path = path;
  if (descr->type == Value::Type::kList) {
    fail(path, "structured arrays (descr " + repr(*descr) +
                   ") are not supported; save a plain numeric array");
  }
  if (descr->type != Value::Type::kString) {
    fail(path, "'descr' must be a string, found " + repr(*descr));
  }
  Dtype dtype;
  const std::string why = parse_descr(descr->text, &dtype);
  if (!why.empty()) fail(path, why);
  a.descr = descr->text;
  a.kind = dtype.kind;
  a.item_size = dtype.size;

  if (fortran->type != Value::Type::kBool) {
    fail(path, "'fortran_order' must be True or False, found " + repr(*fortran));
  }
  if (fortran->flag) {
    fail(path,
         "Fortran-ordered arrays (fortran_order: True) are not supported; save a C-ordered copy, "
         "e.g. np.save(path, np.ascontiguousarray(arr))");
  }

  if (shape->type != Value::Type::kTuple) {
    fail(path, "'shape' must be a tuple of integers such as (3,) or (2, 3), found " + repr(*shape));
  }
  for (const Value& d : shape->items) {
    if (d.type != Value::Type::kInt) {
      fail(path, "'shape' must be a tuple of integers, found " + repr(*shape));
    }
    if (d.number < 0) {
      fail(path, "negative dimension " + std::to_string(d.number) + " in shape " + repr(*shape));
    }
    a.shape.push_back(d.number);
  }

  size_t expected = 0;
  if (!byte_count(a.shape, static_cast<size_t>(a.item_size), &expected)) {
    fail(path, "shape " + format_shape(a.shape) + " is too large");
  }
  const size_t data_start = header_start + header_len;
  const size_t found = size - data_start;
  if (found != expected) {
    std::string msg = "expected " + std::to_string(expected) + " bytes of data for " + describe(a) +
                      ", found " + std::to_string(found);
    if (found < expected) {
      msg = "truncated: " + msg;
    } else {
      msg += " (" + std::to_string(found - expected) + " trailing bytes after the array)";
    }
    fail(path, msg);
  }
  a.data = bytes + data_start;
  a.nbytes = found;
  a.storage = std::move(file);
  return a;
}

std::vector<float> to_float32(const Array& array) {
  if (array.kind != 'f') {
    fail(array.path,
         "expected a floating-point array (float16, float32 or float64), found " + describe(array));
  }
  const size_t n = array.count();
  std::vector<float> out(n);
  if (array.item_size == 4) {
    if (n > 0) std::memcpy(out.data(), array.data, n * sizeof(float));
  } else if (array.item_size == 2) {
    for (size_t i = 0; i < n; ++i) out[i] = half_to_float(read_le<uint16_t>(array.data + i * 2));
  } else {
    for (size_t i = 0; i < n; ++i) {
      const double d = read_le<double>(array.data + i * 8);
      const float f = static_cast<float>(d);
      if (std::isfinite(d) && std::isinf(f)) {
        fail(array.path, format_index(array.shape, i) + " is " + format_double(d) +
                             ", which overflows float32 (largest finite float32 is about 3.4e38)");
      }
      if (d != 0 && f == 0) {
        fail(array.path, format_index(array.shape, i) + " is " + format_double(d) +
                             ", which is too small for float32 and would become 0 (smallest "
                             "nonzero float32 is about 1.4e-45)");
      }
      out[i] = f;
    }
  }
  return out;
}

std::vector<int64_t> to_int64(const Array& array) {
  if (array.kind != 'i' && array.kind != 'u') {
    fail(array.path, "expected an integer array, found " + describe(array));
  }
  const size_t n = array.count();
  const int size = array.item_size;
  const bool is_signed = array.kind == 'i';
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = array.data + i * static_cast<size_t>(size);
    switch (size) {
      case 1:
        out[i] = is_signed ? read_le<int8_t>(p) : read_le<uint8_t>(p);
        break;
      case 2:
        out[i] = is_signed ? read_le<int16_t>(p) : read_le<uint16_t>(p);
        break;
      case 4:
        out[i] = is_signed ? static_cast<int64_t>(read_le<int32_t>(p)) : read_le<uint32_t>(p);
        break;
      default:
        if (is_signed) {
          out[i] = read_le<int64_t>(p);
        } else {
          const uint64_t u = read_le<uint64_t>(p);
          if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            fail(array.path, format_index(array.shape, i) + " is " + std::to_string(u) +
                                 ", which does not fit in int64");
          }
          out[i] = static_cast<int64_t>(u);
        }
    }
  }
  return out;
}

void save(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
          const void* data, size_t nbytes) {
  Dtype dtype;
  const std::string why = parse_descr(descr, &dtype);
  if (!why.empty()) fail(path, "cannot save: " + why);
  size_t expected = 0;
  if (!byte_count(shape, static_cast<size_t>(dtype.size), &expected)) {
    fail(path, "cannot save: invalid shape " + format_shape(shape));
  }
  if (expected != nbytes) {
    fail(path, "cannot save: shape " + format_shape(shape) + " of " +
                   type_name(dtype.kind, dtype.size) + " needs " + std::to_string(expected) +
                   " bytes, given " + std::to_string(nbytes));
  }

  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + format_shape(shape) + ", }";
  // Version 1.0 stores the header length in 16 bits; fall back to 2.0 only when it must.
  int major = 1;
  size_t prefix = 10;
  if (((header.size() + 1 + prefix + kAlignment - 1) / kAlignment * kAlignment) - prefix > 0xffff) {
    major = 2;
    prefix = 12;
  }
  const size_t unpadded = prefix + header.size() + 1;  // +1 for the final '\n'
  header.append((kAlignment - unpadded % kAlignment) % kAlignment, ' ');
  header.push_back('\n');

  std::string lead(kMagic, kMagicSize);
  lead.push_back(static_cast<char>(major));
  lead.push_back(0);
  const uint32_t len = static_cast<uint32_t>(header.size());
  for (size_t i = 0; i < prefix - 8; ++i)
    lead.push_back(static_cast<char>((len >> (8 * i)) & 0xff));

  AtomicFile out(path);
  out.write(lead.data(), lead.size());
  out.write(header.data(), header.size());
  out.write(data, nbytes);
  out.commit();
}

void save(const std::string& path, const std::vector<float>& values,
          const std::vector<int64_t>& shape) {
  save_typed(path, "<f4", values, shape);
}
void save(const std::string& path, const std::vector<int64_t>& values,
          const std::vector<int64_t>& shape) {
  save_typed(path, "<i8", values, shape);
}
void save(const std::string& path, const std::vector<int32_t>& values,
          const std::vector<int64_t>& shape) {
  save_typed(path, "<i4", values, shape);
}
void save(const std::string& path, const std::vector<int16_t>& values,
          const std::vector<int64_t>& shape) {
  save_typed(path, "<i2", values, shape);
}
void save(const std::string& path, const std::vector<int8_t>& values,
          const std::vector<int64_t>& shape) {
  save_typed(path, "|i1", values, shape);
}
void save(const std::string& path, const std::vector<uint8_t>& values,
          const std::vector<int64_t>& shape) {
  save_typed(path, "|u1", values, shape);
}

}  // namespace npy
}  // namespace qimplant
