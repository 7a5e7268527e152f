// The streaming writer: new bytes made slice by slice on several threads (the same bytes for any
// thread count and slice size), untouched buffers copied by the kernel or from the mapping (the
// same file either way), equal new buffers written once, and the progress line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "io/atomic_file.h"
#include "io/mapped_file.h"
#include "model/model_file.h"
#include "quant/pack4.h"
#include "quant/quantize.h"
#include "support/fixtures.h"
#include "util/error.h"
#include "util/progress.h"
#include "write/content_stream.h"
#include "write/model_writer.h"

namespace qimplant::test {
namespace {

// Deterministic floats in about [-1, 1], with exact halves of the scale mixed in so that the
// rounding of ties is exercised.
std::vector<float> make_floats(size_t n, float scale) {
  std::vector<float> v(n);
  uint32_t s = 12345;
  for (size_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    v[i] = i % 7 == 0 ? (static_cast<float>(i % 41) - 20.5f) * scale
                      : static_cast<float>(static_cast<int32_t>(s)) / 2147483648.0f;
  }
  return v;
}

std::vector<uint8_t> as_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

struct Case {
  const char* name;
  QType qtype;
  std::vector<int32_t> shape;
  size_t channels;  // 1: per-tensor
};

class ContentStreamTest : public ::testing::Test {
 protected:
  // Maps a file holding `floats`.
  std::shared_ptr<const MappedFile> map_floats(const std::vector<float>& floats) {
    const std::string path = dir.file("floats" + std::to_string(files++));
    write_bytes(path, as_bytes(floats));
    return MappedFile::open(path, "test");
  }

  static BufferContent recipe(const MappedFile& file, const Case& c) {
    QuantizeRecipe r;
    r.source = file.data();
    r.source_size = file.size();
    r.shape = c.shape;
    r.qtype = c.qtype;
    const bool is_unsigned = c.qtype == QType::UInt8 || c.qtype == QType::UInt4;
    for (size_t k = 0; k < c.channels; ++k) {
      r.quant.scale.push_back(0.01f * static_cast<float>(k + 1));
      r.quant.zero_point.push_back(is_unsigned ? 3 : 0);
    }
    r.context = "test tensor";
    BufferContent content;
    content.recipe = r;
    return content;
  }

  // The bytes stream() hands out, concatenated, with the size of every piece checked.
  static std::vector<uint8_t> streamed(ContentStreamer& s, const BufferContent& content,
                                       const MappedFile& file) {
    std::vector<uint8_t> out;
    s.stream(content, file, [&](const uint8_t* p, size_t n) { out.insert(out.end(), p, p + n); });
    EXPECT_EQ(out.size(), content.size());
    return out;
  }

  // What the whole-tensor quantizer gives (packed for 4-bit types).
  static std::vector<uint8_t> reference(const BufferContent& content) {
    const QuantizeRecipe& r = *content.recipe;
    size_t n = 1;
    for (int32_t d : r.shape) n *= static_cast<size_t>(d);
    std::vector<uint8_t> q(n * static_cast<size_t>(qtype_info(r.qtype).unpacked_size));
    EXPECT_LT(quantize_float32(r.source, r.shape, r.quant, r.qtype, r.rounding, q.data()), 0);
    if (!is_4bit(r.qtype)) return q;
    std::vector<uint8_t> packed((n + 1) / 2);
    pack_4bit(q.data(), n, packed.data());
    return packed;
  }

