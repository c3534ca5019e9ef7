// How an unqualified table name resolves, as PostgreSQL would for the client: the schemas of
// the client's search_path in order, and the relations that share a synced table's name (one
// of them earlier in the path hides the synced table). Plus the two ways a search_path is
// written: a setting's value ("$user", public) and a SET statement. Pure.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apibouncer::interceptor {

using QualifiedName = std::pair<std::string, std::string>;  // schema, relation

struct NameResolution {
  std::vector<std::string> search_path = {"public"};  // "$user" already replaced
  // Every relation named like a synced table, in any schema (the synced ones included).
  const std::set<QualifiedName>* relations = nullptr;
};

constexpr std::string_view kDefaultSearchPath = "\"$user\", public";

// The schemas of a search_path value: comma-separated, quoted names kept as written, unquoted
// ones folded to lower case, "$user" replaced by `user`.
std::vector<std::string> parseSearchPath(std::string_view value, std::string_view user);

// What a simple-protocol Query does to search_path: nothing (nullopt), a new value (the
// schemas, unresolved, "$user" kept) or a reset to the default (an empty optional inside).
// SET LOCAL is transaction-scoped and ignored. Only text naming search_path is parsed.
std::optional<std::optional<std::vector<std::string>>> searchPathChange(std::string_view sql);

}  // namespace apibouncer::interceptor
