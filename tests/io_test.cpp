// Tests for src/io: MappedFile, the .npy reader and writer, AtomicFile and same_file.
//
// Every error path is exercised and the important parts of its message (file, expected, found,
// the suggested fix) are checked, since those messages are what users see.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/atomic_file.h"
#include "io/mapped_file.h"
#include "io/npy.h"
#include "util/error.h"

namespace qimplant {
namespace {

// Files written by numpy 1.24 (np.save, or np.lib.format.write_array for other versions), kept
// as bytes so the tests check compatibility with numpy without needing Python.
// np.save of array([[ 1.5 , -2.  ,  3.  ],        [ 4.  ,  5.  ,  6.25]], dtype=float32)
const char kNumpyF4[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "
    "}                                                          \x0a\x00\x00\xc0\x3f\x00"
    "\x00\x00\xc0\x00\x00@@\x00\x00\x80@\x00\x00\xa0@\x00\x00\xc8@";
// np.save of array(-7)
const char kNumpyI8Scalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (), }   "
    "                                                           \x0a\xf9\xff\xff\xff\xff"
    "\xff\xff\xff";
// np.save of array([    1,     2, 65535], dtype=uint16) version=(2, 0)
const char kNumpyU2V2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<u2', 'fortran_order': False, 'shape': "
    "(3,), }                                                          \x0a\x01\x00\x02"
    "\x00\xff\xff";
// np.save of array([        -1,          0, 2147483647], dtype=int32) version=(3, 0)
const char kNumpyI4V3[] =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': "
    "(3,), }                                                          \x0a\xff\xff\xff"
    "\xff\x00\x00\x00\x00\xff\xff\xff\x7f";
// np.save of array([ 5.00e-01, -6.55e+04,       inf], dtype=float16)
const char kNumpyF2[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (3,), } "
    "                                                           \x0a\x00"
    "8\xff\xfb\x00"
    "|";
// np.save of array([[ 1.e-01],        [-1.e+30]])
const char kNumpyF8[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), "
    "}                                                          \x0a\x9a\x99\x99\x99\x99"
    "\x99\xb9\x3f\xea\x8c\xa0"
    "9Y>)\xc6";
// np.save of array([], shape=(0, 4), dtype=int8)
const char kNumpyEmpty[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (0, 4), "
    "}                                                          \x0a";

template <size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "message \"" << text << "\"\n  does not contain \"" << part << "\"";
}

::testing::AssertionResult StartsWith(const std::string& text, const std::string& prefix) {
  if (text.compare(0, prefix.size(), prefix) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "message \"" << text << "\"\n  does not start with \"" << prefix << "\"";
}

// The message of the qimplant::Error that `f` throws.
template <typename F>
std::string ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a qimplant::Error";
  return "";
}

template <typename T>
std::string Raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A .npy file with `header` taken as is (no padding added) followed by `data`.
std::string Npy(const std::string& header, const std::string& data, int major = 1, int minor = 0) {
  std::string s("\x93NUMPY", 6);
  s.push_back(static_cast<char>(major));
  s.push_back(static_cast<char>(minor));
  const uint32_t len = static_cast<uint32_t>(header.size());
  const int len_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < len_bytes; ++i) s.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  return s + header + data;
}

std::string Header(const std::string& descr, const std::string& shape,
                   const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

class IoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string base = ::testing::TempDir();
    if (base.empty() || base.back() != '/') base += '/';
    std::string templ = base + "qimplant-io-test-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    ASSERT_NE(::mkdtemp(buf.data()), nullptr) << std::strerror(errno);
    dir_ = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string p = Path(name);
    std::ofstream out(p, std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    EXPECT_TRUE(out.good()) << p;
    return p;
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // The message of loading a .npy file with these contents.
  std::string LoadError(const std::string& contents) {
    const std::string p = Write("bad.npy", contents);
    const std::string message = ErrorOf([&] { npy::load(p); });
    EXPECT_TRUE(StartsWith(message, "npy file '" + p + "': "));
    return message;
  }

  std::string dir_;
};

// ---------------------------------------------------------------------------------------------
// MappedFile

// Resident set size in kB of the mapping that starts at `start`, or -1 when /proc does not say.
long RssKb(const void* start) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long from = 0, to = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &from, &to) == 2) {
      inside = from == reinterpret_cast<uintptr_t>(start);
    } else if (inside && line.compare(0, 4, "Rss:") == 0) {
      return std::strtol(line.c_str() + 4, nullptr, 10);
    }
  }
  return -1;
}

using MappedFileTest = IoTest;

TEST_F(MappedFileTest, MapsWholeFile) {
  const std::string contents("hello\0world", 11);
  const std::string p = Write("a.bin", contents);
  auto file = MappedFile::open(p, "model");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->path(), p);
  ASSERT_EQ(file->size(), contents.size());
  EXPECT_EQ(std::memcmp(file->data(), contents.data(), contents.size()), 0);
}

TEST_F(MappedFileTest, EmptyFileHasNonNullData) {
  const std::string p = Write("empty.bin", "");
  auto file = MappedFile::open(p, "model");
  EXPECT_EQ(file->size(), 0u);
  ASSERT_NE(file->data(), nullptr);
  file->release(0, 100);  // nothing mapped, must not crash
}

TEST_F(MappedFileTest, MissingFile) {
  const std::string p = Path("x.circle");
  EXPECT_EQ(ErrorOf([&] { MappedFile::open(p, "model"); }),
            "model file '" + p + "': cannot open: No such file or directory");
}

TEST_F(MappedFileTest, WhatEndingInFileIsNotRepeated) {
  const std::string p = Path("x.npy");
  EXPECT_EQ(ErrorOf([&] { MappedFile::open(p, "npy file"); }),
            "npy file '" + p + "': cannot open: No such file or directory");
}

TEST_F(MappedFileTest, Directory) {
  EXPECT_EQ(ErrorOf([&] { MappedFile::open(dir_, "model"); }),
            "model file '" + dir_ + "': is a directory, not a file");
}

TEST_F(MappedFileTest, FifoIsRejectedWithoutBlocking) {
  const std::string p = Path("fifo");
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0) << std::strerror(errno);
  EXPECT_EQ(ErrorOf([&] { MappedFile::open(p, "model"); }),
            "model file '" + p + "': is not a regular file");
}

TEST_F(MappedFileTest, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  const std::string p = Write("secret.bin", "x");
  ASSERT_EQ(::chmod(p.c_str(), 0), 0);
  EXPECT_EQ(ErrorOf([&] { MappedFile::open(p, "model"); }),
            "model file '" + p + "': cannot open: Permission denied");
}