  ScratchDir dir;
  int files = 0;
};

TEST_F(ContentStreamTest, SameBytesForAnyThreadCountAndSliceSize) {
  // 600003 elements: more than two threads' minimum share, an odd row length (4-bit slices must
  // still start on a byte) and an odd total.
  const std::vector<Case> cases = {
      {"int8 per-channel", QType::Int8, {3, 200001}, 3},
      {"uint8 per-tensor", QType::UInt8, {3, 200001}, 1},
      {"int16 per-channel", QType::Int16, {3, 200001}, 3},
      {"int4 per-channel", QType::Int4, {3, 200001}, 3},
      {"uint4 per-tensor", QType::UInt4, {600003}, 1},
      {"int32 per-channel", QType::Int32, {3, 200001}, 3},
  };
  const auto file = map_floats(make_floats(600003, 0.01f));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const BufferContent content = recipe(*file, c);
    const std::vector<uint8_t> want = reference(content);
    for (unsigned threads : {1u, 2u, 3u}) {
      for (size_t slice : {size_t{7}, size_t{65536}, ContentStreamer::kSliceElements}) {
        SCOPED_TRACE("threads " + std::to_string(threads) + ", slice " + std::to_string(slice));
        ContentStreamer s(threads, slice);
        EXPECT_EQ(streamed(s, content, *file), want);
      }
    }
  }
}

TEST_F(ContentStreamTest, FirstNanIsReportedWhicheverThreadFindsIt) {
  std::vector<float> floats = make_floats(600000, 0.01f);
  floats[550000] = std::numeric_limits<float>::quiet_NaN();  // in the second thread's part
  floats[590000] = std::numeric_limits<float>::quiet_NaN();
  const auto late = map_floats(floats);
  floats[10] = std::numeric_limits<float>::quiet_NaN();  // now also in the first part
  const auto early = map_floats(floats);
  for (unsigned threads : {1u, 2u}) {
    ContentStreamer s(threads);
    const Case c{"int8", QType::Int8, {600000}, 1};
    for (const auto& [file, at] : {std::make_pair(late, "550000"), std::make_pair(early, "10")}) {
      try {
        streamed(s, recipe(*file, c), *file);
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("test tensor: the tensor's float data has NaN at "
                                             "element " +
                                             std::string(at) + ";"),
                  std::string::npos)
            << e.what();
      }
    }
  }
}

TEST_F(ContentStreamTest, ValueViewsAndOwnedBytesPassThrough) {
  ScratchDir d;
  std::vector<uint8_t> bytes(300001);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>((i * 7) & 0x0f);
  const std::string npy = d.file("v.npy");
  npy::save(npy, "|u1", {static_cast<int64_t>(bytes.size())}, bytes.data(), bytes.size());
  BufferContent view;
  view.view = npy::load(npy);
  ContentStreamer s(2, 1001);
  EXPECT_EQ(streamed(s, view, *view.view->storage), bytes);
  view.view_is_4bit = true;
  std::vector<uint8_t> packed((bytes.size() + 1) / 2);
  pack_4bit(bytes.data(), bytes.size(), packed.data());
  EXPECT_EQ(streamed(s, view, *view.view->storage), packed);
  BufferContent owned;
  owned.owned = {1, 2, 3};
  EXPECT_EQ(streamed(s, owned, *view.view->storage), owned.owned);
}

// A model with two big float32 constants (one read by two tensors) and a small int32 one.
class WriterStreamTest : public ::testing::TestWithParam<Format> {
 protected:
  void SetUp() override {
    ModelBuilder b(GetParam());
    const int32_t in = b.tensor("in", {1, 4});
    big_ = b.constant("w", {4, 150000}, make_floats(600000, 0.01f));
    const int32_t w2 = b.constant("w2", {4, 150000}, make_floats(600000, 0.02f));
    const int32_t w3 = b.tensor("w3", {4, 150000});
    b.share_buffer(w3, w2);
    b.constant_i32("shape", {2}, {4, 150000});
    const int32_t out = b.tensor("out", {1, 4});
    b.op(9 /* FULLY_CONNECTED */, {in, big_, -1}, {out});
    b.inputs({in});
    b.outputs({out});
    model_ = dir.file(std::string("in") + (GetParam() == Format::Circle ? ".circle" : ".tflite"));
    b.save(model_);
    input_ = ModelFile::open(model_);
  }

  // A plan that quantizes buffer `index` (a [4, 150000] float32 constant) to per-channel int8.
  BufferContent quantized(uint32_t index) const {
    const BufferInfo& b = input_->info().buffers.at(index);
    QuantizeRecipe r;
    r.source = b.data;
    r.source_size = b.size;
    r.shape = {4, 150000};
    r.quant.scale = {0.004f, 0.005f, 0.006f, 0.007f};
    r.quant.zero_point = {0, 0, 0, 0};
    r.context = "buffer " + std::to_string(index);
    BufferContent c;
    c.recipe = r;
    return c;
  }

