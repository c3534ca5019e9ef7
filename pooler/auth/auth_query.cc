// auth_query binding and answers (see auth_query.h).
#include "pooler/auth/auth_query.h"

namespace apibouncer::auth {

std::string bindAuthQuery(std::string_view query, std::string_view user) {
  std::string literal = "E'";
  for (char c : user) {
    if (c == '\'' || c == '\\') literal += c;
    literal += c;
  }
  literal += '\'';
  std::string out;
  out.reserve(query.size() + literal.size());
  for (size_t i = 0; i < query.size(); ++i) {
    // $1 but not $10, $11 ...: PgBouncer's query has one parameter.
    bool is_param = query[i] == '$' && i + 1 < query.size() && query[i + 1] == '1' &&
                    (i + 2 == query.size() || query[i + 2] < '0' || query[i + 2] > '9');
    if (is_param) {
      out += literal;
      ++i;
    } else {
      out += query[i];
    }
  }
  return out;
}

std::optional<Secret> secretFromAuthQueryRow(const std::vector<std::optional<std::string>>& row) {
  if (row.size() < 2 || !row[1] || row[1]->empty()) return std::nullopt;
  return classifySecret(*row[1]);
}

}  // namespace apibouncer::auth
