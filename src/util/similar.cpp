#include "util/similar.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace qimplant {

namespace {

// Every byte that is not an ASCII letter or digit separates words; bytes of UTF-8 sequences
// belong to words so non-ASCII names still compare.
bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}
char lower(unsigned char c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// What a few words are, looked up once per word.
struct WordKind {
  int8_t strong = -1, weak = -1;  // synonym groups
  bool boilerplate = false;
};

const std::unordered_map<std::string, WordKind>& word_kinds() {
  static const std::unordered_map<std::string, WordKind> kinds = [] {
    std::unordered_map<std::string, WordKind> m;
    // The same role spelled by PyTorch, Keras, TF and ONNX.
    const std::vector<std::vector<const char*>> strong = {
        {"weight", "weights", "kernel", "filter", "w", "ker"},
        {"bias", "biases", "b"},
        {"input", "inputs", "in", "ifm"},  // ONE's examples say ifm / ker / ofm
        {"output", "outputs", "out", "ofm"},
        {"fc", "dense", "linear", "gemm", "matmul", "fullyconnected"},
        {"bn", "batchnorm", "batchnormalization", "fusedbatchnorm", "fusedbatchnormv3"},
        {"conv", "conv2d", "convolution"},
    };
    // A converter often names a layer's weight after the operator that reads it.
    const std::vector<const char*> weak = {"weight", "conv2d",    "matmul",
                                           "conv",   "depthwise", "depthwiseconv2dnative"};
    // Words that converters and wrappers add around every layer name; they say nothing about
    // which layer a name is, and would otherwise make every candidate look alike.
    const std::vector<const char*> boilerplate = {
        "model",          "sequential",     "functional",
        "module",         "readvariableop", "identity",
        "read",           "onnx",           "statefulpartitionedcall",
        "partitionedcall"};
    for (size_t g = 0; g < strong.size(); ++g)
      for (const char* w : strong[g]) m[w].strong = static_cast<int8_t>(g);
    for (const char* w : weak) m[w].weak = 0;
    for (const char* w : boilerplate) m[w].boilerplate = true;
    return m;
  }();
  return kinds;
}

// A word with what every comparison needs, computed once.
struct Word {
  std::string text;    // lower case
  std::string digits;  // its digits, in order ("conv2d" -> "2")
  int8_t strong = -1, weak = -1;
  bool boilerplate = false;
};

Word make_word(std::string text) {
  Word w;
  for (char c : text)
    if (is_digit(c)) w.digits += c;
  const auto& kinds = word_kinds();
  if (auto it = kinds.find(text); it != kinds.end()) {
    w.strong = it->second.strong;
    w.weak = it->second.weak;
    w.boilerplate = it->second.boilerplate;
  }
  w.text = std::move(text);
  return w;
}

// A name split for comparison: the meaningful words of each ';' part, stored once, with the
// part boundaries (a plain name is one part).
struct Split {
  std::vector<Word> words;
  std::vector<std::pair<uint32_t, uint32_t>> parts;  // [begin, end) into words
  std::string folded;  // every word (boilerplate too), lower case, joined by single spaces
};

Split split_name(const std::string& s) {
  Split out;
  std::vector<Word> part;
  std::string cur;
  auto flush_word = [&] {
    if (cur.empty()) return;
    if (!out.folded.empty()) out.folded += ' ';
    out.folded += cur;
    part.push_back(make_word(std::move(cur)));
    cur.clear();
  };
  auto flush_part = [&] {
    flush_word();
    if (part.empty()) return;
    const uint32_t begin = static_cast<uint32_t>(out.words.size());
    bool any_meaningful = false;
    for (const auto& w : part) any_meaningful = any_meaningful || !w.boilerplate;
    for (auto& w : part)
      if (!any_meaningful || !w.boilerplate) out.words.push_back(std::move(w));
    out.parts.emplace_back(begin, static_cast<uint32_t>(out.words.size()));
    part.clear();
  };
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (ch == ';') {
      flush_part();
    } else if (is_word_byte(c)) {
      cur += lower(c);
    } else {
      flush_word();
    }
  }
  flush_part();
  return out;
}