  uint32_t buffer_of(const std::string& name) const {
    for (const TensorInfo& t : input_->info().subgraphs[0].tensors)
      if (t.name == name) return t.buffer;
    throw Error("no tensor " + name);
  }

  std::vector<uint8_t> write(const EditPlan& plan, BufferLayout layout, unsigned threads,
                             bool kernel_copy, const std::string& name) {
    WriteOptions o;
    o.buffers = layout;
    o.threads = threads;
    o.kernel_copy = kernel_copy;
    const std::string path = dir.file(name);
    const size_t n = write_model(*input_, plan, path, o);
    const std::vector<uint8_t> bytes = read_bytes(path);
    EXPECT_EQ(n, bytes.size());
    return bytes;
  }

  ScratchDir dir;
  std::string model_;
  std::unique_ptr<ModelFile> input_;
  int32_t big_ = 0;
};

TEST_P(WriterStreamTest, OutputIsTheSameForAnyThreadCount) {
  EditPlan plan;
  plan.buffers[buffer_of("w")] = quantized(buffer_of("w"));
  for (BufferLayout layout : {BufferLayout::Inline, BufferLayout::External}) {
    SCOPED_TRACE(buffer_layout_name(layout));
    const std::vector<uint8_t> one = write(plan, layout, 1, true, "t1");
    EXPECT_EQ(write(plan, layout, 2, true, "t2"), one);
    EXPECT_EQ(write(plan, layout, 3, true, "t3"), one);
    // And the bytes are the quantizer's.
    auto out = ModelFile::open(dir.file("t2"));
    const BufferInfo& b = out->info().buffers.at(buffer_of("w"));
    const BufferContent c = quantized(buffer_of("w"));
    std::vector<uint8_t> want(600000);
    ASSERT_LT(quantize_float32(c.recipe->source, c.recipe->shape, c.recipe->quant, QType::Int8,
                               Rounding::HalfToEven, want.data()),
              0);
    ASSERT_EQ(b.size, want.size());
    EXPECT_EQ(std::memcmp(b.data, want.data(), want.size()), 0);
  }
}

TEST_P(WriterStreamTest, KernelCopyAndPlainWritesGiveTheSameFile) {
  // Nothing edited: every buffer is copied, by copy_file_range or from the mapping.
  for (BufferLayout layout : {BufferLayout::Inline, BufferLayout::External}) {
    SCOPED_TRACE(buffer_layout_name(layout));
    const std::vector<uint8_t> kernel = write(EditPlan{}, layout, 0, true, "k");
    EXPECT_EQ(write(EditPlan{}, layout, 0, false, "p"), kernel);
    auto out = ModelFile::open(dir.file("k"));
    ASSERT_EQ(out->info().buffers.size(), input_->info().buffers.size());
    for (size_t i = 0; i < out->info().buffers.size(); ++i) {
      const BufferInfo &a = input_->info().buffers[i], &b = out->info().buffers[i];
      EXPECT_EQ(b.external, layout == BufferLayout::External && a.size > 0) << i;
      ASSERT_EQ(a.size, b.size) << i;
      if (a.size) {
        EXPECT_EQ(std::memcmp(a.data, b.data, a.size), 0) << i;
      }
    }
  }
  // Round trip: external back to inline gives the inline file again.
  auto external = ModelFile::open(dir.file("k"));
  WriteOptions o;
  o.buffers = BufferLayout::Inline;
  write_model(*external, EditPlan{}, dir.file("back"), o);
  EXPECT_EQ(read_bytes(dir.file("back")), write(EditPlan{}, BufferLayout::Inline, 0, true, "i"));
}

TEST_P(WriterStreamTest, CopiesFromAnotherFileSystem) {
  // /dev/shm is tmpfs: copy_file_range to the scratch directory's file system may be refused
  // (EXDEV), and the writer must then fall back to writing from the mapping.
  if (::access("/dev/shm", W_OK) != 0) GTEST_SKIP() << "no writable /dev/shm";
  const std::string shm = "/dev/shm/qimplant-write-stream-" + std::to_string(::getpid());
  write_bytes(shm, read_bytes(model_));
  auto on_shm = ModelFile::open(shm);
  ::unlink(shm.c_str());  // the mapping and the descriptor keep it alive
  for (BufferLayout layout : {BufferLayout::Inline, BufferLayout::External}) {
    WriteOptions o;
    o.buffers = layout;
    write_model(*on_shm, EditPlan{}, dir.file("from-shm"), o);
    EXPECT_EQ(read_bytes(dir.file("from-shm")), write(EditPlan{}, layout, 0, true, "here"));
  }
}

