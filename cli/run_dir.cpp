#include "cli/run_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/args.hpp"

namespace inflab::cli {

namespace fs = std::filesystem;


namespace {
// What counts as results: any file but the settings, the command line and temporaries,
// CSV and JSON-lines files with more than their header line. A directory holding only
// settings (a run that failed before producing anything) may be reused.
bool holds_results(const std::string& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string f = e.path().filename().string(), ext = e.path().extension().string();
    if (f == "settings.json" || f == "command.txt" || f == ".lock" || f.find(".tmp-") != std::string::npos) continue;
    if (ext == ".csv" || ext == ".jsonl") {
      std::ifstream in(e.path());
      std::string line;
      int lines = 0;
      while (lines < 2 && std::getline(in, line)) lines += !line.empty();
      if (lines < 2) continue;
    }
    return true;
  }
  return false;
}

// A directory with results resumes only with the same command and settings: a usage error
// naming the first setting that differs.
void check_resume(const std::string& dir, const std::string& sp, const nlohmann::json& want) {
  nlohmann::json have;
  try {
    std::ifstream in(sp);
    have = nlohmann::json::parse(in);
  } catch (const std::exception&) {
    throw UsageError(sp + " is not valid JSON; use another --out or delete the directory");
  }
  const std::string command = want["command"];
  if (have.value("command", "") != command)
    throw UsageError("run directory '" + dir + "' holds a '" + have.value("command", "?") + "' run; use another --out");
  for (auto it = have["settings"].begin(); it != have["settings"].end(); ++it)
    if (!want["settings"].contains(it.key()))
      throw UsageError("run directory '" + dir + "' was made with --" + it.key() + " " + it.value().dump() +
                       ", which this command does not take; use another --out");
  for (auto it = want["settings"].begin(); it != want["settings"].end(); ++it)
    if (!have["settings"].contains(it.key()) || have["settings"][it.key()] != it.value())
      throw UsageError("run directory '" + dir + "' was made with --" + it.key() + " " +
                       (have["settings"].contains(it.key()) ? have["settings"][it.key()].dump() : std::string("(unset)")) +
                       ", now " + it.value().dump() + "; use another --out to start a new run, or the same settings to resume");
}

// a value as the shell reads it back: as it is when it holds only safe characters, else in
// single quotes (' as '\'')
std::string shell_word(const std::string& v) {
  if (!v.empty() && v.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,:/+-=") == std::string::npos) return v;
  std::string q = "'";
  for (char ch : v) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

// command.txt: the command line that repeats the run (`sh command.txt` from where it ran)
std::string command_line(const std::string& command, const nlohmann::json& settings, const std::string& dir) {
  std::string line = "inflab " + command;
  for (const auto& t : setting_tokens(settings)) line += " " + shell_word(t);  // option names are shell-safe as they are
  return line + " --out " + shell_word(dir) + "\n";
}
}  // namespace

std::vector<std::string> setting_tokens(const nlohmann::json& settings) {
  std::vector<std::string> tokens;
  for (auto it = settings.begin(); it != settings.end(); ++it) {
    std::string v;
    if (it.value().is_string()) v = it.value().get<std::string>();
    else if (it.value().is_array()) {
      for (const auto& e : it.value()) v += (v.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
    } else v = it.value().dump();
    if (v.empty()) continue;  // an unset option (empty text or list) is its default
    if (it.value().is_boolean()) {
      if (it.value().get<bool>()) tokens.push_back("--" + it.key());
    } else tokens.insert(tokens.end(), {"--" + it.key(), v});
  }
  return tokens;
}

RunDir::RunDir(const std::string& dir, const std::string& command, const nlohmann::json& settings) : dir_(dir), command_(command) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw Error("cannot create the run directory '" + dir + "': " + ec.message());
  lock_.fd = ::open(path(".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_.fd < 0) throw Error("cannot create the lock file '" + path(".lock") + "'");
  if (::flock(lock_.fd, LOCK_EX | LOCK_NB) != 0) {
    throw UsageError("run directory '" + dir + "' is in use by another inflab run; wait for it or use another --out");
  }
  const std::string sp = path("settings.json");
  const nlohmann::json want = {{"command", command}, {"settings", settings}};
  const bool results = holds_results(dir);
  if (results && !fs::exists(sp))
    throw UsageError("'" + dir + "' already holds files but no settings.json: not an inflab run directory; use another --out");
  if (results) check_resume(dir, sp, want);
  write_json("settings.json", want);
  write_file(path("command.txt"), command_line(command, settings, dir));
}

RunDir::Lock::~Lock() {
  if (fd >= 0) ::close(fd);
}

void RunDir::write_json(const std::string& name, const nlohmann::json& j) const { write_file(path(name), j.dump(2) + "\n"); }

CsvLog::CsvLog(const std::string& path, const std::vector<std::string>& header, bool resume) : path_(path) {
  std::string head;
  for (const auto& h : header) head += (head.empty() ? "" : ",") + h;
  std::ifstream in(path);
  std::string first;
  if (resume && in && std::getline(in, first)) {
    if (first != head) throw Error(path + ": its header differs from this run's (" + first + "); use another --out");
    // drop a torn last line, so appended rows start on a line of their own
    std::stringstream ss;
    ss << in.rdbuf();
    std::string rest = ss.str();
    if (!rest.empty() && rest.back() != '\n') rest.erase(rest.rfind('\n') == std::string::npos ? 0 : rest.rfind('\n') + 1);
    write_file(path, head + "\n" + rest);
  } else {
    write_file(path, head + "\n");
  }
}

std::vector<std::string> CsvLog::done_keys() const {
  std::ifstream in(path_);
  std::string line;
  std::vector<std::string> keys;
  std::getline(in, line);
  while (std::getline(in, line))
    if (!line.empty()) keys.push_back(line.substr(0, line.find(',')));
  return keys;
}

void CsvLog::row(const std::vector<std::string>& cells) {
  std::string l;
  for (const auto& c : cells) l += (l.empty() ? "" : ",") + c;
  std::ofstream out(path_, std::ios::app);
  out << l << "\n";
  out.flush();
  if (!out) throw Error("cannot append to '" + path_ + "'");
}

std::string CsvLog::text(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : c == '\n' ? std::string(" ") : std::string(1, c);
  return q + "\"";
}

std::vector<std::string> CsvLog::split(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

std::string CsvLog::cell(double v) {
  if (std::isnan(v)) return "nan";
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

}  // namespace inflab::cli
