// The run directory every command writes: settings.json (every resolved option, to repeat
// the run), command.txt (the same as one command line), summary.json, CSVs and plots.
// Rerunning into the same directory with the same settings resumes (finished work is read
// back); with different settings it is refused, naming the setting (unless the directory
// holds nothing but settings, from a run that failed before writing anything).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autodiff/tensor.hpp"
#include "util/files.hpp"
#include "util/progress.hpp"

namespace inflab::cli {

// The options of a recorded settings.json as command-line tokens ("--name", "value"; a true
// flag alone; unset options left out): what command.txt and a study's remote tasks repeat.
std::vector<std::string> setting_tokens(const nlohmann::json& settings);

// Writes via a temporary file renamed over `path`: readers never see half a file.
inline void write_file(const std::string& path, const std::string& text) { util::write_file_atomic(path, text); }

// Holds an exclusive lock (flock on DIR/.lock) while it lives: a second run into the same
// directory is refused instead of interleaving its rows with this one's.
class RunDir {
 public:
  RunDir(const std::string& dir, const std::string& command, const nlohmann::json& settings);
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }
  const std::string& command() const { return command_; }
  void write_json(const std::string& name, const nlohmann::json& j) const;

 private:
  struct Lock {  // the open lock file; closing it releases the flock
    int fd = -1;
    ~Lock();
  };
  std::string dir_, command_;
  Lock lock_;
};

// A CSV table appended row by row (flushed each time) so a long run keeps what it finished.
// With resume, rows already in the file are kept (`done_keys`: their first column) and a
// different header is an Error; without, the file starts empty.
class CsvLog {
 public:
  CsvLog(const std::string& path, const std::vector<std::string>& header, bool resume = false);
  std::vector<std::string> done_keys() const;
  void row(const std::vector<std::string>& cells);
  static std::string cell(double v);
  static std::string text(const std::string& s);  // quoted when it holds , " or a newline (RFC 4180)
  // One line split into cells, quotes undone (the inverse of row() with text() cells).
  static std::vector<std::string> split(const std::string& line);

 private:
  std::string path_;
};


}  // namespace inflab::cli
