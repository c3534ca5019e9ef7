// search_path (see search_path.h).
#include "interceptor/search_path.h"

#include <pg_query.h>
#include <rapidjson/document.h>

#include <cctype>

#include "interceptor/classifier.h"
#include "interceptor/large_stack.h"
#include "interceptor/parse_tree_json.h"

namespace apibouncer::interceptor {
using parse_tree::Json;
using parse_tree::member;
using parse_tree::text;

std::vector<std::string> parseSearchPath(std::string_view value, std::string_view user) {
  std::vector<std::string> schemas;
  size_t pos = 0;
  while (pos < value.size()) {
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == ',')) ++pos;
    if (pos >= value.size()) break;
    std::string name;
    bool quoted = value[pos] == '"';
    if (quoted) {
      for (++pos; pos < value.size(); ++pos) {
        if (value[pos] == '"') {
          if (pos + 1 < value.size() && value[pos + 1] == '"') {
            name += '"';
            ++pos;
            continue;
          }
          ++pos;
          break;
        }
        name += value[pos];
      }
    } else {
      for (; pos < value.size() && value[pos] != ','; ++pos)
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(value[pos])));
      while (!name.empty() && name.back() == ' ') name.pop_back();
    }
    while (pos < value.size() && value[pos] != ',') ++pos;
    if (name == "$user") name = std::string(user);
    if (!name.empty()) schemas.push_back(std::move(name));
  }
  return schemas;
}

std::optional<std::optional<std::vector<std::string>>> searchPathChange(std::string_view sql) {
  if (!containsWord(sql, "search_path") || sql.size() > kMaxParsedSql) return std::nullopt;
  std::string terminated(sql);
  PgQueryParseResult parsed;
  runOnLargeStack(sql.size(), [&] { parsed = pg_query_parse(terminated.c_str()); });
  std::optional<std::optional<std::vector<std::string>>> change;
  if (parsed.error == nullptr) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(parsed.parse_tree);
    const Json* stmts = doc.HasParseError() ? nullptr : member(doc, "stmts");
    if (stmts != nullptr && stmts->IsArray())
      for (const auto& raw : stmts->GetArray()) {
        const Json* stmt = member(raw, "stmt");
        const Json* set = stmt ? member(*stmt, "VariableSetStmt") : nullptr;
        if (set == nullptr || text(member(*set, "name")) != "search_path") continue;
        const Json* local = member(*set, "is_local");
        if (local != nullptr && local->IsBool() && local->GetBool()) continue;
        std::string_view kind = text(member(*set, "kind"));
        if (kind == "VAR_RESET" || kind == "VAR_SET_DEFAULT") {
          change = std::optional<std::vector<std::string>>();
          continue;
        }
        if (kind != "VAR_SET_VALUE") continue;
        std::vector<std::string> schemas;
        if (const Json* args = member(*set, "args"); args && args->IsArray())
          for (const auto& arg : args->GetArray()) {
            const Json* constant = member(arg, "A_Const");
            const Json* string = constant ? member(*constant, "sval") : nullptr;
            if (string != nullptr) schemas.emplace_back(text(member(*string, "sval")));
          }
        change = std::optional<std::vector<std::string>>(std::move(schemas));
      }
  }
  pg_query_free_parse_result(parsed);
  return change;
}

}  // namespace apibouncer::interceptor
