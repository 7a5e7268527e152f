// Which model tensors each qparam.json key claims: exact names, "#<sg>:<name>", pattern keys and
// the name map.
//
// A key is read, in this order:
//   1. the name map (--name-map map.json), when it has the key: the key is replaced by the
//      mapped value, which is then read as any key (an exact name, "#1:x", or a pattern);
//      else the structure map (--match structure, src/match/), when it has the key;
//   2. a tensor name, exactly, in any subgraph (TensorResolver; also for names that start with
//      "re:" or "glob:", so an exact name is never misread as a pattern);
//   3. "#<subgraph index>:<name>" (TensorResolver);
//   4. "re:<regex>": ECMAScript regular expression (std::regex) matched against the whole name;
//      "glob:<glob>": fnmatch-style `*` `?` `[...]` (`[!...]` negates, `\` escapes) matched
//      against the whole name, where `*` also matches `/` and `;`. Patterns look at every tensor
//      of every subgraph but claim float32 tensors only: integer shape/index constants and
//      already-quantized tensors that a broad pattern also matches are left alone (and listed).
// Claims: an exact (or qualified) key wins over patterns for its tensor; two exact keys, or two
// patterns, that claim one tensor are an error naming both keys; a pattern that matches no
// tensor, or no float32 tensor, is an error.
#pragma once

#include <regex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/model.h"
#include "qparam/qparam_file.h"
#include "resolve/resolve.h"

namespace qimplant {

// A name pattern: "re:<regex>", "glob:<glob>", or a plain text read as `plain` says.
class NamePattern {
 public:
  enum class Kind { Exact, Regex, Glob };

  // Throws Error starting with `context` for an invalid regex or glob, naming the pattern.
  // `context` also starts the errors of matches().
  static NamePattern parse(const std::string& text, Kind plain, const std::string& context);
  // True when `text` starts with "re:" or "glob:".
  static bool is_pattern(const std::string& text);

  // Whole-name match. Throws Error (naming the pattern and the name) only when a regex cannot
  // be matched safely: std::regex gives up (too complex) or the name is over 16 KiB (std::regex
  // recurses per character; up to that, long names match on a thread with a large stack).
  bool matches(const std::string& name) const;

  Kind kind() const { return kind_; }
  const std::string& text() const { return text_; }  // as given, with its prefix
  const std::string& body() const { return body_; }  // without the prefix

 private:
  struct GlobItem {
    enum Type { Char, Any, Star, Set } type = Char;
    char c = 0;
    bool negated = false;
    std::vector<std::pair<unsigned char, unsigned char>> ranges;  // Set: inclusive ranges
  };
  bool glob_match(const std::string& name) const;

  Kind kind_ = Kind::Exact;
  std::string text_, body_, context_;
  std::regex regex_;
  std::vector<GlobItem> glob_;
};

// --name-map map.json: {"<qparam.json key>": "<model tensor name or any key form>", ...}.
// Keys looked up by hash: a structure match of 100,000 keys looks each one up once.
class NameMap {
 public:
  std::string path;
  // False (and no change) when `key` is already mapped.
  bool add(std::string key, std::string value);
  const std::string* find(const std::string& key) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // file order
  std::unordered_map<std::string, size_t> index_;             // key -> entries_ position
};
// Throws Error naming the file for: missing/unreadable file, malformed JSON (line and column),
// top level not an object, a value that is not a string, a key given twice.
NameMap read_name_map(const std::string& path);

enum class KeyForm { Exact, Qualified, Regex, Glob };
const char* key_form_name(KeyForm form);  // "exact", "qualified", "regex", "glob"

struct KeyMatch {
  std::string key;     // as written in qparam.json
  std::string lookup;  // what was looked up: the mapped value when the name map has the key
  bool mapped = false;
  bool by_structure = false;  // mapped by the structure match, not by --name-map
  KeyForm form = KeyForm::Exact;
  std::vector<TensorRef> tensors;       // the tensors this key claims, model order
  std::vector<TensorRef> not_float;     // pattern matches left alone: not float32
  std::vector<TensorRef> overridden;    // pattern matches that an exact key claims instead
  std::string error;                    // why the key does not resolve; empty when it does
  std::vector<std::string> candidates;  // closest model names, for unknown names and patterns
  bool ok() const { return error.empty(); }
  // "'conv1.weight' (mapped to 'model/conv1/w')" or "'re:.*w'": how messages name the key.
  std::string label() const;
};

struct KeyMatchContext {
  const ModelInfo& model;
  const TensorResolver& resolver;
  std::string model_path;
  std::string qparam_path;
  const NameMap* name_map = nullptr;  // optional
  // Optional, consulted for keys name_map does not have: an explicit entry wins.
  const NameMap* structure_map = nullptr;
};

// Matches every key; a key that does not resolve gets `error` set (nothing is thrown for it), so
// that `q-implant names` can show all of them. Conflicts between keys are reported on the later
// key in file order. `kinds` (parallel to `keys`, or empty) says what each key's entry describes,
// so that an unknown name is offered names of tensors of its kind (TensorResolver::suggestions).
std::vector<KeyMatch> match_keys(const KeyMatchContext& context,
                                 const std::vector<std::string>& keys,
                                 const std::vector<SuggestKind>& kinds = {});

// What each entry of `qparams` describes (file order): Constant with "value", Any for
// {"dtype": "float32"}, else Activation.
std::vector<SuggestKind> suggest_kinds(const QParamFile& qparams);

// Throws one Error listing every key that does not resolve (file order; the first 20 in full,
// then how many more), or with the key's own message when only one does not.
void require_resolved(const std::vector<KeyMatch>& matches);

}  // namespace qimplant