TEST_F(MappedFileTest, ReleaseDropsEveryPageTheRangeTouches) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const long page_kb = static_cast<long>(page / 1024);
  std::string contents(16 * page + 100, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7 + 3);
  const std::string p = Write("big.bin", contents);
  auto file = MappedFile::open(p, "model");
  // Volatile so that the reads, whose values nobody uses, are not optimized away.
  auto touch_all = [&] {
    const volatile uint8_t* bytes = file->data();
    for (size_t i = 0; i < file->size(); i += 64) (void)bytes[i];
  };

  touch_all();
  const long full = RssKb(file->data());
  if (full < 0) GTEST_SKIP() << "/proc/self/smaps does not show the mapping";
  EXPECT_EQ(full, 17 * page_kb);

  // [1, 2 * page + 1) touches pages 0, 1 and 2.
  file->release(1, 2 * page);
  EXPECT_EQ(RssKb(file->data()), full - 3 * page_kb);

  // A few bytes inside one page drop that page.
  touch_all();
  file->release(5 * page + 10, 20);
  EXPECT_EQ(RssKb(file->data()), full - page_kb);

  // Reaching the end of the file, the partial last page goes too.
  touch_all();
  file->release(15 * page, std::numeric_limits<size_t>::max());
  EXPECT_EQ(RssKb(file->data()), full - 2 * page_kb);

  file->release(0, file->size());
  EXPECT_EQ(RssKb(file->data()), 0);

  // Out-of-range requests are ignored.
  file->release(file->size(), 10);
  file->release(std::numeric_limits<size_t>::max(), std::numeric_limits<size_t>::max());

  // Released pages come back from the file unchanged.
  EXPECT_EQ(std::memcmp(file->data(), contents.data(), contents.size()), 0);
}

// A process may hold only about 65,000 mappings (vm.max_map_count); a qparam.json of 100,000
// tensors names more `value` files than that. Past a few thousand live mappings small files are
// read into memory: same bytes, no new mapping.
TEST_F(MappedFileTest, ManyOpenFilesStopMappingSmallOnes) {
  const std::string p = Write("small.bin", "abc");
  const std::string q = Write("other.bin", "hello");
  auto maps = [] {
    std::ifstream in("/proc/self/maps");
    return std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n');
  };
  std::vector<std::shared_ptr<const MappedFile>> held;
  for (int i = 0; i < 16384; ++i) held.push_back(MappedFile::open(p, "npy file"));
  const auto before = maps();
  auto file = MappedFile::open(q, "npy file");
  EXPECT_EQ(maps(), before);
  ASSERT_EQ(file->size(), 5u);
  EXPECT_EQ(std::memcmp(file->data(), "hello", 5), 0);
  EXPECT_EQ(file->path(), q);
  held.clear();
  // Below the limit files are mapped again.
  auto mapped = MappedFile::open(q, "npy file");
  EXPECT_EQ(std::memcmp(mapped->data(), "hello", 5), 0);
}

// ---------------------------------------------------------------------------------------------
// npy::load

using NpyLoadTest = IoTest;

TEST_F(NpyLoadTest, ReadsNumpyFloat32AndIsZeroCopy) {
  const std::string p = Write("f4.npy", bytes(kNumpyF4));
  const npy::Array a = npy::load(p);
  EXPECT_EQ(a.path, p);
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_EQ(a.kind, 'f');
  EXPECT_EQ(a.item_size, 4);
  EXPECT_FALSE(a.big_endian);
  EXPECT_FALSE(a.fortran_order);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.count(), 6u);
  EXPECT_EQ(a.nbytes, 24u);
  ASSERT_NE(a.storage, nullptr);
  EXPECT_EQ(a.storage->size(), sizeof(kNumpyF4) - 1);
  // The data is the tail of the mapping itself, not a copy.
  EXPECT_EQ(a.data, a.storage->data() + 128);
  EXPECT_EQ(a.data + a.nbytes, a.storage->data() + a.storage->size());
  EXPECT_EQ(npy::to_float32(a), (std::vector<float>{1.5f, -2, 3, 4, 5, 6.25f}));
  EXPECT_EQ(npy::describe(a), "float32 array of shape (2, 3)");
}

TEST_F(NpyLoadTest, ArrayOutlivesItsFileName) {
  const std::string p = Write("f4.npy", bytes(kNumpyF4));
  const npy::Array a = npy::load(p);
  ASSERT_EQ(::unlink(p.c_str()), 0);
  EXPECT_EQ(npy::to_float32(a)[5], 6.25f);
}

TEST_F(NpyLoadTest, ReadsNumpyScalar) {
  const npy::Array a = npy::load(Write("s.npy", bytes(kNumpyI8Scalar)));
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(a.count(), 1u);
  EXPECT_EQ(npy::to_int64(a), std::vector<int64_t>{-7});
  EXPECT_EQ(npy::describe(a), "0-d int64 array");
}

TEST_F(NpyLoadTest, ReadsNumpyVersion2) {
  const npy::Array a = npy::load(Write("v2.npy", bytes(kNumpyU2V2)));
  EXPECT_EQ(a.descr, "<u2");
  EXPECT_EQ(a.data - a.storage->data(), 128);
  EXPECT_EQ(npy::to_int64(a), (std::vector<int64_t>{1, 2, 65535}));
}

TEST_F(NpyLoadTest, ReadsNumpyVersion3) {
  const npy::Array a = npy::load(Write("v3.npy", bytes(kNumpyI4V3)));
  EXPECT_EQ(a.descr, "<i4");
  EXPECT_EQ(npy::to_int64(a), (std::vector<int64_t>{-1, 0, 2147483647}));
}

TEST_F(NpyLoadTest, ReadsNumpyFloat16AndFloat64) {
  const npy::Array h = npy::load(Write("f2.npy", bytes(kNumpyF2)));
  EXPECT_EQ(npy::dtype_name(h), "float16");
  EXPECT_EQ(npy::to_float32(h), (std::vector<float>{0.5f, -65504.0f, INFINITY}));
  const npy::Array d = npy::load(Write("f8.npy", bytes(kNumpyF8)));
  EXPECT_EQ(npy::describe(d), "float64 array of shape (2, 1)");
  EXPECT_EQ(npy::to_float32(d), (std::vector<float>{0.1f, -1e30f}));
}

TEST_F(NpyLoadTest, ReadsNumpyEmptyArray) {
  const npy::Array a = npy::load(Write("e.npy", bytes(kNumpyEmpty)));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.nbytes, 0u);
  EXPECT_NE(a.data, nullptr);
  EXPECT_TRUE(npy::to_int64(a).empty());
}

