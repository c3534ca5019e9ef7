// Classifier: the cheap gate, then libpg_query's JSON tree walked with RapidJSON
// (see classifier.h).
#include "interceptor/classifier.h"

#include "interceptor/large_stack.h"
#include "interceptor/parse_tree_json.h"

#include <pg_query.h>
#include <rapidjson/document.h>

#include <cctype>
#include <memory>

namespace apibouncer::interceptor {
namespace {

using parse_tree::Json;
using parse_tree::member;
using parse_tree::nonEmptyArray;
using parse_tree::text;

bool isIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

Refusal refuse(std::string sqlstate, std::string message, std::string hint = {}) {
  return Refusal{std::move(sqlstate), std::move(message), std::move(hint)};
}

std::string qualifiedName(const TableConfig& table) {
  return table.schema + "." + table.table;
}

class TreeWalker {
 public:
  TreeWalker(const SyncConfig& config, const NameResolution& names)
      : config_(config), names_(names) {}

  // The synced table a RangeVar names, or nullptr. An unqualified name is looked up along the
  // client's search_path: the first schema that has a relation of that name decides.
  const TableConfig* syncedTable(const Json* range_var) const {
    if (range_var == nullptr) return nullptr;
    std::string_view schema = text(member(*range_var, "schemaname"));
    std::string_view name = text(member(*range_var, "relname"));
    if (!schema.empty()) return config_.findTable(schema, name);
    for (const std::string& candidate : names_.search_path) {
      if (const TableConfig* table = config_.findTable(candidate, name)) return table;
      if (names_.relations != nullptr &&
          names_.relations->count(QualifiedName(candidate, std::string(name))))
        return nullptr;  // another relation of that name comes first
    }
    return nullptr;
  }

  // Data-modifying CTEs of a statement that touch a synced table: refused, since their rows
  // would have to go through the API inside another statement.
  bool cteWritesSynced(const Json& stmt, std::string& table_name) const {
    const Json* with = member(stmt, "withClause");
    const Json* ctes = with ? member(*with, "ctes") : nullptr;
    if (!nonEmptyArray(ctes)) return false;
    for (const auto& cte : ctes->GetArray()) {
      const Json* body = member(cte, "CommonTableExpr");
      const Json* query = body ? member(*body, "ctequery") : nullptr;
      if (query == nullptr) continue;
      for (const char* kind : {"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"}) {
        const Json* inner = member(*query, kind);
        if (inner == nullptr) continue;
        if (const TableConfig* t = syncedTable(member(*inner, "relation"))) {
          table_name = qualifiedName(*t);
          return true;
        }
        if (cteWritesSynced(*inner, table_name)) return true;
      }
      if (const Json* inner = member(*query, "SelectStmt");
          inner && cteWritesSynced(*inner, table_name))
        return true;
    }
    return false;
  }

  // Classifies one top-level statement node ({"InsertStmt": {...}} etc.). Returns false and
  // sets `refusal` if it must be refused; sets `write` (table != nullptr) for a synced write.
  bool statement(const Json& node, SyncedWrite& write, Refusal& refusal) const {
    if (!node.IsObject() || node.MemberCount() != 1) return true;
    std::string_view kind(node.MemberBegin()->name.GetString(),
                          node.MemberBegin()->name.GetStringLength());
    const Json& body = node.MemberBegin()->value;
    std::string cte_table;
    if (cteWritesSynced(body, cte_table)) {
      refusal =
          refuse("0A000", "a data-modifying WITH query cannot write the synced table " + cte_table,
                 "Run the INSERT, UPDATE or DELETE on " + cte_table + " as its own statement.");
      return false;
    }
    if (kind == "InsertStmt" || kind == "UpdateStmt" || kind == "DeleteStmt") {
      const TableConfig* table = syncedTable(member(body, "relation"));
      if (table == nullptr) return true;
      write.table = table;
      write.kind = kind == "InsertStmt"   ? WriteKind::kInsert
                   : kind == "UpdateStmt" ? WriteKind::kUpdate
                                          : WriteKind::kDelete;
      write.returning = nonEmptyArray(member(body, "returningList"));
      if (const Json* conflict = member(body, "onConflictClause")) {
        if (text(member(*conflict, "action")) == "ONCONFLICT_UPDATE") {
          refusal =
              refuse("0A000",
                     "INSERT ... ON CONFLICT DO UPDATE is not supported on the synced table " +
                         qualifiedName(*table),
                     "Use INSERT ... ON CONFLICT DO NOTHING, then UPDATE the rows that "
                     "already existed.");
          return false;
        }
        write.on_conflict_do_nothing = true;
      }
      return true;
    }
    if (kind == "MergeStmt") {
      if (const TableConfig* table = syncedTable(member(body, "relation"))) {
        refusal =
            refuse("0A000", "MERGE is not supported on the synced table " + qualifiedName(*table),
                   "Use separate INSERT, UPDATE and DELETE statements.");
        return false;
      }
      return true;
    }
    if (kind == "TruncateStmt") {
      const Json* relations = member(body, "relations");
      if (relations != nullptr && relations->IsArray())
        for (const auto& relation : relations->GetArray())
          if (const TableConfig* table = syncedTable(member(relation, "RangeVar"))) {
            refusal = refuse(
                "0A000", "TRUNCATE is not supported on the synced table " + qualifiedName(*table),
                "DELETE the rows instead (at most the table's row limit per "
                "statement).");
            return false;
          }
      return true;
    }
    if (kind == "CopyStmt") {
      const Json* is_from = member(body, "is_from");
      bool from = is_from != nullptr && is_from->IsBool() && is_from->GetBool();
      const TableConfig* table = syncedTable(member(body, "relation"));
      if (from && table != nullptr) {
        refusal = refuse("0A000",
                         "COPY FROM is not supported on the synced table " + qualifiedName(*table),
                         "Use INSERT statements (at most the table's row limit each).");
        return false;
      }
      return true;
    }
    if (kind == "ExplainStmt" || kind == "PrepareStmt") {
      // EXPLAIN ANALYZE runs the statement, and a PREPAREd one runs later by EXECUTE, which
      // names no table: neither may reach a synced table behind the API's back.
      const Json* query = member(body, "query");
      SyncedWrite inner;
      if (query != nullptr && !statement(*query, inner, refusal)) return false;
      if (inner.table != nullptr) {
        bool analyze = false;
        if (const Json* options = member(body, "options"); options && options->IsArray())
          for (const auto& option : options->GetArray())
            if (const Json* def = member(option, "DefElem"))
              analyze |= text(member(*def, "defname")) == "analyze";
        if (kind == "ExplainStmt" && !analyze) return true;
        refusal = refuse("0A000",
                         std::string(kind == "ExplainStmt" ? "EXPLAIN ANALYZE" : "PREPARE") +
                             " of a write to the synced table " + qualifiedName(*inner.table) +
                             " is not supported",
                         "Run the statement itself; drivers' protocol-level prepared statements "
                         "are supported.");
        return false;
      }
      return true;
    }
    return true;
  }