TEST_P(WriterStreamTest, EqualNewBuffersAreWrittenOnceInTheExternalLayout) {
  // w2's buffer is shared with the unlisted w3, so the planner gives w2 a new buffer; a second
  // new buffer with the same recipe (as two tensors quantized alike would get) shares its bytes.
  EditPlan plan;
  const uint32_t appended = static_cast<uint32_t>(input_->info().buffers.size());
  plan.buffers[appended] = quantized(buffer_of("w2"));
  plan.buffers[appended + 1] = quantized(buffer_of("w2"));
  plan.appended_buffers = 2;
  const std::vector<uint8_t> ext = write(plan, BufferLayout::External, 0, true, "dedup");
  auto out = ModelFile::open(dir.file("dedup"));
  const BufferInfo &a = out->info().buffers.at(appended), &b = out->info().buffers.at(appended + 1);
  EXPECT_TRUE(a.external);
  EXPECT_EQ(a.data, b.data) << "one block for both";
  ASSERT_EQ(a.size, 600000u);
  // The other buffers are all still there, and the file holds one copy of the new bytes.
  size_t data = 0;
  for (size_t i = 0; i < input_->info().buffers.size(); ++i) data += input_->info().buffers[i].size;
  EXPECT_LT(ext.size(), data + 600000 + 4096);
  // Inline, each buffer keeps its own vector.
  write(plan, BufferLayout::Inline, 0, true, "inline");
  auto in = ModelFile::open(dir.file("inline"));
  EXPECT_NE(in->info().buffers.at(appended).data, in->info().buffers.at(appended + 1).data);
  EXPECT_EQ(std::memcmp(in->info().buffers.at(appended).data,
                        in->info().buffers.at(appended + 1).data, 600000),
            0);
  EXPECT_EQ(std::memcmp(in->info().buffers.at(appended).data, a.data, 600000), 0);
}

INSTANTIATE_TEST_SUITE_P(Formats, WriterStreamTest,
                         ::testing::Values(Format::Circle, Format::TFLite), [](const auto& info) {
                           return info.param == Format::Circle ? "circle" : "tflite";
                         });

TEST(AtomicFileCopyTest, CopiesFromAFileAndReportsWhatItCouldNot) {
  ScratchDir d;
  std::vector<uint8_t> bytes(100000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 31);
  write_bytes(d.file("src"), bytes);
  auto src = MappedFile::open(d.file("src"), "test", /*keep_descriptor=*/true);
  ASSERT_GE(src->fd(), 0);
  EXPECT_EQ(MappedFile::open(d.file("src"), "test")->fd(), -1) << "closed unless kept";
  {
    AtomicFile f(d.file("dst"));
    f.write(bytes.data(), 10);
    EXPECT_EQ(f.copy_from(src->fd(), 10, bytes.size() - 10), bytes.size() - 10);
    f.commit();
  }
  EXPECT_EQ(read_bytes(d.file("dst")), bytes);
  // A pipe cannot be copied from by the kernel (or the copy ends at once): the caller is told.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[1]);
  AtomicFile f(d.file("dst2"));
  EXPECT_EQ(f.copy_from(pipe_fds[0], 0, 100), 0u);
  ::close(pipe_fds[0]);
}

TEST(MappedFileAdviceTest, PrefetchAndReadAheadAreHarmless) {
  ScratchDir d;
  std::vector<uint8_t> bytes(3 * 4096 + 17);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13);
  write_bytes(d.file("f"), bytes);
  auto f = MappedFile::open(d.file("f"), "test");
  f->prefetch(5, 5000);
  f->read_ahead(4000, 100000);    // past the end: clipped
  f->prefetch(bytes.size(), 10);  // at the end: nothing
  f->release(0, bytes.size());
  f->prefetch(0, SIZE_MAX);
  EXPECT_EQ(std::memcmp(f->data(), bytes.data(), bytes.size()), 0);
  auto empty_path = d.file("empty");
  write_bytes(empty_path, {});
  auto empty = MappedFile::open(empty_path, "test", /*keep_descriptor=*/true);
  empty->prefetch(0, 1);
  EXPECT_EQ(empty->fd(), -1) << "nothing mapped, nothing kept";
}