TEST_F(NpyLoadTest, HandBuiltVersion2WithLongHeader) {
  // A header longer than 65535 bytes only fits a 32-bit length field.
  std::string header = Header("<f4", "(2,)");
  header.append(70000, ' ');
  header.push_back('\n');
  const npy::Array a = npy::load(Write("v2.npy", Npy(header, Raw<float>({1, 2}), 2)));
  EXPECT_EQ(a.data - a.storage->data(), static_cast<ptrdiff_t>(12 + header.size()));
  EXPECT_EQ(npy::to_float32(a), (std::vector<float>{1, 2}));
}

TEST_F(NpyLoadTest, HandBuiltVersion3) {
  const npy::Array a =
      npy::load(Write("v3.npy", Npy(Header("<i2", "(1,)") + "\n", Raw<int16_t>({-300}), 3)));
  EXPECT_EQ(npy::to_int64(a), std::vector<int64_t>{-300});
}

struct HeaderCase {
  std::string header;
  std::vector<int64_t> shape;
};

class NpyHeaderVariantTest : public IoTest, public ::testing::WithParamInterface<HeaderCase> {};

TEST_P(NpyHeaderVariantTest, Parses) {
  const HeaderCase& c = GetParam();
  size_t count = 1;
  for (int64_t d : c.shape) count *= static_cast<size_t>(d);
  const std::vector<float> values(count, 2.5f);
  const npy::Array a = npy::load(Write("v.npy", Npy(c.header, Raw(values))));
  EXPECT_EQ(a.shape, c.shape);
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_EQ(npy::to_float32(a), values);
}

INSTANTIATE_TEST_SUITE_P(
    Headers, NpyHeaderVariantTest,
    ::testing::Values(
        HeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }      \n", {2, 3}},
        HeaderCase{"{\"shape\": (2, 3), \"descr\": \"<f4\", \"fortran_order\": False}", {2, 3}},
        HeaderCase{"{ 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , 'descr' : '<f4' , }",
                   {2, 3}},
        HeaderCase{"{'descr':'<f4','fortran_order':False,'shape':(2,3)}", {2, 3}},
        HeaderCase{"{'descr': '<f4',\n 'fortran_order': False,\n\t'shape': (2L, 3L), }\n", {2, 3}},
        HeaderCase{"\t{'descr': \"<f4\", 'shape': (), 'fortran_order': False,}\r\n", {}},
        HeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", {3}},
        HeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (+3,)}", {3}},
        HeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3)}", {1, 2, 3}},
        HeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': ((2), 0)}", {2, 0}}));

TEST_F(NpyLoadTest, ByteOrderVariants) {
  for (const char* descr : {"<i4", "=i4", "|i4", "i4"}) {
    const npy::Array a = npy::load(Write("o.npy", Npy(Header(descr, "(1,)"), Raw<int32_t>({-5}))));
    EXPECT_EQ(npy::to_int64(a), std::vector<int64_t>{-5}) << descr;
  }
  // For one-byte types byte order means nothing; numpy itself treats '>u1' as '|u1'.
  for (const char* descr : {"|u1", "<u1", "=u1", ">u1", "u1"}) {
    const npy::Array a = npy::load(Write("o.npy", Npy(Header(descr, "(1,)"), "\xc8")));
    EXPECT_EQ(npy::to_int64(a), std::vector<int64_t>{200}) << descr;
    EXPECT_FALSE(a.big_endian);
  }
}

TEST_F(NpyLoadTest, DtypeNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"|b1", "bool"},   {"|i1", "int8"},    {"<i2", "int16"},   {"<i4", "int32"},
      {"<i8", "int64"},  {"|u1", "uint8"},   {"<u2", "uint16"},  {"<u4", "uint32"},
      {"<u8", "uint64"}, {"<f2", "float16"}, {"<f4", "float32"}, {"<f8", "float64"}};
  for (const auto& [descr, name] : cases) {
    const int size = descr[2] - '0';
    const npy::Array a =
        npy::load(Write("t.npy", Npy(Header(descr, "(1,)"), std::string(size, '\0'))));
    EXPECT_EQ(npy::dtype_name(a), name);
    EXPECT_EQ(a.item_size, size);
    EXPECT_EQ(a.kind, descr[1]);
  }
}

TEST_F(NpyLoadTest, FormatShape) {
  EXPECT_EQ(npy::format_shape({}), "()");
  EXPECT_EQ(npy::format_shape({3}), "(3,)");
  EXPECT_EQ(npy::format_shape({1, 2, 3}), "(1, 2, 3)");
}

struct BadHeaderCase {
  std::string header;
  std::vector<std::string> message_parts;
};

class NpyBadHeaderTest : public IoTest, public ::testing::WithParamInterface<BadHeaderCase> {};

TEST_P(NpyBadHeaderTest, IsRejected) {
  const std::string message = LoadError(Npy(GetParam().header, std::string(8, '\0')));
  for (const std::string& part : GetParam().message_parts) EXPECT_TRUE(Contains(message, part));
}

std::string Nested(int depth) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(depth, '(') + "1" +
         std::string(depth, ')') + "}";
}

