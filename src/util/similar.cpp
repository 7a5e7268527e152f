#include "util/similar.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace qimplant {

namespace {

// Every byte that is not an ASCII letter or digit separates words; bytes of UTF-8 sequences
// belong to words so non-ASCII names still compare.
bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (is_word_byte(c)) {
      cur += static_cast<char>(std::tolower(c));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string join(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& x : w) {
    if (!out.empty()) out += ' ';
    out += x;
  }
  return out;
}

// Words that converters and wrappers add around every layer name; they say nothing about which
// layer a name is, and would otherwise make every candidate look alike.
bool is_boilerplate(const std::string& w) {
  static const char* const kWords[] = {
      "model",  "sequential", "functional", "module",  "readvariableop", "identity",
      "read",   "onnx",       "statefulpartitionedcall", "partitionedcall"};
  for (const char* k : kWords)
    if (w == k) return true;
  return false;
}

std::vector<std::string> meaningful(const std::vector<std::string>& w) {
  std::vector<std::string> out;
  for (const auto& x : w)
    if (!is_boilerplate(x)) out.push_back(x);
  return out.empty() ? w : out;
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

int synonym_group(const std::string& w, bool weak) {
  // The same role spelled by PyTorch, Keras, TF and ONNX.
  static const std::vector<std::vector<const char*>> kStrong = {
      {"weight", "weights", "kernel", "filter", "w"},
      {"bias", "biases", "b"},
      {"fc", "dense", "linear", "gemm", "matmul", "fullyconnected"},
      {"bn", "batchnorm", "batchnormalization", "fusedbatchnorm", "fusedbatchnormv3"},
      {"conv", "conv2d", "convolution"},
  };
  // A converter often names a layer's weight after the operator that reads it.
  static const std::vector<std::vector<const char*>> kWeak = {
      {"weight", "conv2d", "matmul", "conv", "depthwise", "depthwiseconv2dnative"},
  };
  const auto& groups = weak ? kWeak : kStrong;
  for (size_t g = 0; g < groups.size(); ++g)
    for (const char* x : groups[g])
      if (w == x) return static_cast<int>(g);
  return -1;
}

std::string digits_of(const std::string& w) {
  std::string out;
  for (char c : w)
    if (std::isdigit(static_cast<unsigned char>(c))) out += c;
  return out;
}

bool has_digit(const std::string& w) { return !digits_of(w).empty(); }

// How well one query word is matched by one candidate word, in [0, 1].
double word_similarity(const std::string& q, const std::string& c) {
  if (q == c) return 1.0;
  const int sq = synonym_group(q, false);
  if (sq >= 0 && sq == synonym_group(c, false)) return 0.75;
  const int wq = synonym_group(q, true);
  if (wq >= 0 && wq == synonym_group(c, true)) return 0.4;
  // Numbers tell layers apart: conv1 is not conv2, layer1 is not layer2.
  const std::string dq = digits_of(q), dc = digits_of(c);
  if (!dq.empty() && !dc.empty() && dq != dc) return 0.0;
  const std::string& shorter = q.size() < c.size() ? q : c;
  const std::string& longer = q.size() < c.size() ? c : q;
  if (shorter.size() >= 2 && longer.compare(0, shorter.size(), shorter) == 0) {
    // "bias" / "BiasAdd", "weight" / "weights" are the same word; "conv" / "conv1" only maybe.
    return has_digit(longer.substr(shorter.size())) ? 0.5 : 0.8;
  }
  // Typos: "wieght", "ofn".
  if (shorter.size() >= 3 && longer.size() - shorter.size() <= 2 && dq == dc) {
    const double s = edit_similarity(q, c);
    if (s >= 0.6) return 0.6 * s;
  }
  return 0.0;
}

// The best total word similarity of an in-order pairing of query and candidate words.
double aligned_words(const std::vector<std::string>& q, const std::vector<std::string>& c) {
  std::vector<double> prev(c.size() + 1, 0.0), cur(c.size() + 1, 0.0);
  for (size_t i = 1; i <= q.size(); ++i) {
    cur[0] = 0.0;
    for (size_t j = 1; j <= c.size(); ++j) {
      cur[j] = std::max({prev[j], cur[j - 1], prev[j - 1] + word_similarity(q[i - 1], c[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[c.size()];
}

// The numbers in words, in order: "layer1.0.conv2" -> 1, 0, 2.
std::vector<std::string> numbers_of(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    std::string cur;
    for (char c : w) {
      if (std::isdigit(static_cast<unsigned char>(c))) {
        cur += c;
      } else if (!cur.empty()) {
        out.push_back(cur);
        cur.clear();
      }
    }
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

// Whether the query's numbers appear in the candidate in the same order. Layer indices are what
// tell "layer1.1.conv1" from "layer1.0.conv1"; a candidate whose numbers contradict them is
// another layer, however many words it shares.
bool numbers_fit(const std::vector<std::string>& query, const std::vector<std::string>& cand) {
  size_t j = 0;
  for (const auto& n : query) {
    while (j < cand.size() && cand[j] != n) ++j;
    if (j == cand.size()) return false;
    ++j;
  }
  return true;
}

struct Query {
  std::vector<std::string> all_words, words;  // words: without boilerplate
  std::vector<std::string> numbers;
  std::string folded;
  explicit Query(const std::string& s)
      : all_words(split_words(s)),
        words(meaningful(all_words)),
        numbers(numbers_of(words)),
        folded(join(all_words)) {}
};

constexpr double kCover = 0.65, kPrecision = 0.15, kEdit = 0.2;
constexpr double kFusedPart = 0.95;  // one part of "a;b;c" is a little less likely than a name
constexpr double kOtherNumbers = 0.8;  // the candidate's numbers contradict the query's
constexpr double kMinScore = 0.3;

// Word-only part of the score of one candidate name (no ';' splitting); 0 shares no word.
double word_score(const Query& q, const std::vector<std::string>& cw) {
  if (q.words.empty() || cw.empty()) return 0.0;
  const double a = aligned_words(q.words, cw);
  return kCover * (a / double(q.words.size())) + kPrecision * std::min(1.0, a / double(cw.size()));
}

struct Scored {
  double words = 0.0;  // best word score over the whole name and its fused parts
  double full = 0.0;
};

Scored score(const Query& q, const std::string& candidate, bool with_edit) {
  Scored s;
  const auto all = split_words(candidate);
  const std::string folded = join(all);
  if (folded == q.folded) {
    s.words = s.full = 1.0;
    return s;
  }
  auto consider = [&](const std::vector<std::string>& words, const std::string& text,
                      double factor) {
    const auto kept = meaningful(words);
    const double w = word_score(q, kept);
    if (w <= 0.0) return;
    if (!numbers_fit(q.numbers, numbers_of(kept))) factor *= kOtherNumbers;
    s.words = std::max(s.words, factor * w);
    if (with_edit) s.full = std::max(s.full, factor * (w + kEdit * edit_similarity(q.folded, text)));
  };
  consider(all, folded, 1.0);
  if (candidate.find(';') != std::string::npos) {
    size_t start = 0;
    while (start <= candidate.size()) {
      size_t end = candidate.find(';', start);
      if (end == std::string::npos) end = candidate.size();
      const auto part = split_words(candidate.substr(start, end - start));
      if (!part.empty()) consider(part, join(part), kFusedPart);
      start = end + 1;
    }
  }
  return s;
}

}  // namespace

double name_similarity(const std::string& a, const std::string& b) {
  const Query q(a);
  const Scored s = score(q, b, true);
  if (s.full >= 1.0) return 1.0;
  if (s.words > 0.0) return std::min(s.full, 0.999);
  // Nothing in common word by word: only the spelling says anything.
  return kEdit * edit_similarity(q.folded, join(split_words(b)));
}

std::vector<std::string> closest_names(const std::string& query,
                                       const std::vector<std::string>& candidates, size_t count) {
  if (count == 0) return {};
  const Query q(query);
  // Word scores first (cheap); the edit distance, which only orders near-ties, is computed for
  // the best few only, so that a model with many thousand tensors answers quickly.
  std::vector<std::pair<double, size_t>> coarse;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Scored s = score(q, candidates[i], false);
    if (s.words > 0.0) coarse.emplace_back(s.words, i);
  }
  std::stable_sort(coarse.begin(), coarse.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  const size_t keep = std::max<size_t>(count * 4, 32);
  if (coarse.size() > keep) coarse.resize(keep);
  std::vector<std::pair<double, size_t>> fine;
  for (const auto& [w, i] : coarse) {
    const double full = score(q, candidates[i], true).full;
    if (full >= kMinScore) fine.emplace_back(full, i);
  }
  std::stable_sort(fine.begin(), fine.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  std::vector<std::string> out;
  for (const auto& [s, i] : fine) {
    if (out.size() == count) break;
    if (std::find(out.begin(), out.end(), candidates[i]) == out.end()) out.push_back(candidates[i]);
  }
  return out;
}

}  // namespace qimplant
