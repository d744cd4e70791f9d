#include "cli/report.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/run_dir.hpp"

namespace inflab::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;" : std::string(1, c);
  return o;
}

void Report::section(const std::string& heading, const std::string& html) { parts_.push_back({heading, html, ""}); }
void Report::figure(const std::string& file, const std::string& caption) { parts_.push_back({caption, "", file}); }

namespace {
const char* kStyle = R"(body{font:15px/1.45 "DejaVu Sans",Arial,sans-serif;color:#222;max-width:1180px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:28px}
pre,code{font:13px/1.35 "DejaVu Sans Mono",monospace}pre{background:#f6f6f6;padding:10px;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #ccc;padding:2px 7px;text-align:right}
th{background:#eee}td.strip,td.key,th.key{text-align:left}.wide{overflow-x:auto}
ul.warn li{color:#a40000}figure{margin:10px 0;break-inside:avoid}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:13px;color:#555}a{color:#0b57d0}
@media print{body{max-width:none;margin:0}pre{white-space:pre-wrap}h2{break-after:avoid}.wide{overflow:visible}})";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string number(const json& v) { return v.is_number_float() ? fmt("%.4g", v.get<double>()) : v.is_null() ? "n/a" : v.dump(); }

// every {pearson, n, …} object of the summary, named by its path ("kinds / knn / first")
void find_scores(const json& j, const std::string& path, std::vector<std::pair<std::string, json>>& out) {
  if (!j.is_object()) return;
  if (j.contains("pearson") && j.contains("n")) return out.emplace_back(path.empty() ? "scores" : path, j), void();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "problem") find_scores(it.value(), path.empty() ? it.key() : path + " / " + it.key(), out);
}
std::string scores_html(const json& summary) {
  std::vector<std::pair<std::string, json>> found;
  find_scores(summary, "", found);
  std::ostringstream o;
  if (!found.empty()) {
    o << "<table class=\"scores\"><tr><th class=\"key\">scores of</th><th>n</th><th>Pearson</th><th>Spearman</th><th>Kendall τ</th>"
         "<th>relative error</th><th>signs agree</th><th class=\"key\">undefined because</th></tr>\n";
    for (const auto& [name, s] : found)
      o << "<tr><td class=\"key\">" << html_escape(name) << "</td><td>" << number(s.value("n", json())) << "</td><td>" << number(s.value("pearson", json()))
        << "</td><td>" << number(s.value("spearman", json())) << "</td><td>" << number(s.value("kendall_tau", json())) << "</td><td>"
        << number(s.value("relative_error", json())) << "</td><td>" << number(s.value("signs_agree", json())) << "</td><td class=\"key\">"
        << html_escape(s.value("undefined", "")) << "</td></tr>\n";
    o << "</table>\n";
  }
  std::string nums;  // the summary's other top-level numbers (AUCs, λmin, …)
  for (auto it = summary.begin(); it != summary.end(); ++it)
    if (it.value().is_number() || it.value().is_boolean())
      nums += "<tr><td class=\"key\">" + html_escape(it.key()) + "</td><td>" + number(it.value()) + "</td></tr>\n";
  if (!nums.empty()) o << "<table>" << nums << "</table>\n";
  return o.str();
}

// every warning, solve warning and score caveat anywhere in summary.json, once each
void gather_warnings(const json& j, std::vector<std::string>& w) {
  auto add = [&](const json& e) {
    if (e.is_string() && !e.get<std::string>().empty() && std::find(w.begin(), w.end(), e.get<std::string>()) == w.end())
      w.push_back(e.get<std::string>());
  };
  if (j.is_array())
    for (const auto& e : j) gather_warnings(e, w);
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "warnings" && it.value().is_array())
      for (const auto& e : it.value()) add(e);
    else if (it.key() == "warning" || it.key() == "caveat" || it.key() == "solve_warning") add(it.value());
    else gather_warnings(it.value(), w);
  }
}

std::string warnings_html(const json& summary) {
  std::vector<std::string> w;
  gather_warnings(summary, w);
  if (w.empty()) return "<p>No warnings.</p>\n";
  std::string o = "<ul class=\"warn\">";
  for (const auto& s : w) o += "<li>" + html_escape(s) + "</li>";
  return o + "</ul>\n";
}

// a markdown file's pipe tables as HTML tables, other lines as paragraphs
std::string markdown_html(const std::string& md) {
  std::istringstream in(md);
  std::string o, line;
  bool table = false;
  for (bool first = true; std::getline(in, line);) {
    const bool row = line.rfind("|", 0) == 0;
    if (row && !table) o += "<div class=\"wide\"><table>", table = true, first = true;
    if (!row && table) o += "</table></div>\n", table = false;
    if (!row) {
      if (!line.empty()) o += "<p>" + html_escape(line) + "</p>\n";
      continue;
    }
    if (line.find("---") != std::string::npos) continue;
    std::string r = "<tr>";
    std::stringstream ss(line.substr(1, line.rfind('|') - 1));
    for (std::string c; std::getline(ss, c, '|');) {
      c.erase(0, c.find_first_not_of(' ')), c.erase(c.find_last_not_of(' ') + 1);
      r += (first ? "<th>" : "<td>") + html_escape(c) + (first ? "</th>" : "</td>");
    }
    o += r + "</tr>\n", first = false;
  }
  return table ? o + "</table></div>\n" : o;
}