INSTANTIATE_TEST_SUITE_P(
    Headers, NpyBadHeaderTest,
    ::testing::Values(
        // Syntax.
        BadHeaderCase{"   \n", {"malformed header: the header is empty"}},
        BadHeaderCase{"['descr']", {"malformed header: expected '{' to open the dictionary"}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
                      {"malformed header: expected ',' or '}'"}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ",
                      {"the dictionary is not closed by '}'"}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
                      {"unexpected text after the dictionary at offset 56"}},
        BadHeaderCase{"{descr: '<f4'}", {"expected a string key at offset 1"}},
        BadHeaderCase{"{'descr' '<f4'}", {"expected ':' after key 'descr'"}},
        BadHeaderCase{"{'descr': '<f4}", {"unterminated string"}},
        BadHeaderCase{"{'descr': '<f4\n', 'fortran_order': False, 'shape': (2,)}",
                      {"unterminated string"}},
        BadHeaderCase{"{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2,)}",
                      {"escape sequences in strings are not supported"}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}",
                      {"unexpected name 'false'"}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}",
                      {"invalid number (only integers are allowed here)"}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                      {"integer too large"}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)\x01}",
                      {"expected ',' or '}'", "in header \"{'descr'", "(2,)\\x01}\""}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': {2}}",
                      {"unexpected character '{'"}},
        BadHeaderCase{Nested(40), {"values nested too deeply"}},
        BadHeaderCase{Nested(20),
                      {"'shape' must be a tuple of integers such as (3,) or (2, 3), "
                       "found 1"}},
        // Keys.
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
                      {"header has unexpected key 'extra' (expected exactly 'descr', "
                       "'fortran_order' and 'shape')"}},
        BadHeaderCase{"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
                      {"header has key 'descr' more than once"}},
        BadHeaderCase{"{'descr': '<f4', 'fortran_order': False}", {"header has no 'shape' key"}},
        BadHeaderCase{"{'shape': (2,), 'fortran_order': False}", {"header has no 'descr' key"}},
        BadHeaderCase{"{'descr': '<f4', 'shape': (2,)}", {"header has no 'fortran_order' key"}},
        // Shape.
        BadHeaderCase{Header("<f4", "(2)"),
                      {"'shape' must be a tuple of integers such as (3,) or (2, 3), found 2"}},
        BadHeaderCase{Header("<f4", "[2]"), {"'shape' must be a tuple", "found [2]"}},
        BadHeaderCase{Header("<f4", "None"), {"'shape' must be a tuple", "found None"}},
        BadHeaderCase{Header("<f4", "('2',)"),
                      {"'shape' must be a tuple of integers, found ('2',)"}},
        BadHeaderCase{Header("<f4", "(-1, 2)"), {"negative dimension -1 in shape (-1, 2)"}},
        BadHeaderCase{Header("<f8", "(4611686018427387904, 4)"),
                      {"shape (4611686018427387904, 4) is too large"}},
        // Order.
        BadHeaderCase{Header("<f4", "(2,)", "True"),
                      {"Fortran-ordered arrays (fortran_order: True) are not supported",
                       "np.save(path, np.ascontiguousarray(arr))"}},
        BadHeaderCase{Header("<f4", "(2,)", "0"),
                      {"'fortran_order' must be True or False, found 0"}},
        // Dtype.
        BadHeaderCase{
            Header(">f4", "(2,)"),
            {"big-endian data (descr '>f4') is not supported", "np.save(path, arr.astype('<f4'))"}},
        BadHeaderCase{Header(">i8", "(1,)"), {"arr.astype('<i8')"}},
        BadHeaderCase{Header("|O", "(2,)"), {"object arrays (descr '|O') are not supported"}},
        BadHeaderCase{Header("<U5", "(2,)"), {"string arrays (descr '<U5') are not supported"}},
        BadHeaderCase{Header("|S3", "(2,)"), {"string arrays (descr '|S3') are not supported"}},
        BadHeaderCase{Header("|V8", "(1,)"), {"raw void arrays (descr '|V8')"}},
        BadHeaderCase{Header("<M8[ns]", "(1,)"), {"datetime arrays (descr '<M8[ns]')"}},
        BadHeaderCase{Header("<c8", "(1,)"), {"complex arrays (descr '<c8') are not supported"}},
        BadHeaderCase{Header("<f16", "(1,)"),
                      {"unsupported dtype descr '<f16' (supported: bool, int8, int16, int32, "
                       "int64, uint8, uint16, uint32, uint64, float16, float32, float64)"}},
        BadHeaderCase{Header("<i3", "(1,)"), {"unsupported dtype descr '<i3'"}},
        BadHeaderCase{Header("<f04", "(1,)"), {"unsupported dtype descr '<f04'"}},
        BadHeaderCase{Header("|b2", "(1,)"), {"unsupported dtype descr '|b2'"}},
        BadHeaderCase{Header("<x4", "(1,)"), {"unsupported dtype descr '<x4'"}},
        BadHeaderCase{Header("<", "(1,)"), {"invalid dtype descr '<'"}},
        BadHeaderCase{"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}",
                      {"structured arrays (descr [('a', '<f4')]) are not supported"}},
        BadHeaderCase{"{'descr': 4, 'fortran_order': False, 'shape': (2,)}",
                      {"'descr' must be a string, found 4"}}));

TEST_F(NpyLoadTest, NulInHeaderIsRejected) {
  const std::string header("{'descr': \0'<f4', 'fortran_order': False, 'shape': (1,)}", 57);
  EXPECT_TRUE(Contains(LoadError(Npy(header, "")),
                       "malformed header: unexpected character '\\x00' at offset 10 in header "
                       "\"{'descr': \\x00'<f4'"));
}

TEST_F(NpyLoadTest, MissingFile) {
  const std::string p = Path("nope.npy");
  EXPECT_EQ(ErrorOf([&] { npy::load(p); }),
            "npy file '" + p + "': cannot open: No such file or directory");
}

TEST_F(NpyLoadTest, Directory) {
  EXPECT_EQ(ErrorOf([&] { npy::load(dir_); }),
            "npy file '" + dir_ + "': is a directory, not a file");
}

TEST_F(NpyLoadTest, NotNpy) {
  EXPECT_TRUE(Contains(LoadError(""), "the file is empty, not a .npy file"));
  EXPECT_TRUE(Contains(LoadError("\x93NUM"),
                       "not a .npy file (it does not start with the "
                       "magic string \\x93NUMPY)"));
  EXPECT_TRUE(Contains(LoadError("hello world, this is text"), "not a .npy file"));
  EXPECT_TRUE(Contains(LoadError(std::string("PK\x03\x04\x14\x00\x00\x00", 8)),
                       "this is a .npz archive (zip), not a .npy file"));
}

TEST_F(NpyLoadTest, TruncatedPreamble) {
  EXPECT_TRUE(Contains(LoadError("\x93NUMPY"), "truncated: the file ends inside the header"));
  EXPECT_TRUE(Contains(LoadError(std::string("\x93NUMPY\x01\x00\x05", 9)),
                       "truncated: the file ends inside the header"));
  EXPECT_TRUE(Contains(LoadError(std::string("\x93NUMPY\x02\x00\x05\x00\x00", 11)),
                       "truncated: the file ends inside the header"));
}

TEST_F(NpyLoadTest, UnsupportedVersion) {
  const std::string header = Header("<f4", "(1,)");
  EXPECT_TRUE(Contains(LoadError(Npy(header, "\0\0\0\0", 4)),
                       "unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)"));
  EXPECT_TRUE(
      Contains(LoadError(Npy(header, "\0\0\0\0", 1, 1)), "unsupported .npy format version 1.1"));
  EXPECT_TRUE(
      Contains(LoadError(Npy(header, "\0\0\0\0", 0)), "unsupported .npy format version 0.0"));
}

TEST_F(NpyLoadTest, HeaderLengthPastEndOfFile) {
  std::string file = Npy(Header("<f4", "(1,)"), "");
  file.resize(file.size() - 10);
  EXPECT_TRUE(Contains(LoadError(file),
                       "truncated: the header is 57 bytes long but only 47 "
                       "bytes follow"));
}