 private:
  const SyncConfig& config_;
  const NameResolution& names_;
};

}  // namespace

bool containsWord(std::string_view sql, std::string_view word) {
  if (word.empty() || sql.size() < word.size()) return false;
  char first = static_cast<char>(std::tolower(static_cast<unsigned char>(word[0])));
  for (size_t i = 0; i + word.size() <= sql.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(sql[i])) != first) continue;
    if (i > 0 && isIdentChar(sql[i - 1])) continue;
    size_t end = i + word.size();
    if (end < sql.size() && isIdentChar(sql[end])) continue;
    if (equalsIgnoreCase(sql.substr(i, word.size()), word)) return true;
  }
  return false;
}

bool Classifier::mayWriteSyncedTable(std::string_view sql) const {
  if (config_.tables.empty()) return false;
  bool write_keyword = false;
  for (std::string_view keyword :
       {"insert", "update", "delete", "merge", "copy", "truncate", "prepare", "explain"})
    if (containsWord(sql, keyword)) {
      write_keyword = true;
      break;
    }
  if (!write_keyword) return false;
  // Quoted names ("Customers") and schema-qualified ones contain the bare name too.
  for (const TableConfig& table : config_.tables)
    if (containsWord(sql, table.table)) return true;
  return false;
}

Classification Classifier::classify(std::string_view sql, const NameResolution& names) const {
  Classification result;
  if (!mayWriteSyncedTable(sql)) return result;
  if (sql.size() > kMaxParsedSql) {
    result.kind = Classification::Kind::kRefused;
    result.refusal = refuse("54000",
                            "statement too long to check for writes to synced tables (" +
                                std::to_string(sql.size()) + " bytes, at most " +
                                std::to_string(kMaxParsedSql) + ")",
                            "Split it into smaller statements.");
    return result;
  }
  std::string terminated(sql);
  PgQueryParseResult parsed;
  runOnLargeStack(sql.size(), [&] { parsed = pg_query_parse(terminated.c_str()); });
  std::unique_ptr<PgQueryParseResult, void (*)(PgQueryParseResult*)> guard(
      &parsed, [](PgQueryParseResult* r) { pg_query_free_parse_result(*r); });
  result.parsed = true;
  if (parsed.error != nullptr) {
    result.kind = Classification::Kind::kRefused;
    result.refusal =
        refuse("42601", std::string(parsed.error->message) +
                            " (the statement mentions a synced table, so apibouncer must "
                            "understand it before it runs)");
    return result;
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(parsed.parse_tree);
  const Json* stmts = doc.HasParseError() ? nullptr : member(doc, "stmts");
  if (stmts == nullptr || !stmts->IsArray()) return result;  // empty text or comments only
  TreeWalker walker(config_, names);
  for (const auto& raw : stmts->GetArray()) {
    ++result.statements;
    const Json* stmt = member(raw, "stmt");
    if (stmt == nullptr) continue;
    SyncedWrite write;
    if (!walker.statement(*stmt, write, result.refusal)) {
      result.kind = Classification::Kind::kRefused;
      result.writes.clear();
      return result;
    }
    if (write.table == nullptr) continue;
    const Json* location = member(raw, "stmt_location");
    const Json* length = member(raw, "stmt_len");
    write.offset = location && location->IsInt() ? static_cast<size_t>(location->GetInt()) : 0;
    write.length = length && length->IsInt() && length->GetInt() > 0
                       ? static_cast<size_t>(length->GetInt())
                       : sql.size() - write.offset;
    result.writes.push_back(write);
  }
  if (!result.writes.empty()) result.kind = Classification::Kind::kSyncedWrite;
  return result;
}

}  // namespace apibouncer::interceptor
