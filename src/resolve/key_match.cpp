#include "resolve/key_match.h"

#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/json_reader.h"
#include "util/json_text.h"

#include "util/error.h"
#include "util/similar.h"

namespace qimplant {

namespace {

using json = nlohmann::ordered_json;

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

// libstdc++'s std::regex recurses once or more per character of the name (more with nested
// groups), so a long tensor name in a crafted model would overflow an 8 MB stack (about 50 KB of
// name suffices). Short names match on the caller's stack; longer ones on a thread with a large
// stack, reserved but only touched as deep as the match goes; past kMaxRegexName, refuse.
constexpr size_t kShortRegexName = 512;
constexpr size_t kMaxRegexName = 16 * 1024;
constexpr size_t kRegexStack = size_t(256) << 20;

struct RegexJob {
  const std::regex* regex;
  const std::string* name;
  bool matched = false;
  std::exception_ptr error;
};

void* run_regex_job(void* arg) {
  auto* job = static_cast<RegexJob*>(arg);
  try {
    job->matched = std::regex_match(*job->name, *job->regex);
  } catch (...) {
    job->error = std::current_exception();
  }
  return nullptr;
}

// nullopt when no such thread could be started (then there is no safe way to match).
std::optional<bool> regex_match_deep(const std::string& name, const std::regex& regex) {
  RegexJob job;
  job.regex = &regex;
  job.name = &name;
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return std::nullopt;
  pthread_t thread;
  const bool started = pthread_attr_setstacksize(&attr, kRegexStack) == 0 &&
                       pthread_create(&thread, &attr, run_regex_job, &job) == 0;
  pthread_attr_destroy(&attr);
  if (!started) return std::nullopt;
  pthread_join(thread, nullptr);
  if (job.error) std::rethrow_exception(job.error);
  return job.matched;
}

// What a pattern spells, without its wildcards, as a query for name suggestions.
std::string pattern_words(const NamePattern& p) {
  std::string out = p.body();
  const char* meta = p.kind() == NamePattern::Kind::Glob ? "*?[]!\\" : ".*+?()[]{}^$|\\";
  for (char& c : out)
    if (std::strchr(meta, c)) c = ' ';
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// NamePattern

bool NamePattern::is_pattern(const std::string& text) {
  return starts_with(text, "re:") || starts_with(text, "glob:");
}

NamePattern NamePattern::parse(const std::string& text, Kind plain, const std::string& context) {
  NamePattern p;
  p.text_ = text;
  p.context_ = context;
  if (starts_with(text, "re:")) {
    p.kind_ = Kind::Regex;
    p.body_ = text.substr(3);
  } else if (starts_with(text, "glob:")) {
    p.kind_ = Kind::Glob;
    p.body_ = text.substr(5);
  } else {
    p.kind_ = plain;
    p.body_ = text;
  }
  if (p.kind_ != Kind::Exact && p.body_.empty()) {
    throw Error(context + ": the pattern '" + text + "' is empty after its '" +
                (p.kind_ == Kind::Regex ? "re:" : "glob:") + "' prefix");
  }
  if (p.kind_ == Kind::Regex) {
    try {
      p.regex_ = std::regex(p.body_, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw Error(context + ": invalid regular expression '" + p.body_ + "': " + e.what());
    }
  } else if (p.kind_ == Kind::Glob) {
    const std::string& b = p.body_;
    auto bad = [&](const std::string& what) {
      throw Error(context + ": invalid glob '" + b + "': " + what);
    };
    for (size_t i = 0; i < b.size(); ++i) {
      GlobItem item;
      const char c = b[i];
      if (c == '*') {
        if (!p.glob_.empty() && p.glob_.back().type == GlobItem::Star) continue;
        item.type = GlobItem::Star;
      } else if (c == '?') {
        item.type = GlobItem::Any;
      } else if (c == '\\') {
        if (i + 1 == b.size()) bad("it ends with a lone '\\' (escape a backslash as '\\\\')");
        item.c = b[++i];
      } else if (c == '[') {
        const size_t open = i;
        item.type = GlobItem::Set;
        size_t j = i + 1;
        if (j < b.size() && (b[j] == '!' || b[j] == '^')) {
          item.negated = true;
          ++j;
        }
        bool first = true;
        for (;; ++j) {
          if (j >= b.size()) {
            bad("'[' at position " + std::to_string(open) + " is not closed by ']'");
          }
          if (b[j] == ']' && !first) break;
          first = false;
          unsigned char lo = static_cast<unsigned char>(b[j]);
          if (b[j] == '\\' && j + 1 < b.size()) lo = static_cast<unsigned char>(b[++j]);
          unsigned char hi = lo;
          if (j + 2 < b.size() && b[j + 1] == '-' && b[j + 2] != ']') {
            j += 2;
            if (b[j] == '\\' && j + 1 < b.size()) ++j;
            hi = static_cast<unsigned char>(b[j]);
            if (hi < lo) {
              bad(std::string("range '") + static_cast<char>(lo) + "-" + static_cast<char>(hi) +
                  "' is reversed");
            }
          }
          item.ranges.emplace_back(lo, hi);
        }
        i = j;
      } else {
        item.c = c;
      }
      p.glob_.push_back(std::move(item));
    }
  }
  return p;
}

bool NamePattern::glob_match(const std::string& name) const {
  auto one = [&](const GlobItem& item, char ch) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (item.type) {
      case GlobItem::Any:
        return true;
      case GlobItem::Char:
        return item.c == ch;
      case GlobItem::Set: {
        bool in = false;
        for (const auto& [lo, hi] : item.ranges) in = in || (c >= lo && c <= hi);
        return in != item.negated;
      }
      case GlobItem::Star:
        return false;
    }
    return false;
  };
  // Greedy matching that backtracks to the last '*' only: enough for globs, and linear-ish.
  const size_t none = static_cast<size_t>(-1);
  size_t p = 0, n = 0, star = none, mark = 0;
  while (n < name.size()) {
    if (p < glob_.size() && glob_[p].type == GlobItem::Star) {
      star = p++;
      mark = n;
    } else if (p < glob_.size() && one(glob_[p], name[n])) {
      ++p;
      ++n;
    } else if (star != none) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < glob_.size() && glob_[p].type == GlobItem::Star) ++p;
  return p == glob_.size();
}

bool NamePattern::matches(const std::string& name) const {
  switch (kind_) {
    case Kind::Exact:
      return name == body_;
    case Kind::Glob:
      return glob_match(name);
    case Kind::Regex: {
      const auto fail = [&](const std::string& why) {
        throw Error(context_ + ": regular expression '" + body_ +
                    "' cannot be matched against the " + std::to_string(name.size()) +
                    "-byte tensor name '" + name.substr(0, 80) + (name.size() > 80 ? "...'" : "'") +
                    ": " + why);
      };
      if (name.size() > kMaxRegexName) {
        fail("std::regex handles names of up to " + std::to_string(kMaxRegexName) +
             " bytes; use a glob: pattern, which has no limit");
      }
      try {
        if (name.size() <= kShortRegexName) return std::regex_match(name, regex_);
        const std::optional<bool> matched = regex_match_deep(name, regex_);
        if (!matched) fail("no thread with a large enough stack could be started");
        return *matched;
      } catch (const std::regex_error& e) {
        fail(e.what());
      }
      return false;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// NameMap

bool NameMap::add(std::string key, std::string value) {
  if (!index_.emplace(key, entries_.size()).second) return false;
  entries_.emplace_back(std::move(key), std::move(value));
  return true;
}

const std::string* NameMap::find(const std::string& key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

NameMap read_name_map(const std::string& path) {
  NameMap map;
  map.path = path;
  const std::string where = "name map '" + path + "'";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(where + ": cannot open: " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw Error(where + ": cannot read: " + std::strerror(errno));

  const json root = parse_json(buf.str(), where, [](const auto&, const std::string& key) {
    return "key \"" + printable(key, true) + "\" appears more than once; map each key once";
  });
  if (!root.is_object()) {
    throw Error(where +
                ": expected a JSON object mapping qparam.json keys to model tensor names "
                "({\"conv1.weight\": \"model/conv1/Conv2D\", ...}), found " +
                json_type_name(root));
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (!it->is_string()) {
      throw Error(where + ": key \"" + it.key() +
                  "\": expected a string (a model tensor name), found " + json_type_name(*it));
    }
    map.add(it.key(), it->get<std::string>());  // keys are unique: parse_json checks
  }
  return map;
}

// ---------------------------------------------------------------------------------------------
// Matching keys

const char* key_form_name(KeyForm form) {
  switch (form) {
    case KeyForm::Exact:
      return "exact";
    case KeyForm::Qualified:
      return "qualified";
    case KeyForm::Regex:
      return "regex";
    case KeyForm::Glob:
      return "glob";
  }
  return "?";
}

std::string KeyMatch::label() const {
  return "'" + key + "'" +
         (mapped ? (by_structure ? " (matched by structure to '" : " (mapped to '") + lookup + "')"
                 : std::string());
}

namespace {

void match_one(const KeyMatchContext& cx, KeyMatch& m, SuggestKind kind) {
  const std::string file = "qparam file '" + cx.qparam_path + "'";
  const NameMap* map = m.by_structure ? cx.structure_map : cx.name_map;
  const std::string context =
      m.mapped ? file + ": key '" + m.key + "', mapped by " +
                     (m.by_structure ? map->path : "name map '" + map->path + "'") + " to '" +
                     m.lookup + "'"
               : file;
  const auto& exact = cx.resolver.find(m.lookup);
  if (!exact.empty() || !NamePattern::is_pattern(m.lookup)) {
    try {
      m.tensors = {cx.resolver.resolve(m.lookup, context, cx.model_path, kind)};
      m.form = exact.empty() ? KeyForm::Qualified : KeyForm::Exact;
    } catch (const Error& e) {
      m.error = e.what();
      if (exact.empty()) {
        // For "#1:x", suggest names near "x".
        std::string name = m.lookup;
        if (name.size() > 2 && name[0] == '#' && name.find(':') != std::string::npos)
          name = name.substr(name.find(':') + 1);
        m.candidates = cx.resolver.suggestions(name, 5, kind);
      }
    }
    return;
  }

  const std::string key_context = m.mapped ? context : file + ": key '" + m.key + "'";
  try {
    const NamePattern pattern = NamePattern::parse(m.lookup, NamePattern::Kind::Exact, key_context);
    m.form = pattern.kind() == NamePattern::Kind::Regex ? KeyForm::Regex : KeyForm::Glob;
    for (uint32_t s = 0; s < cx.model.subgraphs.size(); ++s) {
      const auto& tensors = cx.model.subgraphs[s].tensors;
      for (uint32_t t = 0; t < tensors.size(); ++t) {
        if (!pattern.matches(tensors[t].name)) continue;
        (tensors[t].type == TensorType::Float32 ? m.tensors : m.not_float).push_back({s, t});
      }
    }
    if (m.tensors.empty() && m.not_float.empty()) {
      m.candidates = cx.resolver.suggestions(pattern_words(pattern), 5);
      m.error =
          key_context + " matches no tensor in the model '" + cx.model_path + "'" +
          (m.candidates.empty() ? std::string() : "; closest names: " + quoted_list(m.candidates));
    } else if (m.tensors.empty()) {
      std::string found;
      for (size_t i = 0; i < m.not_float.size() && i < 5; ++i) {
        const auto& r = m.not_float[i];
        const TensorInfo& t = cx.model.tensor(r.subgraph, r.tensor);
        found += (i ? ", " : "") + cx.resolver.describe(r) + " " +
                 tensor_type_name(cx.model.format, t.type);
      }
      if (m.not_float.size() > 5) found += ", ...";
      m.error = key_context + " matches " + std::to_string(m.not_float.size()) +
                " tensor(s) in the model '" + cx.model_path + "', none of them float32 (" + found +
                "); pattern keys claim float32 tensors only";
    }
  } catch (const Error& e) {
    m.error = e.what();
  }
}

}  // namespace

std::vector<KeyMatch> match_keys(const KeyMatchContext& cx, const std::vector<std::string>& keys,
                                 const std::vector<SuggestKind>& kinds) {
  std::vector<KeyMatch> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    KeyMatch& m = out[i];
    m.key = keys[i];
    m.lookup = keys[i];
    if (cx.name_map) {
      if (const std::string* v = cx.name_map->find(keys[i])) {
        m.lookup = *v;
        m.mapped = true;
      }
    }
    if (!m.mapped && cx.structure_map) {
      if (const std::string* v = cx.structure_map->find(keys[i])) {
        m.lookup = *v;
        m.mapped = true;
        m.by_structure = true;
      }
    }
    match_one(cx, m, i < kinds.size() ? kinds[i] : SuggestKind::Any);
  }

  const std::string file = "qparam file '" + cx.qparam_path + "'";
  // Exact and qualified keys first: they win over patterns.
  std::map<TensorRef, size_t> exact_owner;
  for (size_t i = 0; i < out.size(); ++i) {
    KeyMatch& m = out[i];
    if (!m.ok() || (m.form != KeyForm::Exact && m.form != KeyForm::Qualified)) continue;
    const TensorRef ref = m.tensors.front();
    auto [it, fresh] = exact_owner.emplace(ref, i);
    if (!fresh) {
      m.error = file + ": keys " + out[it->second].label() + " and " + m.label() +
                " both name tensor " + cx.resolver.describe(ref) + "; give each tensor one entry";
      m.tensors.clear();
    }
  }
  std::map<TensorRef, size_t> pattern_owner;
  for (size_t i = 0; i < out.size(); ++i) {
    KeyMatch& m = out[i];
    if (!m.ok() || (m.form != KeyForm::Regex && m.form != KeyForm::Glob)) continue;
    std::vector<TensorRef> kept;
    for (const TensorRef& ref : m.tensors) {
      if (exact_owner.count(ref)) {
        m.overridden.push_back(ref);
        continue;
      }
      auto [it, fresh] = pattern_owner.emplace(ref, i);
      if (!fresh) {
        m.error = file + ": keys " + out[it->second].label() + " and " + m.label() +
                  " both match tensor " + cx.resolver.describe(ref) +
                  "; give each tensor one entry (narrow a pattern, or add an exact key for the "
                  "tensor: exact keys win over patterns)";
        break;
      }
      kept.push_back(ref);
    }
    if (!m.ok()) {
      // Release what this key claimed before the conflict, so later keys are judged fairly.
      for (const TensorRef& ref : kept) pattern_owner.erase(ref);
      m.tensors.clear();
      continue;
    }
    m.tensors = std::move(kept);
  }
  return out;
}

std::vector<SuggestKind> suggest_kinds(const QParamFile& qparams) {
  std::vector<SuggestKind> kinds;
  for (const auto& e : qparams.entries) {
    kinds.push_back(e.keep_float                       ? SuggestKind::Any
                    : e.value || !e.value_file.empty() ? SuggestKind::Constant
                                                       : SuggestKind::Activation);
  }
  return kinds;
}

void require_resolved(const std::vector<KeyMatch>& matches) {
  std::vector<const KeyMatch*> bad;
  for (const auto& m : matches)
    if (!m.ok()) bad.push_back(&m);
  if (bad.empty()) return;
  if (bad.size() == 1) throw Error(bad[0]->error);
  // All of them at once: fixing names one run at a time is slow, and a list shows a pattern
  // (every activation misnamed) that one message does not.
  constexpr size_t kShown = 20;
  std::string msg = std::to_string(bad.size()) + " of " + std::to_string(matches.size()) +
                    " qparam.json keys do not resolve (q-implant names lists them all):";
  for (size_t i = 0; i < bad.size() && i < kShown; ++i) msg += "\n  " + bad[i]->error;
  if (bad.size() > kShown)
    msg += "\n  ... and " + std::to_string(bad.size() - kShown) + " more key(s)";
  throw Error(msg);
}

}  // namespace qimplant