TEST_F(NpyLoadTest, TruncatedData) {
  const std::string data = Raw<float>({1, 2, 3, 4, 5});
  EXPECT_TRUE(Contains(LoadError(Npy(Header("<f4", "(2, 3)"), data)),
                       "truncated: expected 24 bytes of data for float32 array of shape (2, 3), "
                       "found 20"));
  EXPECT_TRUE(Contains(LoadError(Npy(Header("<i8", "()"), "")),
                       "truncated: expected 8 bytes of data for 0-d int64 array, found 0"));
}

TEST_F(NpyLoadTest, TrailingData) {
  const std::string data = Raw<float>({1, 2, 3, 4, 5, 6, 7});
  EXPECT_TRUE(Contains(LoadError(Npy(Header("<f4", "(2, 3)"), data)),
                       "expected 24 bytes of data for float32 array of shape (2, 3), found 28 "
                       "(4 trailing bytes after the array)"));
}

// ---------------------------------------------------------------------------------------------
// Conversions

using NpyConvertTest = IoTest;

// Independent of the implementation: the value of an IEEE binary16 bit pattern by its definition.
double HalfValue(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double v;
  if (exponent == 0x1f) {
    v = mantissa != 0 ? std::numeric_limits<double>::quiet_NaN()
                      : std::numeric_limits<double>::infinity();
  } else if (exponent == 0) {
    v = std::ldexp(mantissa, -24);
  } else {
    v = std::ldexp(1024 + mantissa, exponent - 25);
  }
  return (h & 0x8000) != 0 ? -v : v;
}

TEST_F(NpyConvertTest, Float16AllBitPatternsAreExact) {
  std::vector<uint16_t> halves(65536);
  for (size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<uint16_t>(i);
  const npy::Array a = npy::load(Write("h.npy", Npy(Header("<f2", "(65536,)"), Raw(halves))));
  const std::vector<float> f = npy::to_float32(a);
  ASSERT_EQ(f.size(), halves.size());
  for (size_t i = 0; i < halves.size(); ++i) {
    const double expected = HalfValue(halves[i]);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(f[i])) << "half 0x" << std::hex << i;
    } else {
      EXPECT_EQ(static_cast<double>(f[i]), expected) << "half 0x" << std::hex << i;
      EXPECT_EQ(std::signbit(f[i]), std::signbit(expected)) << "half 0x" << std::hex << i;
    }
  }
}

