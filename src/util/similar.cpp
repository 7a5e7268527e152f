#include "util/similar.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace qimplant {

namespace {

bool is_separator(char c) {
  return c == '.' || c == '/' || c == ';' || c == ':' || c == '_' || c == '-' || c == ' ';
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (is_separator(c)) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string folded(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& x : w) {
    if (!out.empty()) out += ' ';
    out += x;
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

}  // namespace

double name_similarity(const std::string& a, const std::string& b) {
  const auto wa = words(a), wb = words(b);
  const std::string fa = folded(wa), fb = folded(wb);
  if (fa == fb) return 1.0;
  const size_t longest = std::max(fa.size(), fb.size());
  const double edit = longest == 0 ? 0.0 : 1.0 - double(edit_distance(fa, fb)) / double(longest);
  // Words of the shorter name found in the longer one: "conv1.weight" in "model/conv1/weight".
  const std::set<std::string> sa(wa.begin(), wa.end()), sb(wb.begin(), wb.end());
  size_t shared = 0;
  for (const auto& w : sa) shared += sb.count(w);
  const size_t fewer = std::min(sa.size(), sb.size());
  const double overlap = fewer == 0 ? 0.0 : double(shared) / double(std::max(sa.size(), sb.size()));
  const double cover = fewer == 0 ? 0.0 : double(shared) / double(fewer);
  return 0.4 * edit + 0.3 * overlap + 0.3 * cover;
}

std::vector<std::string> closest_names(const std::string& query,
                                       const std::vector<std::string>& candidates, size_t count) {
  std::vector<std::pair<double, const std::string*>> scored;
  scored.reserve(candidates.size());
  for (const auto& c : candidates) {
    const double s = name_similarity(query, c);
    if (s >= 0.3) scored.emplace_back(s, &c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  std::vector<std::string> out;
  for (const auto& [score, name] : scored) {
    if (out.size() == count) break;
    if (std::find(out.begin(), out.end(), *name) == out.end()) out.push_back(*name);
  }
  return out;
}

}  // namespace qimplant