struct Span {
  const Word* begin;
  const Word* end;
  size_t size() const { return static_cast<size_t>(end - begin); }
};

std::string join(Span s) {
  std::string out;
  for (const Word* w = s.begin; w != s.end; ++w) {
    if (!out.empty()) out += ' ';
    out += w->text;
  }
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

double edit_similarity(const std::string& a, const std::string& b) {
  const size_t longest = std::max(a.size(), b.size());
  return longest == 0 ? 1.0 : 1.0 - double(edit_distance(a, b)) / double(longest);
}

// How well one query word is matched by one candidate word, in [0, 1].
double word_similarity(const Word& q, const Word& c) {
  if (q.text == c.text) return 1.0;
  if (q.strong >= 0 && q.strong == c.strong) return 0.75;
  if (q.weak >= 0 && q.weak == c.weak) return 0.4;
  // Numbers tell layers apart: conv1 is not conv2, layer1 is not layer2.
  if (!q.digits.empty() && !c.digits.empty() && q.digits != c.digits) return 0.0;
  const Word& shorter = q.text.size() < c.text.size() ? q : c;
  const Word& longer = q.text.size() < c.text.size() ? c : q;
  if (shorter.text.size() >= 2 && longer.text.compare(0, shorter.text.size(), shorter.text) == 0) {
    // "bias" / "BiasAdd", "weight" / "weights" are the same word; "conv" / "conv1" only maybe.
    return longer.digits.size() > shorter.digits.size() ? 0.5 : 0.8;
  }
  // Typos ("wieght", "ofn"); they rarely touch the first letter, which keeps this cheap.
  if (shorter.text.size() >= 3 && longer.text.size() - shorter.text.size() <= 2 &&
      q.digits == c.digits && q.text[0] == c.text[0]) {
    const double s = edit_similarity(q.text, c.text);
    if (s >= 0.6) return 0.6 * s;
  }
  return 0.0;
}

// The best total word similarity of an in-order pairing of query and candidate words.
double aligned_words(Span q, Span c, std::vector<double>& prev, std::vector<double>& cur) {
  prev.assign(c.size() + 1, 0.0);
  cur.assign(c.size() + 1, 0.0);
  for (size_t i = 1; i <= q.size(); ++i) {
    cur[0] = 0.0;
    for (size_t j = 1; j <= c.size(); ++j) {
      const double pair = prev[j - 1] + word_similarity(q.begin[i - 1], c.begin[j - 1]);
      cur[j] = std::max({prev[j], cur[j - 1], pair});
    }
    std::swap(prev, cur);
  }
  return prev[c.size()];
}

// Whether the query's numbers appear in the candidate in the same order. Layer indices are what
// tell "layer1.1.conv1" from "layer1.0.conv1"; a candidate whose numbers contradict them is
// another layer, however many words it shares.
bool numbers_fit(Span query, Span cand) {
  const Word* j = cand.begin;
  for (const Word* q = query.begin; q != query.end; ++q) {
    if (q->digits.empty()) continue;
    while (j != cand.end && j->digits != q->digits) ++j;
    if (j == cand.end) return false;
    ++j;
  }
  return true;
}

constexpr double kCover = 0.65, kPrecision = 0.15, kEdit = 0.2;
constexpr double kFusedPart = 0.95;    // one part of "a;b;c" is a little less likely than a name
constexpr double kOtherNumbers = 0.8;  // the candidate's numbers contradict the query's
constexpr double kMinScore = 0.3;

struct Scored {
  double words = 0.0;  // best word score over the whole name and its fused parts
  double full = 0.0;   // with the edit distance (only when asked for)
};

class Scorer {
 public:
  explicit Scorer(const std::string& query)
      : q_(split_name(query)),
        q_text_(join({q_.words.data(), q_.words.data() + q_.words.size()})) {}

  Scored score(const Split& c, bool with_edit) {
    Scored s;
    if (c.folded == q_.folded) {
      s.words = s.full = 1.0;
      return s;
    }
    const Span q{q_.words.data(), q_.words.data() + q_.words.size()};
    auto consider = [&](Span span, double factor) {
      if (q.size() == 0 || span.size() == 0) return;
      const double a = aligned_words(q, span, prev_, cur_);
      if (a <= 0.0) return;
      double w =
          kCover * (a / double(q.size())) + kPrecision * std::min(1.0, a / double(span.size()));
      if (!numbers_fit(q, span)) w *= kOtherNumbers;
      s.words = std::max(s.words, factor * w);
      // Spelling is compared without the boilerplate words too, so a name and the same text
      // inside a fused name spell alike.
      if (with_edit)
        s.full = std::max(s.full, factor * (w + kEdit * edit_similarity(q_text_, join(span))));
    };
    const Word* base = c.words.data();
    consider({base, base + c.words.size()}, 1.0);
    if (c.parts.size() > 1)
      for (const auto& [b, e] : c.parts) consider({base + b, base + e}, kFusedPart);
    return s;
  }

  const std::string& folded() const { return q_.folded; }

 private:
  Split q_;
  std::string q_text_;              // the query's meaningful words, joined
  std::vector<double> prev_, cur_;  // reused by every alignment
};

// Word scores first (cheap); the edit distance, which only orders near-ties, is computed for
// the best few only, so that a model with many thousand tensors answers quickly.
template <typename SplitAt>
std::vector<std::string> rank(const std::string& query, const std::vector<std::string>& names,
                              size_t count, SplitAt&& split_at) {
  if (count == 0) return {};
  Scorer scorer(query);
  std::vector<std::pair<double, size_t>> coarse;
  for (size_t i = 0; i < names.size(); ++i) {
    const double w = scorer.score(split_at(i), false).words;
    if (w > 0.0) coarse.emplace_back(w, i);
  }
  std::stable_sort(coarse.begin(), coarse.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  const size_t keep = std::max<size_t>(count * 4, 32);
  if (coarse.size() > keep) coarse.resize(keep);
  std::vector<std::pair<double, size_t>> fine;
  for (const auto& [w, i] : coarse) {
    const double full = scorer.score(split_at(i), true).full;
    if (full >= kMinScore) fine.emplace_back(full, i);
  }
  std::stable_sort(fine.begin(), fine.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  std::vector<std::string> out;
  for (const auto& [s, i] : fine) {
    if (out.size() == count) break;
    if (std::find(out.begin(), out.end(), names[i]) == out.end()) out.push_back(names[i]);
  }
  return out;
}

}  // namespace

double name_similarity(const std::string& a, const std::string& b) {
  Scorer scorer(a);
  const Split c = split_name(b);
  const Scored s = scorer.score(c, true);
  if (s.full >= 1.0) return 1.0;
  if (s.words > 0.0) return std::min(s.full, 0.999);
  // Nothing in common word by word: only the spelling says anything.
  return kEdit * edit_similarity(scorer.folded(), c.folded);
}

std::vector<std::string> closest_names(const std::string& query,
                                       const std::vector<std::string>& candidates, size_t count) {
  Split last;  // split each candidate on demand; both passes see the same one at a time
  size_t last_index = static_cast<size_t>(-1);
  return rank(query, candidates, count, [&](size_t i) -> const Split& {
    if (i != last_index) {
      last = split_name(candidates[i]);
      last_index = i;
    }
    return last;
  });
}

struct NameIndex::Entry {
  Split split;
};

NameIndex::NameIndex(const std::vector<std::string>& names) : names_(names) {
  entries_.reserve(names_.size());
  for (const auto& n : names_) entries_.push_back({split_name(n)});
}

NameIndex::~NameIndex() = default;

std::vector<std::string> NameIndex::closest(const std::string& query, size_t count) const {
  return rank(query, names_, count, [&](size_t i) -> const Split& { return entries_[i].split; });
}

}  // namespace qimplant