// Progress: what the line says, when it is drawn and that it is cleared.
std::string captured(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
  return s;
}

TEST(ProgressTest, DrawsRewritesAndClearsOneLine) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(f, std::chrono::seconds(0), std::chrono::seconds(0));
    p.set_total(3, uint64_t{5} << 20);
    p.update(1, uint64_t{1} << 20);
    p.update(3, uint64_t{5} << 20);
    p.finish();
    p.update(3, 0);  // after finish: nothing
  }
  const std::string a = Progress::line(1, 3, uint64_t{1} << 20, uint64_t{5} << 20);
  const std::string b = Progress::line(3, 3, uint64_t{5} << 20, uint64_t{5} << 20);
  EXPECT_EQ(a, "q-implant: 1/3 buffers, 1 / 5 MiB written");
  EXPECT_EQ(captured(f), "\r" + a + "\r" + b + "\r" + std::string(b.size(), ' ') + "\r");
  std::fclose(f);
}

TEST(ProgressTest, NothingBeforeTheDelayOrWithinTheInterval) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress late(f, std::chrono::hours(1), std::chrono::seconds(0));
    late.update(1, 1);
  }
  EXPECT_EQ(captured(f), "") << "a short run shows nothing, and nothing needs clearing";
  {
    Progress once(f, std::chrono::seconds(0), std::chrono::hours(1));
    once.update(1, 1);
    once.update(2, 2);  // within the interval: not drawn
  }
  const std::string first = Progress::line(1, 0, 1, 0);
  EXPECT_EQ(captured(f), "\r" + first + "\r" + std::string(first.size(), ' ') + "\r");
  Progress off;
  off.update(1, 1);
  EXPECT_FALSE(off.enabled());
  std::fclose(f);
}

// Through the binary: stderr is a file here (not a terminal), so only QIMPLANT_PROGRESS=1 shows
// the line, and --quiet wins over it.
class ProgressCliTest : public ::testing::Test {
 protected:
  std::string run(const std::string& env, const std::string& flags) {
    conv2d_model(Format::Circle).save(dir.file("in.circle"));
    const std::string q = write_qparams(dir.path(), conv2d_qparams());
    // In parentheses: run_command appends its own 2>&1.
    const std::string cmd = "(" + env + " '" + std::string(QIMPLANT_CLI) + "' " + flags + " '" +
                            dir.file("in.circle") + "' '" + q + "' '" + dir.file("out.circle") +
                            "' 2>'" + dir.file("err") + "' >/dev/null)";
    std::string ignored;
    EXPECT_EQ(run_command(cmd, &ignored), 0) << cmd;
    const auto b = read_bytes(dir.file("err"));
    return std::string(b.begin(), b.end());
  }
  ScratchDir dir;
};

TEST_F(ProgressCliTest, ShownOnlyWhenForcedAndNotQuiet) {
  const std::string forced = run("QIMPLANT_PROGRESS=1", "");
  EXPECT_NE(forced.find("\rq-implant: 0/"), std::string::npos) << forced;
  EXPECT_NE(forced.find(" buffers, "), std::string::npos) << forced;
  // Cleared: the last thing on the line is blanks then '\r'.
  const size_t last = forced.rfind('\r');
  ASSERT_NE(last, std::string::npos);
  const size_t before = forced.rfind('\r', last - 1);
  ASSERT_NE(before, std::string::npos);
  EXPECT_EQ(forced.substr(before + 1, last - before - 1).find_first_not_of(' '), std::string::npos)
      << forced;
  EXPECT_EQ(run("", "").find('\r'), std::string::npos) << "not a terminal: no progress";
  EXPECT_EQ(run("QIMPLANT_PROGRESS=1", "-q"), "") << "--quiet: nothing";
  EXPECT_EQ(run("QIMPLANT_PROGRESS=0", "").find('\r'), std::string::npos);
}

}  // namespace
}  // namespace qimplant::test
