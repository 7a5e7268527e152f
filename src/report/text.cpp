#include "report/text.h"

#include <map>
#include <set>
#include <tuple>

namespace qimplant {

namespace {

constexpr size_t kNamesShown = 3;

struct Group {
  std::vector<const Finding*> members;
  std::set<int32_t> operators;
  std::vector<std::string> tensors;  // distinct, in order of appearance
  std::set<std::string> seen;
};

std::string group_line(const Group& g) {
  const Finding& f = *g.members.front();
  std::string out = f.severity == Severity::Error ? "error" : "warning";
  out += " [" + f.rule + "] " + std::to_string(g.members.size()) + "x";
  if (!f.op.empty()) {
    out += " " + f.op + " (" + std::to_string(g.operators.size()) + " operator" +
           (g.operators.size() == 1 ? "" : "s");
    if (f.subgraph != 0) out += " of subgraph " + std::to_string(f.subgraph);
    out += ")";
  }
  if (!g.tensors.empty()) {
    out += ", " + std::to_string(g.tensors.size()) + " tensor" + (g.tensors.size() == 1 ? "" : "s");
  }
  out += ": " + f.message;
  if (!g.tensors.empty()) {
    out += " (";
    for (size_t i = 0; i < g.tensors.size() && i < kNamesShown; ++i)
      out += (i ? ", '" : "'") + g.tensors[i] + "'";
    if (g.tensors.size() > kNamesShown)
      out += ", ... " + std::to_string(g.tensors.size() - kNamesShown) + " more";
    out += ")";
  }
  return out;
}

}  // namespace

std::vector<std::string> finding_lines(const std::vector<Finding>& findings, bool each,
                                       const std::function<std::string(const Finding&)>& single) {
  std::vector<std::string> lines;
  if (each) {
    for (const auto& f : findings) lines.push_back(single(f));
    return lines;
  }
  using Key = std::tuple<Severity, std::string, std::string, uint32_t, std::string>;
  std::map<Key, size_t> index;
  std::vector<Group> groups;
  for (const auto& f : findings) {
    const Key key{f.severity, f.rule, f.op, f.subgraph, f.message};
    auto [it, added] = index.emplace(key, groups.size());
    if (added) groups.emplace_back();
    Group& g = groups[it->second];
    g.members.push_back(&f);
    if (f.op_index >= 0) g.operators.insert(f.op_index);
    for (const auto& t : f.tensors)
      if (g.seen.insert(t).second) g.tensors.push_back(t);
  }
  for (const auto& g : groups) {
    lines.push_back(g.members.size() == 1 ? single(*g.members.front()) : group_line(g));
  }
  return lines;
}

std::string summary_line(const ImplantOptions& o, const ImplantResult& r) {
  // Counts by origin, in the enum's order; origins a run did not use still show as 0 for the
  // three that every run can have.
  std::map<EditOrigin, size_t> by_origin{
      {EditOrigin::Implanted, 0}, {EditOrigin::Propagated, 0}, {EditOrigin::Derived, 0}};
  for (const auto& c : r.changes) ++by_origin[c.origin];
  size_t errors = 0, warnings = 0;
  for (const auto& f : r.findings) (f.severity == Severity::Error ? errors : warnings)++;

  std::string out = "q-implant: ";
  out += o.dry_run ? std::string("dry run, nothing written") : "wrote " + o.output;
  out += " (" + std::string(format_name(r.format)) + ", " + target_name(r.target) + " rules: ";
  if (o.check_rules) {
    out += std::to_string(errors) + " error(s)";
    if (errors && o.force) out += " written with --force";
    out += ", " + std::to_string(warnings) + " warning(s)";
  } else {
    out += "not checked";
  }
  out += "): ";
  bool first = true;
  for (const auto& [origin, count] : by_origin) {
    if (origin == EditOrigin::Inserted) continue;  // counted with their operators below
    out += first ? std::to_string(count) + " tensor(s) " + origin_name(origin)
                 : ", " + std::to_string(count) + " " + origin_name(origin);
    first = false;
  }
  out += ", " + std::to_string(r.inserted_operators.size()) + " operator(s) inserted";
  if (r.float_operators) out += ", " + std::to_string(r.float_operators) + " run in float";
  size_t reexpressed = 0;
  for (const auto& c : r.changes) reexpressed += !c.reexpressed.empty();
  if (reexpressed) out += ", " + std::to_string(reexpressed) + " re-expressed";
  size_t relayout = 0;
  for (const auto& c : r.changes) relayout += !c.relayout.empty();
  if (relayout) out += ", " + std::to_string(relayout) + " value(s) moved to the model's layout";
  if (!o.dry_run) out += "; " + std::to_string(r.output_bytes) + " bytes";
  return out;
}

}  // namespace qimplant
