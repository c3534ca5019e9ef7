#include "pooler/metrics/prometheus_text.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace apibouncer::metrics {

std::string escapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string metricName(std::string_view text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (!out.empty() && std::isdigit(static_cast<unsigned char>(out.front()))) out.insert(0, "_");
  return out;
}

void appendResultSet(std::string& out, std::string_view prefix, const admin::ResultSet& rows,
                     bool counters, std::initializer_list<std::string_view> ignored) {
  const auto& names = rows.columnNames();
  const std::string& types = rows.columnTypes();
  std::vector<size_t> labels, values;
  for (size_t c = 0; c < names.size(); ++c) {
    if (std::find(ignored.begin(), ignored.end(), names[c]) != ignored.end()) continue;
    char type = c < types.size() ? types[c] : 's';
    (type == 'i' || type == 'q' ? values : labels).push_back(c);
  }
  for (size_t v : values) {
    std::string name = std::string(prefix) + "_" + metricName(names[v]);
    out += "# TYPE " + name + (counters ? " counter\n" : " gauge\n");
    for (const auto& row : rows.rows()) {
      if (v >= row.size() || !row[v]) continue;  // NULL: no sample
      out += name;
      bool first = true;
      for (size_t l : labels) {
        if (l >= row.size() || !row[l]) continue;
        out += first ? "{" : ",";
        out += metricName(names[l]) + "=\"" + escapeLabel(*row[l]) + "\"";
        first = false;
      }
      if (!first) out += "}";
      out += " " + *row[v] + "\n";
    }
  }
}

}  // namespace apibouncer::metrics
