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
  const Split& query() const { return q_; }

 private:
  Split q_;
  std::string q_text_;              // the query's meaningful words, joined
  std::vector<double> prev_, cur_;  // reused by every alignment
};

using Coarse = std::vector<std::pair<double, size_t>>;  // (word score, name index)

// How many word-scored candidates get the edit distance: it only orders near-ties, so it is
// computed for the best few only.
size_t coarse_keep(size_t count) {
  return std::max<size_t>(count * 4, 32);
}

// The second pass over the best word scores (best first, ties in name order): add the edit
// distance and keep `count` distinct names.
template <typename SplitAt>
std::vector<std::string> finish(Scorer& scorer, const std::vector<std::string>& names,
                                const Coarse& coarse, size_t count, SplitAt&& split_at) {
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

// Word scores of every name (cheap), then finish().
template <typename SplitAt>
std::vector<std::string> rank(const std::string& query, const std::vector<std::string>& names,
                              size_t count, SplitAt&& split_at) {
  if (count == 0) return {};
  Scorer scorer(query);
  Coarse coarse;
  for (size_t i = 0; i < names.size(); ++i) {
    const double w = scorer.score(split_at(i), false).words;
    if (w > 0.0) coarse.emplace_back(w, i);
  }
  std::stable_sort(coarse.begin(), coarse.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  const size_t keep = coarse_keep(count);
  if (coarse.size() > keep) coarse.resize(keep);
  return finish(scorer, names, coarse, count, split_at);
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

// The index answers exactly as rank() does, without scoring every name: a name can only score
// above zero through a word similar to a query word, so each query word is looked up among the
// index's distinct words (equal, synonym, prefix, or a typo: same first letter and digits), and
// only names holding such a word are candidates. Their word score is bounded from above by the
// sum, over query words, of the best similarity any of the name's words has to it (an in-order
// alignment uses each query word at most once, and floating-point addition is monotonic, so the
// bound holds exactly); candidates are scored best bound first until no bound can beat the
// `keep`-th best score. On 12,100 names with 12,100 misspelled keys this takes the suggestions
// from 26 s to well under a second.
struct NameIndex::Entry {
  Split split;
  uint32_t min_span = 0;  // fewest words of the whole name or any fused part
};

struct NameIndex::Vocabulary {
  std::vector<Word> words;
  std::unordered_map<std::string, uint32_t> id;
  std::vector<std::vector<uint32_t>> postings;  // word -> names holding it, ascending
  std::vector<uint32_t> sorted;                 // word ids in text order, for prefixes
  std::unordered_map<std::string, std::vector<uint32_t>> typo_bucket;  // first letter + digits
  std::vector<std::vector<uint32_t>> strong, weak;                     // synonym groups
  std::unordered_map<std::string, std::vector<uint32_t>> by_digits;    // names with such a word
  std::unordered_map<std::string, std::vector<uint32_t>> by_folded;    // exact after folding
  // Scratch for closest(), reused between calls (NameIndex is not for concurrent use).
  std::vector<double> best, bound;
  std::vector<uint64_t> stamp, hits;
  std::vector<uint32_t> touched;
  uint64_t generation = 0;
  // The last answer: an unknown key's error and its candidate list ask the same question.
  std::string last_query;
  size_t last_count = 0;
  std::vector<std::string> last_answer;

  std::vector<std::string> search(const std::vector<std::string>& names_,
                                  const std::vector<Entry>& entries_, const std::string& query,
                                  size_t count);
};

namespace {

std::string typo_key(const Word& w) {
  return std::string(1, w.text.empty() ? '\0' : w.text[0]) + '\x01' + w.digits;
}

}  // namespace

NameIndex::NameIndex(const std::vector<std::string>& names)
    : names_(names), vocab_(std::make_unique<Vocabulary>()) {
  Vocabulary& v = *vocab_;
  entries_.reserve(names_.size());
  for (uint32_t i = 0; i < names_.size(); ++i) {
    Entry e{split_name(names_[i]), 0};
    uint32_t span = static_cast<uint32_t>(e.split.words.size());
    for (const auto& [b, end] : e.split.parts) span = std::min(span, end - b);
    e.min_span = span;
    for (const Word& w : e.split.words) {
      auto [it, fresh] = v.id.emplace(w.text, static_cast<uint32_t>(v.words.size()));
      if (fresh) {
        v.words.push_back(w);
        v.postings.emplace_back();
      }
      auto& post = v.postings[it->second];
      if (post.empty() || post.back() != i) post.push_back(i);
      if (!w.digits.empty()) {
        auto& d = v.by_digits[w.digits];
        if (d.empty() || d.back() != i) d.push_back(i);
      }
    }
    v.by_folded[e.split.folded].push_back(i);
    entries_.push_back(std::move(e));
  }
  v.sorted.resize(v.words.size());
  for (uint32_t w = 0; w < v.words.size(); ++w) v.sorted[w] = w;
  std::sort(v.sorted.begin(), v.sorted.end(),
            [&](uint32_t a, uint32_t b) { return v.words[a].text < v.words[b].text; });
  for (uint32_t w = 0; w < v.words.size(); ++w) {
    const Word& word = v.words[w];
    v.typo_bucket[typo_key(word)].push_back(w);
    if (word.strong >= 0) {
      if (v.strong.size() <= static_cast<size_t>(word.strong)) v.strong.resize(word.strong + 1);
      v.strong[static_cast<size_t>(word.strong)].push_back(w);
    }
    if (word.weak >= 0) {
      if (v.weak.size() <= static_cast<size_t>(word.weak)) v.weak.resize(word.weak + 1);
      v.weak[static_cast<size_t>(word.weak)].push_back(w);
    }
  }
  v.best.assign(names_.size(), 0.0);
  v.bound.assign(names_.size(), 0.0);
  v.stamp.assign(names_.size(), 0);
  v.hits.assign(names_.size(), 0);
}

NameIndex::~NameIndex() = default;

std::vector<std::string> NameIndex::closest(const std::string& query, size_t count) const {
  Vocabulary& v = *vocab_;
  if (count == v.last_count && query == v.last_query) return v.last_answer;
  v.last_answer = v.search(names_, entries_, query, count);
  v.last_query = query;
  v.last_count = count;
  return v.last_answer;
}

std::vector<std::string> NameIndex::Vocabulary::search(const std::vector<std::string>& names_,
                                                       const std::vector<Entry>& entries_,
                                                       const std::string& query, size_t count) {
  auto split_at = [&](size_t i) -> const Split& { return entries_[i].split; };
  if (count == 0) return {};
  Scorer scorer(query);
  const Split& q = scorer.query();
  Vocabulary& v = *this;
  if (q.words.empty() || names_.size() < 64) return rank(query, names_, count, split_at);

  // The index words each query word is similar to, with that similarity.
  auto similar_words = [&](const Word& qw) {
    std::vector<uint32_t> found;
    auto add_all = [&](const std::vector<uint32_t>& ids) {
      found.insert(found.end(), ids.begin(), ids.end());
    };
    if (auto it = v.id.find(qw.text); it != v.id.end()) found.push_back(it->second);
    if (qw.strong >= 0 && static_cast<size_t>(qw.strong) < v.strong.size())
      add_all(v.strong[static_cast<size_t>(qw.strong)]);
    if (qw.weak >= 0 && static_cast<size_t>(qw.weak) < v.weak.size())
      add_all(v.weak[static_cast<size_t>(qw.weak)]);
    if (qw.text.size() >= 2) {
      // Index words that start with the query word...
      auto lo =
          std::lower_bound(v.sorted.begin(), v.sorted.end(), qw.text,
                           [&](uint32_t id, const std::string& t) { return v.words[id].text < t; });
      for (; lo != v.sorted.end() && v.words[*lo].text.compare(0, qw.text.size(), qw.text) == 0;
           ++lo)
        found.push_back(*lo);
      // ...and those the query word starts with.
      for (size_t len = 2; len < qw.text.size(); ++len)
        if (auto it = v.id.find(qw.text.substr(0, len)); it != v.id.end())
          found.push_back(it->second);
    }
    if (auto it = v.typo_bucket.find(typo_key(qw)); it != v.typo_bucket.end()) add_all(it->second);
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    std::vector<std::pair<uint32_t, double>> out;
    for (uint32_t id : found) {
      const double s = word_similarity(qw, v.words[id]);
      if (s > 0.0) out.emplace_back(id, s);
    }
    return out;
  };

  // Per name: the sum over query words of its best similarity, in query order.
  const uint64_t base = ++v.generation;
  v.touched.clear();
  std::vector<uint32_t> this_word;
  for (const Word& qw : q.words) {
    // A second generation number per query word marks "seen for this word".
    const uint64_t g = ++v.generation;
    this_word.clear();
    for (const auto& [id, s] : similar_words(qw)) {
      for (uint32_t n : v.postings[id]) {
        if (v.hits[n] != g) {
          v.hits[n] = g;
          v.best[n] = s;
          this_word.push_back(n);
        } else if (s > v.best[n]) {
          v.best[n] = s;
        }
      }
    }
    for (uint32_t n : this_word) {
      if (v.stamp[n] < base) {
        v.stamp[n] = base;
        v.bound[n] = 0.0;
        v.touched.push_back(n);
      }
      v.bound[n] += v.best[n];
    }
  }
  // Names that lack one of the query's numbers have them contradicted in every span.
  std::vector<std::string> numbers;
  for (const Word& qw : q.words)
    if (!qw.digits.empty() && std::find(numbers.begin(), numbers.end(), qw.digits) == numbers.end())
      numbers.push_back(qw.digits);
  const uint64_t counted = ++v.generation;
  for (const auto& d : numbers) {
    auto it = v.by_digits.find(d);
    if (it == v.by_digits.end()) continue;
    for (uint32_t n : it->second) {
      if (v.stamp[n] < base) continue;  // not a candidate
      if (v.hits[n] != counted) {
        v.hits[n] = counted;
        v.best[n] = 0.0;
      }
      v.best[n] += 1.0;  // how many of the query's numbers the name has
    }
  }
  const double qn = static_cast<double>(q.words.size());
  std::vector<std::pair<double, uint32_t>> cands;
  cands.reserve(v.touched.size() + 4);
  for (uint32_t n : v.touched) {
    const double a = v.bound[n];
    double b =
        kCover * (a / qn) +
        kPrecision * std::min(1.0, a / static_cast<double>(std::max(1u, entries_[n].min_span)));
    const double have = v.hits[n] == counted ? v.best[n] : 0.0;
    if (have < static_cast<double>(numbers.size())) b *= kOtherNumbers;
    cands.emplace_back(b, n);
  }
  // Equal after folding: score 1 however few words they share.
  if (auto it = v.by_folded.find(q.folded); it != v.by_folded.end())
    for (uint32_t n : it->second) cands.emplace_back(2.0, n);
  // Best bound first, ties in name order, as rank() orders scores.
  auto first = [](const std::pair<double, uint32_t>& x, const std::pair<double, uint32_t>& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  };
  const size_t keep = coarse_keep(count);
  // The best `keep` (score desc, index asc) so far; worst at the front.
  auto better = [](const std::pair<double, size_t>& x, const std::pair<double, size_t>& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  };
  Coarse top;
  // Scores candidates in bound order until none left can enter the top; false when stopped.
  auto consume = [&](auto begin, auto end) {
    for (auto it = begin; it != end; ++it) {
      // Not a structured binding: C++17 (clang) does not let the lambda below capture one.
      const auto b = it->first;
      const auto n = it->second;
      if (top.size() == keep) {
        const auto& w = top.front();
        if (b < w.first || (b == w.first && n > w.second)) return false;
      }
      if (std::find_if(top.begin(), top.end(), [&](const auto& t) { return t.second == n; }) !=
          top.end())
        continue;
      const double w = scorer.score(entries_[n].split, false).words;
      if (w <= 0.0) continue;
      const std::pair<double, size_t> item{w, n};
      if (top.size() < keep) {
        top.push_back(item);
        std::push_heap(top.begin(), top.end(), better);
      } else if (better(item, top.front())) {
        std::pop_heap(top.begin(), top.end(), better);
        top.back() = item;
        std::push_heap(top.begin(), top.end(), better);
      }
    }
    return true;
  };
  // Usually the top is settled within the best few bounds: select those in linear time and
  // sort only the rest when they are needed.
  const size_t head = std::min(cands.size(), 2 * keep);
  if (head < cands.size())
    std::nth_element(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(head), cands.end(),
                     first);
  std::sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(head), first);
  if (consume(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(head)) &&
      head < cands.size()) {
    std::sort(cands.begin() + static_cast<std::ptrdiff_t>(head), cands.end(), first);
    consume(cands.begin() + static_cast<std::ptrdiff_t>(head), cands.end());
  }
  std::sort(top.begin(), top.end(), better);
  return finish(scorer, names_, top, count, split_at);
}

}  // namespace qimplant
