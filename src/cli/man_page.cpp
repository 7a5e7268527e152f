#include "cli/man_page.h"

#include <sstream>

namespace qimplant::cli {

namespace {

// Text for roff: backslashes doubled, '-' as \- (man renders it as a hyphen-minus that can be
// searched and copied), a line starting with '.' or '\'' protected so it is not a request.
std::string roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

bool shown(const CLI::Option* opt) {
  return !opt->get_group().empty();
}

// "-v, --verbose" or "--rounding TEXT:{half-even,half-away}".
std::string option_heading(const CLI::Option* opt) {
  std::string names = opt->get_name(false, true);
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += names[i];
    if (names[i] == ',') out += ' ';
  }
  std::string text = "\\fB" + roff(out) + "\\fR";
  if (opt->get_type_size_max() > 0) text += " \\fI" + roff(opt->get_type_name()) + "\\fR";
  return text;
}

void options_section(std::ostringstream& os, const CLI::App& app) {
  for (const CLI::Option* opt : app.get_options()) {
    if (!shown(opt) || !opt->nonpositional()) continue;
    os << ".TP\n" << option_heading(opt) << "\n" << roff(opt->get_description());
    if (!opt->get_default_str().empty()) os << " (default: " << roff(opt->get_default_str()) << ")";
    os << "\n";
  }
}

void arguments(std::ostringstream& os, const CLI::App& app) {
  for (const CLI::Option* opt : app.get_options()) {
    if (!shown(opt) || opt->nonpositional()) continue;
    os << ".TP\n\\fI" << roff(opt->get_name(true)) << "\\fR\n"
       << roff(opt->get_description()) << "\n";
  }
}

std::string positionals(const CLI::App& app) {
  std::string out;
  for (const CLI::Option* opt : app.get_options()) {
    if (shown(opt) && !opt->nonpositional()) out += " \\fI" + roff(opt->get_name(true)) + "\\fR";
  }
  return out;
}

}  // namespace

std::string man_page(const CLI::App& app, const std::string& version) {
  const std::string name = app.get_name();
  // The app's description starts "q-implant: <what it does>.", then usage lines.
  std::string description = app.get_description();
  std::string summary = description.substr(0, description.find('\n'));
  if (summary.rfind(name + ": ", 0) == 0) summary = summary.substr(name.size() + 2);
  if (!summary.empty() && summary.back() == '.') summary.pop_back();
  const auto subcommands = app.get_subcommands([](const CLI::App*) { return true; });

  std::ostringstream os;
  os << ".TH "
     << "Q\\-IMPLANT 1 \"\" \"" << roff(name + " " + version) << "\" \"User Commands\"\n";
  os << ".SH NAME\n" << roff(name) << " \\- " << roff(summary) << "\n";
  os << ".SH SYNOPSIS\n";
  // One text line each: a line that starts with a space would break the filled line in roff.
  os << "\\fB" << roff(name) << "\\fR" << positionals(app) << " [\\fIoptions\\fR]\n";
  for (const CLI::App* sub : subcommands) {
    os << ".br\n\\fB" << roff(name) << " " << roff(sub->get_name()) << "\\fR" << positionals(*sub)
       << " [\\fIoptions\\fR]\n";
  }
  os << ".SH DESCRIPTION\n" << roff(summary) << ".\n";
  os << ".PP\nWithout a command, " << roff(name)
     << " implants: it reads the fp32 model and qparam.json and writes the quantized model. "
        "Each command below has its own options.\n";
  os << ".SH ARGUMENTS\n";
  arguments(os, app);
  os << ".SH OPTIONS\n";
  options_section(os, app);
  os << ".SH COMMANDS\n";
  for (const CLI::App* sub : subcommands) {
    os << ".SS " << roff(name + " " + sub->get_name()) << positionals(*sub) << " [options]\n"
       << roff(sub->get_description()) << ".\n";
    arguments(os, *sub);
    options_section(os, *sub);
  }
  os << ".SH EXIT STATUS\n"
        "0 on success; 1 when an input is wrong (one message on stderr naming the file, the "
        "tensor, the field, what was expected and what was found; nothing is written) or a "
        "check fails; 2 on bad command-line usage.\n";
  os << ".SH SEE ALSO\nThe README of q-implant (qparam.json format, rules, examples).\n";
  return os.str();
}

}  // namespace qimplant::cli
