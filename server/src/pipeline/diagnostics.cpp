#include "pipeline/diagnostics.h"

#include <regex>

namespace studyhub::pipeline {

namespace {

std::string strip_ansi(std::string_view s) {
  static const std::regex ansi("\x1b\\[[0-9;]*[A-Za-z]");
  return std::regex_replace(std::string(s), ansi, "");
}

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

struct Mapper {
  std::string work;
  const std::set<std::string>& known;
  std::optional<std::string> map(std::string file) const {
    file = trim(file);
    if (!work.empty() && file.starts_with(work)) file = file.substr(work.size());
    while (file.starts_with("./")) file = file.substr(2);
    if (known.count(file)) return file;
    if (file.starts_with("/")) {
      // A build folder we do not know (a remote runner's): the longest sandbox file it ends with.
      std::optional<std::string> best;
      for (const auto& k : known)
        if (file.size() > k.size() && file.ends_with(k) && file[file.size() - k.size() - 1] == '/' &&
            (!best || k.size() > best->size()))
          best = k;
      return best;
    }
    return std::nullopt;
  }
};

}  // namespace

std::vector<Diagnostic> parse_diagnostics(std::string_view log, const std::filesystem::path& work_dir,
                                          const std::set<std::string>& known_files) {
  static const std::regex ts(R"(^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+: .*)$)");
  static const std::regex esbuild(R"(^(?:.*?\s)?([^\s:]+):(\d+):(\d+): (ERROR|WARNING|error|warning): (.*)$)");
  static const std::regex boxed(R"(╭─\[\s*([^\]]+?):(\d+):(\d+)\s*\])");
  static const std::regex babel(R"(^(?:\[[\w:-]+\] )?(?:SyntaxError: )?(\S+?): (.+) \((\d+):(\d+)\):?$)");
  static const std::regex cra_line(R"(^\s+Line (\d+):(\d+):\s+(.*)$)");
  static const std::regex error_title(R"(^\s*(?:\[[A-Z_]+\] )?(?:Error|error)?:?\s*(.+)$)");

  Mapper m{work_dir.empty() ? std::string() : work_dir.string() + "/", known_files};
  std::vector<Diagnostic> out;
  std::vector<std::string> lines;
  for (size_t start = 0; start <= log.size();) {
    size_t nl = log.find('\n', start);
    lines.push_back(strip_ansi(log.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start)));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  std::string cra_file;  // inside a "Failed to compile." block: the file its "Line" entries belong to
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::smatch mt;
    if (std::regex_match(line, mt, ts)) {
      if (auto f = m.map(mt[1])) out.push_back({*f, std::stoi(mt[2]), std::stoi(mt[3]), mt[4], mt[5]});
    } else if (std::regex_match(line, mt, esbuild)) {
      if (auto f = m.map(mt[1]))
        out.push_back({*f, std::stoi(mt[2]), std::stoi(mt[3]), mt[4].str() == "ERROR" || mt[4].str() == "error" ? "error" : "warning", mt[5]});
    } else if (std::regex_search(line, mt, boxed)) {
      // The message is the nearest preceding line that is not decoration.
      std::string message = "build error";
      for (size_t k = i; k-- > 0 && k + 4 > i;) {
        std::smatch t;
        std::string prev = trim(lines[k]);
        if (!prev.empty() && prev.find("─") == std::string::npos && std::regex_match(prev, t, error_title)) {
          message = trim(t[1]);
          break;
        }
      }
      if (auto f = m.map(mt[1])) out.push_back({*f, std::stoi(mt[2]), std::stoi(mt[3]), "error", message});
    } else if (std::regex_match(line, mt, babel)) {
      if (auto f = m.map(mt[1])) out.push_back({*f, std::stoi(mt[3]), std::stoi(mt[4]), "error", mt[2]});
    } else if (trim(line) == "Failed to compile." || trim(line) == "Compiled with warnings.") {
      cra_file.clear();
    } else if (auto f = m.map(line); f && !line.empty() && line.front() != ' ') {
      cra_file = *f;  // a bare file name opens a group of "Line l:c:" entries
    } else if (!cra_file.empty() && std::regex_match(line, mt, cra_line)) {
      out.push_back({cra_file, std::stoi(mt[1]), std::stoi(mt[2]), "error", trim(mt[3])});
    }
  }
  // The same problem is often printed twice (by the tool and again in a summary).
  std::vector<Diagnostic> unique;
  for (auto& d : out) {
    bool seen = false;
    for (auto& u : unique)
      seen |= u.file == d.file && u.line == d.line && u.column == d.column && u.message == d.message;
    if (!seen) unique.push_back(std::move(d));
  }
  return unique;
}

}  // namespace studyhub::pipeline