std::vector<std::string> files_with(const RunDir& rd, const std::string& ext) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(rd.dir()))
    if (e.is_regular_file() && e.path().extension() == ext && e.path().filename().string().find(".tmp-") == std::string::npos)
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string figure_html(const std::string& file, const std::string& caption) {
  return "<figure><img src=\"" + html_escape(file) + "\" alt=\"" + html_escape(caption) + "\"><figcaption>" + html_escape(caption) +
         " (<a href=\"" + html_escape(file) + "\">" + html_escape(file) + "</a>)</figcaption></figure>\n";
}
}  // namespace

std::string csv_table(const std::string& path, std::size_t rows, std::size_t* total) {
  std::ifstream in(path);
  std::string line, o = "<div class=\"wide\"><table>";
  std::size_t n = 0;
  for (bool head = true; std::getline(in, line); head = false) {
    if (line.empty()) continue;
    if (!head && n++ >= rows) continue;
    o += "<tr>";
    for (const auto& c : CsvLog::split(line)) o += (head ? "<th>" : "<td>") + html_escape(c) + (head ? "</th>" : "</td>");
    o += "</tr>\n";
  }
  if (total) *total = n;
  return o + "</table></div>\n";
}

namespace {
// the run's files found in its directory: plots not shown yet, tables, text, other files
std::string found_html(const RunDir& rd, const std::set<std::string>& shown) {
  std::ostringstream o;
  std::string plots;
  for (const auto& f : files_with(rd, ".svg"))
    if (!shown.count(f)) plots += figure_html(f, f.substr(0, f.size() - 4));
  if (!plots.empty()) o << "<h2>Plots</h2>\n" << plots;
  for (const auto& f : files_with(rd, ".md")) o << "<h2>" << html_escape(f) << "</h2>\n" << markdown_html(slurp(rd.path(f)));
  for (const auto& f : files_with(rd, ".txt"))
    if (f != "command.txt") o << "<h2>" << html_escape(f) << "</h2>\n<pre>" << html_escape(slurp(rd.path(f))) << "</pre>\n";
  for (const auto& f : files_with(rd, ".csv")) {
    std::size_t n = 0;
    const std::string t = csv_table(rd.path(f), 10, &n);
    o << "<h2>" << html_escape(f) << "</h2>\n<p>" << (n > 10 ? "The first 10 of " : "All ") << n << " rows; the whole table: <a href=\""
      << html_escape(f) << "\">" << html_escape(f) << "</a></p>\n" << t;
  }
  std::vector<std::string> all;
  for (const auto& e : fs::directory_iterator(rd.dir())) {
    const std::string f = e.path().filename().string();
    if (f != ".lock" && f != "index.html" && f.find(".tmp-") == std::string::npos) all.push_back(f + (e.is_directory() ? "/" : ""));
  }
  std::sort(all.begin(), all.end());
  o << "<h2>Files</h2>\n<ul>";
  for (const auto& f : all) o << "<li><a href=\"" << html_escape(f) << "\">" << html_escape(f) << "</a></li>";
  o << "</ul>\n";
  return o.str();
}

std::string settings_html(const json& settings) {
  std::string o = "<table>";
  for (auto it = settings.begin(); it != settings.end(); ++it)
    o += "<tr><td class=\"key\">--" + html_escape(it.key()) + "</td><td class=\"key\">" +
         html_escape(it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) + "</td></tr>";
  return o + "</table>\n";
}

json read_json(const std::string& path) {
  try {
    return json::parse(slurp(path));
  } catch (const std::exception&) {
    return json::object();
  }
}
}  // namespace

void Report::write(const RunDir& rd, const std::string& title, const std::string& screen) const {
  const json summary = read_json(rd.path("summary.json")), settings = read_json(rd.path("settings.json"));
  std::ostringstream o;
  o << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
    << "<title>" << html_escape(title) << "</title><style>" << kStyle << "</style></head><body>\n"
    << "<h1>" << html_escape(title) << "</h1>\n<p>Repeat this run: <code>" << html_escape(slurp(rd.path("command.txt"))) << "</code></p>\n"
    << "<h2>Summary</h2>\n<pre>" << html_escape(screen) << "</pre>\n<h2>Warnings</h2>\n" << warnings_html(summary)
    << "<h2>Scores and numbers</h2>\n" << scores_html(summary);
  std::set<std::string> shown;
  for (const auto& p : parts_) {
    o << "<h2>" << html_escape(p.heading) << "</h2>\n";
    if (!p.file.empty()) o << figure_html(p.file, p.heading), shown.insert(p.file);
    o << p.html;
  }
  o << found_html(rd, shown) << "<h2>Settings</h2>\n" << settings_html(settings.value("settings", json::object())) << "</body></html>\n";
  write_file(rd.path("index.html"), o.str());
}

}  // namespace inflab::cli