TEST_F(NpyConvertTest, Float16EdgeCases) {
  const std::vector<uint16_t> halves = {0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00,
                                        0x7bff, 0x7c00, 0xfc00, 0x7e00, 0xc000, 0x3555};
  const std::vector<float> f =
      npy::to_float32(npy::load(Write("h.npy", Npy(Header("<f2", "(12,)"), Raw(halves)))));
  EXPECT_EQ(f[0], 0.0f);
  EXPECT_FALSE(std::signbit(f[0]));
  EXPECT_EQ(f[1], 0.0f);
  EXPECT_TRUE(std::signbit(f[1]));
  EXPECT_EQ(f[2], std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(f[3], std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(f[4], std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(f[5], 1.0f);
  EXPECT_EQ(f[6], 65504.0f);
  EXPECT_EQ(f[7], std::numeric_limits<float>::infinity());
  EXPECT_EQ(f[8], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f[9]));
  EXPECT_EQ(f[10], -2.0f);
  EXPECT_EQ(f[11], 0.333251953125f);
}

TEST_F(NpyConvertTest, Float64InRangeIncludingInfNanAndSubnormalResults) {
  const double flt_max = std::numeric_limits<float>::max();
  const std::vector<double> values = {0.1, -0.0, flt_max, -flt_max,
                                      // Above FLT_MAX but nearer to it than to inf.
                                      flt_max + std::ldexp(1.0, 102),
                                      1e-40,  // a float32 subnormal: precision lost, not zero
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::quiet_NaN()};
  const std::vector<float> f =
      npy::to_float32(npy::load(Write("d.npy", Npy(Header("<f8", "(9,)"), Raw(values)))));
  EXPECT_EQ(f[0], 0.1f);
  EXPECT_TRUE(std::signbit(f[1]));
  EXPECT_EQ(f[2], std::numeric_limits<float>::max());
  EXPECT_EQ(f[3], -std::numeric_limits<float>::max());
  EXPECT_EQ(f[4], std::numeric_limits<float>::max());
  EXPECT_EQ(f[5], 1e-40f);
  EXPECT_GT(f[5], 0.0f);
  EXPECT_EQ(f[6], std::numeric_limits<float>::infinity());
  EXPECT_EQ(f[7], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f[8]));
}

TEST_F(NpyConvertTest, Float64OverflowNamesTheElement) {
  const std::string p = Write("d.npy", Npy(Header("<f8", "(3,)"), Raw<double>({1, 1e300, 2})));
  const npy::Array a = npy::load(p);
  EXPECT_EQ(ErrorOf([&] { npy::to_float32(a); }),
            "npy file '" + p +
                "': element 1 is 1e+300, which overflows float32 (largest finite "
                "float32 is about 3.4e38)");
}

TEST_F(NpyConvertTest, Float64HalfwayAboveFloat32MaxOverflows) {
  // Exactly halfway between FLT_MAX and the next (infinite) step rounds to even, i.e. to inf.
  const double halfway = std::numeric_limits<float>::max() + std::ldexp(1.0, 103);
  const std::string p = Write("d.npy", Npy(Header("<f8", "()"), Raw<double>({halfway})));
  EXPECT_TRUE(StartsWith(ErrorOf([&] { npy::to_float32(npy::load(p)); }),
                         "npy file '" + p +
                             "': element 0 is 3.4028235677973366e+38, which "
                             "overflows float32"));
}

TEST_F(NpyConvertTest, Float64OverflowIn2dArrayGivesTheIndex) {
  const std::string p =
      Write("d.npy", Npy(Header("<f8", "(2, 3)"), Raw<double>({1, 2, 3, 4, 5, -3.5e38})));
  const std::string message = ErrorOf([&] { npy::to_float32(npy::load(p)); });
  EXPECT_TRUE(StartsWith(message, "npy file '" + p +
                                      "': element 5 (index [1, 2]) is -3.5e+38, "
                                      "which overflows float32"));
}

TEST_F(NpyConvertTest, Float64UnderflowToZeroIsAnError) {
  const std::string p = Write("d.npy", Npy(Header("<f8", "(2,)"), Raw<double>({0.0, 1e-50})));
  EXPECT_EQ(ErrorOf([&] { npy::to_float32(npy::load(p)); }),
            "npy file '" + p +
                "': element 1 is 1e-50, which is too small for float32 and would "
                "become 0 (smallest nonzero float32 is about 1.4e-45)");
}

TEST_F(NpyConvertTest, ToFloat32RejectsNonFloat) {
  const std::string p = Write("i.npy", Npy(Header("<i8", "(2,)"), Raw<int64_t>({1, 2})));
  EXPECT_EQ(ErrorOf([&] { npy::to_float32(npy::load(p)); }),
            "npy file '" + p +
                "': expected a floating-point array (float16, float32 or float64), "
                "found int64 array of shape (2,)");
  const std::string b = Write("b.npy", Npy(Header("|b1", "()"), "\x01"));
  EXPECT_TRUE(Contains(ErrorOf([&] { npy::to_float32(npy::load(b)); }), "found 0-d bool array"));
}

TEST_F(NpyConvertTest, ToInt64AllIntegerTypes) {
  auto load = [&](const std::string& descr, const std::string& raw, size_t n) {
    return npy::to_int64(
        npy::load(Write("i.npy", Npy(Header(descr, "(" + std::to_string(n) + ",)"), raw))));
  };
  EXPECT_EQ(load("|i1", Raw<int8_t>({-128, 127}), 2), (std::vector<int64_t>{-128, 127}));
  EXPECT_EQ(load("<i2", Raw<int16_t>({-32768, 32767}), 2), (std::vector<int64_t>{-32768, 32767}));
  EXPECT_EQ(load("<i4", Raw<int32_t>({INT32_MIN, INT32_MAX}), 2),
            (std::vector<int64_t>{INT32_MIN, INT32_MAX}));
  EXPECT_EQ(load("<i8", Raw<int64_t>({INT64_MIN, INT64_MAX}), 2),
            (std::vector<int64_t>{INT64_MIN, INT64_MAX}));
  EXPECT_EQ(load("|u1", Raw<uint8_t>({0, 255}), 2), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(load("<u2", Raw<uint16_t>({0, 65535}), 2), (std::vector<int64_t>{0, 65535}));
  EXPECT_EQ(load("<u4", Raw<uint32_t>({0, UINT32_MAX}), 2),
            (std::vector<int64_t>{0, int64_t{UINT32_MAX}}));
  EXPECT_EQ(load("<u8", Raw<uint64_t>({0, uint64_t{INT64_MAX}}), 2),
            (std::vector<int64_t>{0, INT64_MAX}));
}

TEST_F(NpyConvertTest, ToInt64ReadsUnalignedData) {
  // A 9-byte header puts the data at offset 19, misaligned for int64.
  const npy::Array a = npy::load(Write(
      "u.npy", Npy("{'descr':'<i8','fortran_order':False,'shape':(2,)}", Raw<int64_t>({-3, 7}))));
  ASSERT_NE(reinterpret_cast<uintptr_t>(a.data) % 8, 0u);
  EXPECT_EQ(npy::to_int64(a), (std::vector<int64_t>{-3, 7}));
}

TEST_F(NpyConvertTest, Uint64AboveInt64MaxIsAnError) {
  const std::string p = Write(
      "u.npy",
      Npy(Header("<u8", "(2, 2)"), Raw<uint64_t>({1, 2, 3, std::numeric_limits<uint64_t>::max()})));
  EXPECT_EQ(ErrorOf([&] { npy::to_int64(npy::load(p)); }),
            "npy file '" + p +
                "': element 3 (index [1, 1]) is 18446744073709551615, which does "
                "not fit in int64");
  const std::string q =
      Write("v.npy", Npy(Header("<u8", "(1,)"), Raw<uint64_t>({uint64_t{INT64_MAX} + 1})));
  EXPECT_EQ(ErrorOf([&] { npy::to_int64(npy::load(q)); }),
            "npy file '" + q + "': element 0 is 9223372036854775808, which does not fit in int64");
}

TEST_F(NpyConvertTest, ToInt64RejectsBoolAndFloat) {
  const std::string b = Write("b.npy", Npy(Header("|b1", "(2,)"), std::string("\x01\x00", 2)));
  EXPECT_EQ(ErrorOf([&] { npy::to_int64(npy::load(b)); }),
            "npy file '" + b + "': expected an integer array, found bool array of shape (2,)");
  const std::string f = Write("f.npy", bytes(kNumpyF4));
  EXPECT_EQ(ErrorOf([&] { npy::to_int64(npy::load(f)); }),
            "npy file '" + f + "': expected an integer array, found float32 array of shape (2, 3)");
}

// ---------------------------------------------------------------------------------------------
// npy::save

using NpySaveTest = IoTest;

TEST_F(NpySaveTest, WritesExactlyWhatNumpyWrites) {
  const std::string a = Path("a.npy");
  npy::save(a, std::vector<float>{1.5f, -2, 3, 4, 5, 6.25f}, {2, 3});
  EXPECT_EQ(Read(a), bytes(kNumpyF4));
  const std::string b = Path("b.npy");
  npy::save(b, std::vector<int64_t>{-7}, {});
  EXPECT_EQ(Read(b), bytes(kNumpyI8Scalar));
  const std::string c = Path("c.npy");
  npy::save(c, std::vector<int8_t>{}, {0, 4});
  EXPECT_EQ(Read(c), bytes(kNumpyEmpty));
  const std::string d = Path("d.npy");
  npy::save(d, "<f2", {3}, "\x00\x38\xff\xfb\x00\x7c", 6);
  EXPECT_EQ(Read(d), bytes(kNumpyF2));
}

template <typename T>
void ExpectRoundTrip(const std::string& path, const std::vector<T>& values,
                     const std::vector<int64_t>& shape, const std::string& descr) {
  npy::save(path, values, shape);
  const npy::Array a = npy::load(path);
  EXPECT_EQ(a.descr, descr);
  EXPECT_EQ(a.shape, shape);
  EXPECT_EQ(a.item_size, static_cast<int>(sizeof(T)));
  EXPECT_EQ((a.data - a.storage->data()) % 64, 0) << "data not aligned to 64 bytes";
  ASSERT_EQ(a.nbytes, values.size() * sizeof(T));
  std::vector<T> back(values.size());
  if (!back.empty()) std::memcpy(back.data(), a.data, a.nbytes);
  EXPECT_EQ(back, values);
}

TEST_F(NpySaveTest, RoundTripEveryTypedOverload) {
  ExpectRoundTrip<float>(Path("f.npy"), {0.5f, -1e-30f, 3e38f, -0.0f, 7, 8}, {3, 2}, "<f4");
  ExpectRoundTrip<int64_t>(Path("l.npy"), {INT64_MIN, -1, INT64_MAX}, {3}, "<i8");
  ExpectRoundTrip<int32_t>(Path("i.npy"), {INT32_MIN, 0, INT32_MAX, 5}, {1, 2, 2}, "<i4");
  ExpectRoundTrip<int16_t>(Path("s.npy"), {-32768, 32767}, {2, 1}, "<i2");
  ExpectRoundTrip<int8_t>(Path("b.npy"), {-128}, {}, "|i1");
  ExpectRoundTrip<uint8_t>(Path("u.npy"), {0, 128, 255}, {3}, "|u1");
  ExpectRoundTrip<uint8_t>(Path("e.npy"), {}, {2, 0}, "|u1");
  EXPECT_EQ(npy::to_int64(npy::load(Path("l.npy"))),
            (std::vector<int64_t>{INT64_MIN, -1, INT64_MAX}));
  EXPECT_EQ(npy::to_int64(npy::load(Path("u.npy"))), (std::vector<int64_t>{0, 128, 255}));
}

TEST_F(NpySaveTest, GenericSaveOtherDtypes) {
  const std::string p = Path("g.npy");
  const std::vector<double> d = {1e-300, 2};
  npy::save(p, "<f8", {2}, d.data(), 16);
  EXPECT_EQ(npy::load(p).descr, "<f8");
  const std::vector<uint64_t> u = {uint64_t{1} << 63};
  npy::save(p, "<u8", {1}, u.data(), 8);
  EXPECT_TRUE(Contains(ErrorOf([&] { npy::to_int64(npy::load(p)); }), "does not fit in int64"));
}

TEST_F(NpySaveTest, HugeHeaderFallsBackToVersion2) {
  const std::vector<int64_t> shape(30000, 1);
  const std::string p = Path("v2.npy");
  npy::save(p, std::vector<float>{4.5f}, shape);
  EXPECT_EQ(Read(p)[6], '\x02');
  const npy::Array a = npy::load(p);
  EXPECT_EQ(a.shape, shape);
  EXPECT_EQ((a.data - a.storage->data()) % 64, 0);
  EXPECT_EQ(npy::to_float32(a), std::vector<float>{4.5f});
}

TEST_F(NpySaveTest, Errors) {
  const std::string p = Path("x.npy");
  EXPECT_EQ(ErrorOf([&] {
              npy::save(p, std::vector<float>{1, 2, 3, 4, 5}, {2, 3});
            }),
            "npy file '" + p + "': cannot save 5 values as an array of shape (2, 3)");
  EXPECT_EQ(ErrorOf([&] {
              npy::save(p, "<f4", {2, 3}, "", 20);
            }),
            "npy file '" + p + "': cannot save: shape (2, 3) of float32 needs 24 bytes, given 20");
  EXPECT_TRUE(StartsWith(ErrorOf([&] { npy::save(p, ">f4", {1}, "abcd", 4); }),
                         "npy file '" + p + "': cannot save: big-endian data (descr '>f4')"));
  EXPECT_TRUE(StartsWith(ErrorOf([&] { npy::save(p, "|O", {1}, "abcdefgh", 8); }),
                         "npy file '" + p + "': cannot save: object arrays"));
  EXPECT_EQ(ErrorOf([&] { npy::save(p, "<f4", {-1}, "", 0); }),
            "npy file '" + p + "': cannot save: invalid shape (-1,)");
  EXPECT_TRUE(Entries().empty());

  const std::string missing = Path("no/such/dir/x.npy");
  EXPECT_EQ(ErrorOf([&] { npy::save(missing, std::vector<float>{1}, {1}); }),
            "output file '" + missing + "': cannot create a temporary file in '" +
                Path("no/such/dir") + "': No such file or directory");
}

// ---------------------------------------------------------------------------------------------
// AtomicFile

// These tests look at the named temporary file, so they take the fallback that O_TMPFILE file
// systems skip (AtomicFileUnnamedTest covers the unnamed file).
class AtomicFileTest : public IoTest {
 protected:
  void SetUp() override {
    IoTest::SetUp();
    ::setenv("QIMPLANT_TEST_NO_TMPFILE", "1", 1);
  }
  void TearDown() override {
    ::unsetenv("QIMPLANT_TEST_NO_TMPFILE");
    IoTest::TearDown();
  }
};
using AtomicFileUnnamedTest = IoTest;

// Where the directory supports O_TMPFILE, nothing has a name until commit.
TEST_F(AtomicFileUnnamedTest, NoNameOnDiskUntilCommit) {
  const std::string p = Path("out.bin");
  {
    AtomicFile f(p);
    f.write("partial", 7);
    const auto entries = Entries();
    if (!entries.empty()) GTEST_SKIP() << "no O_TMPFILE in " << Path("");
  }
  EXPECT_TRUE(Entries().empty());
  {
    AtomicFile f(p);
    f.write("complete", 8);
    f.commit();
  }
  EXPECT_EQ(Entries(), std::vector<std::string>{"out.bin"});
  std::ifstream in(p, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "complete");
}

class UmaskScope {
 public:
  explicit UmaskScope(mode_t mask) : saved_(::umask(mask)) {}
  ~UmaskScope() { ::umask(saved_); }

 private:
  mode_t saved_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(AtomicFileTest, CommitPublishesCompleteFile) {
  UmaskScope umask(022);
  const std::string p = Path("out.circle");
  {
    AtomicFile f(p);
    EXPECT_EQ(f.final_path(), p);
    EXPECT_TRUE(StartsWith(f.temp_path(), Path(".out.circle.tmp-")));
    EXPECT_EQ(f.temp_path().size(), Path(".out.circle.tmp-XXXXXX").size());
    EXPECT_GE(f.fd(), 0);
    f.write("hello ", 6);
    ASSERT_EQ(::write(f.fd(), "wor", 3), 3);
    f.write("ld", 2);
    EXPECT_FALSE(std::filesystem::exists(p)) << "visible before commit";
    f.commit();
    EXPECT_EQ(f.fd(), -1);
  }
  EXPECT_EQ(Read(p), "hello world");
  EXPECT_EQ(ModeOf(p), 0644u);
  EXPECT_EQ(Entries(), std::vector<std::string>{"out.circle"});
}

TEST_F(AtomicFileTest, ModeFollowsUmask) {
  UmaskScope umask(027);
  const std::string p = Path("out.bin");
  AtomicFile f(p);
  f.commit();
  EXPECT_EQ(ModeOf(p), 0640u);
  EXPECT_EQ(Read(p), "");
}

TEST_F(AtomicFileTest, CommitReplacesExistingFile) {
  const std::string p = Write("out.bin", "old contents");
  AtomicFile f(p);
  f.write("new", 3);
  EXPECT_EQ(Read(p), "old contents");
  f.commit();
  EXPECT_EQ(Read(p), "new");
  EXPECT_EQ(Entries(), std::vector<std::string>{"out.bin"});
}

TEST_F(AtomicFileTest, AbandonLeavesNothingBehind) {
  const std::string p = Path("out.bin");
  {
    AtomicFile f(p);
    f.write("partial", 7);
    EXPECT_TRUE(std::filesystem::exists(f.temp_path()));
  }
  EXPECT_FALSE(std::filesystem::exists(p));
  EXPECT_TRUE(Entries().empty());
}

TEST_F(AtomicFileTest, AbandonKeepsExistingFile) {
  const std::string p = Write("out.bin", "old");
  {
    AtomicFile f(p);
    f.write("new", 3);
  }
  EXPECT_EQ(Read(p), "old");
  EXPECT_EQ(Entries(), std::vector<std::string>{"out.bin"});
}

TEST_F(AtomicFileTest, AbandonDuringException) {
  const std::string p = Path("out.bin");
  try {
    AtomicFile f(p);
    f.write("x", 1);
    throw Error("writer failed");
  } catch (const Error&) {
  }
  EXPECT_TRUE(Entries().empty());
}

TEST_F(AtomicFileTest, MissingDirectory) {
  const std::string p = Path("missing/out.bin");
  EXPECT_EQ(ErrorOf([&] { AtomicFile f(p); }),
            "output file '" + p + "': cannot create a temporary file in '" + Path("missing") +
                "': No such file or directory");
}

TEST_F(AtomicFileTest, NotAFileName) {
  const std::string p = dir_ + "/";
  EXPECT_EQ(ErrorOf([&] { AtomicFile f(p); }), "output file '" + p + "': not a file name");
  EXPECT_EQ(ErrorOf([&] { AtomicFile f(dir_ + "/.."); }),
            "output file '" + dir_ + "/..': not a file name");
}

TEST_F(AtomicFileTest, FinalPathIsADirectory) {
  const std::string p = Path("sub");
  ASSERT_EQ(::mkdir(p.c_str(), 0755), 0);
  {
    AtomicFile f(p);
    f.write("x", 1);
    const std::string message = ErrorOf([&] { f.commit(); });
    EXPECT_TRUE(StartsWith(message, "output file '" + p + "': cannot rename '" + f.temp_path() +
                                        "' to it: Is a directory"));
  }
  EXPECT_EQ(Entries(), std::vector<std::string>{"sub"});
  EXPECT_TRUE(std::filesystem::is_empty(p));
}

TEST_F(AtomicFileTest, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write any directory";
  const std::string sub = Path("ro");
  ASSERT_EQ(::mkdir(sub.c_str(), 0555), 0);
  const std::string p = sub + "/out.bin";
  EXPECT_EQ(ErrorOf([&] { AtomicFile f(p); }), "output file '" + p +
                                                   "': cannot create a temporary file in '" + sub +
                                                   "': Permission denied");
}

// A file size limit makes write(2) fail with EFBIG after a partial write: the closest portable
// stand-in for a full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) : old_handler_(std::signal(SIGXFSZ, SIG_IGN)) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    struct rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit saved_;
  void (*old_handler_)(int);
};

TEST_F(AtomicFileTest, WriteErrorNamesOutputAndLeavesNothingBehind) {
  const std::string p = Path("big.bin");
  {
    FileSizeLimit limit(4096);
    AtomicFile f(p);
    const std::string chunk(10000, 'x');
    EXPECT_EQ(ErrorOf([&] { f.write(chunk.data(), chunk.size()); }),
              "output file '" + p + "': cannot write: File too large");
  }
  EXPECT_TRUE(Entries().empty());
}

TEST_F(AtomicFileTest, NpySaveWriteErrorLeavesNothingBehind) {
  const std::string p = Path("big.npy");
  {
    FileSizeLimit limit(4096);
    EXPECT_EQ(ErrorOf([&] { npy::save(p, std::vector<float>(5000, 1.0f), {5000}); }),
              "output file '" + p + "': cannot write: File too large");
  }
  EXPECT_TRUE(Entries().empty());
}

TEST_F(AtomicFileTest, MisuseAfterCommit) {
  AtomicFile f(Path("out.bin"));
  f.commit();
  EXPECT_THROW(f.write("x", 1), std::logic_error);
  EXPECT_THROW(f.commit(), std::logic_error);
}

TEST_F(AtomicFileTest, SymlinkAtFinalPathIsReplacedNotFollowed) {
  const std::string target = Write("target.bin", "target");
  const std::string link = Path("link.bin");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  AtomicFile f(link);
  f.write("new", 3);
  f.commit();
  EXPECT_EQ(Read(target), "target");
  EXPECT_EQ(Read(link), "new");
  EXPECT_FALSE(std::filesystem::is_symlink(link));
}

// ---------------------------------------------------------------------------------------------
// same_file

using SameFileTest = IoTest;

TEST_F(SameFileTest, DetectsAliases) {
  const std::string a = Write("a.bin", "a");
  const std::string b = Write("b.bin", "a");
  const std::string sym = Path("sym.bin");
  const std::string hard = Path("hard.bin");
  ASSERT_EQ(::symlink(a.c_str(), sym.c_str()), 0);
  ASSERT_EQ(::link(a.c_str(), hard.c_str()), 0);
  EXPECT_TRUE(same_file(a, a));
  EXPECT_TRUE(same_file(a, dir_ + "/./a.bin"));
  EXPECT_TRUE(same_file(a, sym));
  EXPECT_TRUE(same_file(sym, a));
  EXPECT_TRUE(same_file(a, hard));
  EXPECT_TRUE(same_file(sym, hard));
  EXPECT_FALSE(same_file(a, b));  // same contents, different files
}

TEST_F(SameFileTest, MissingFilesAreNeverTheSame) {
  const std::string a = Write("a.bin", "a");
  const std::string missing = Path("missing.bin");
  EXPECT_FALSE(same_file(a, missing));
  EXPECT_FALSE(same_file(missing, a));
  EXPECT_FALSE(same_file(missing, missing));
  const std::string dangling = Path("dangling");
  ASSERT_EQ(::symlink(missing.c_str(), dangling.c_str()), 0);
  EXPECT_FALSE(same_file(dangling, dangling));
}

}  // namespace
}  // namespace qimplant
