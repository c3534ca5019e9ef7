// Write planner (see write_plan.h). The client's statement and small templates (built from
// quoted identifiers only) are parsed into libpg_query's protobuf-c trees; client nodes are
// swapped into the templates, so every node stays owned by exactly one tree and is freed
// once, and the templates are deparsed.
#include "interceptor/write_plan.h"

#include "interceptor/large_stack.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <utility>

namespace apibouncer::interceptor {
namespace {

using Node = PgQuery__Node;
using MaybeRefusal = std::optional<Refusal>;

// Alias of the API's rows in the UPDATE and DELETE apply statements.
constexpr std::string_view kRowAlias = "apibouncer_row";

Refusal refuse(std::string sqlstate, std::string message, std::string hint = {}) {
  return Refusal{std::move(sqlstate), std::move(message), std::move(hint)};
}

// An unpacked parse tree that frees every node it still holds.
class Tree {
 public:
  Tree() = default;
  Tree(Tree&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  Tree& operator=(Tree&& other) noexcept {
    std::swap(result_, other.result_);
    return *this;
  }
  ~Tree() {
    if (result_ != nullptr) pg_query__parse_result__free_unpacked(result_, nullptr);
  }

  // An empty tree with `error` set if `sql` does not parse.
  static Tree parse(const std::string& sql, std::string& error) {
    Tree tree;
    PgQueryProtobufParseResult parsed = pg_query_parse_protobuf(sql.c_str());
    if (parsed.error != nullptr) {
      error = parsed.error->message;
    } else {
      tree.result_ = pg_query__parse_result__unpack(
          nullptr, parsed.parse_tree.len, reinterpret_cast<const uint8_t*>(parsed.parse_tree.data));
      if (tree.result_ == nullptr) error = "cannot unpack the parse tree";
    }
    pg_query_free_protobuf_parse_result(parsed);
    return tree;
  }

  bool deparse(std::string& sql, std::string& error) const {
    size_t size = pg_query__parse_result__get_packed_size(result_);
    std::string packed(size, '\0');
    pg_query__parse_result__pack(result_, reinterpret_cast<uint8_t*>(packed.data()));
    PgQueryDeparseResult deparsed = pg_query_deparse_protobuf(PgQueryProtobuf{size, packed.data()});
    bool ok = deparsed.error == nullptr;
    if (ok)
      sql = deparsed.query;
    else
      error = deparsed.error->message;
    pg_query_free_deparse_result(deparsed);
    return ok;
  }

  size_t statements() const { return result_ == nullptr ? 0 : result_->n_stmts; }
  // The statement of a one-statement tree, or nullptr.
  Node* only() const {
    if (statements() != 1 || result_->stmts[0] == nullptr) return nullptr;
    return result_->stmts[0]->stmt;
  }

 private:
  PgQuery__ParseResult* result_ = nullptr;
};

PgQuery__InsertStmt* insertStmt(Node* node) {
  return node && node->node_case == PG_QUERY__NODE__NODE_INSERT_STMT ? node->insert_stmt : nullptr;
}
PgQuery__UpdateStmt* updateStmt(Node* node) {
  return node && node->node_case == PG_QUERY__NODE__NODE_UPDATE_STMT ? node->update_stmt : nullptr;
}
PgQuery__DeleteStmt* deleteStmt(Node* node) {
  return node && node->node_case == PG_QUERY__NODE__NODE_DELETE_STMT ? node->delete_stmt : nullptr;
}
PgQuery__SelectStmt* selectStmt(Node* node) {
  return node && node->node_case == PG_QUERY__NODE__NODE_SELECT_STMT ? node->select_stmt : nullptr;
}
PgQuery__ResTarget* resTarget(Node* node) {
  return node && node->node_case == PG_QUERY__NODE__NODE_RES_TARGET ? node->res_target : nullptr;
}
bool isA(const Node* node, PgQuery__Node__NodeCase node_case) {
  return node != nullptr && node->node_case == node_case;
}
std::string_view text(const char* s) {
  return s == nullptr ? std::string_view() : s;
}

// Calls `visit` on every Node below `message`, depth first, through protobuf-c's descriptors
// (so no node type can be missed); stops as soon as `visit` returns false.
template <typename Visit>
bool walk(const ProtobufCMessage* message, const Visit& visit) {
  if (message == nullptr) return true;
  const ProtobufCMessageDescriptor* descriptor = message->descriptor;
  if (descriptor == &pg_query__node__descriptor && !visit(*reinterpret_cast<const Node*>(message)))
    return false;
  const char* base = reinterpret_cast<const char*>(message);
  for (unsigned i = 0; i < descriptor->n_fields; ++i) {
    const ProtobufCFieldDescriptor& field = descriptor->fields[i];
    if (field.type != PROTOBUF_C_TYPE_MESSAGE) continue;
    // A oneof's members share one union: only the one its case names is set.
    if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *reinterpret_cast<const uint32_t*>(base + field.quantifier_offset) != field.id)
      continue;
    if (field.label == PROTOBUF_C_LABEL_REPEATED) {
      size_t count = *reinterpret_cast<const size_t*>(base + field.quantifier_offset);
      auto items = *reinterpret_cast<ProtobufCMessage* const* const*>(base + field.offset);
      for (size_t j = 0; j < count; ++j)
        if (!walk(items[j], visit)) return false;
    } else if (!walk(*reinterpret_cast<ProtobufCMessage* const*>(base + field.offset), visit)) {
      return false;
    }
  }
  return true;
}

bool containsSubquery(size_t count, Node** nodes) {
  for (size_t i = 0; i < count; ++i)
    if (!walk(&nodes[i]->base,
              [](const Node& n) { return n.node_case != PG_QUERY__NODE__NODE_SUB_LINK; }))
      return true;
  return false;
}

int highestParam(const Node* statement) {
  int highest = 0;
  walk(&statement->base, [&highest](const Node& n) {
    if (n.node_case == PG_QUERY__NODE__NODE_PARAM_REF)
      highest = std::max(highest, n.param_ref->number);
    return true;
  });
  return highest;
}

// Appends `from`'s nodes to `to`, leaving `from` empty. The arrays are protobuf-c's, which
// frees them with free().
bool appendNodes(size_t& to_count, Node**& to, size_t& from_count, Node**& from) {
  if (from_count == 0) return true;
  auto joined = static_cast<Node**>(std::malloc((to_count + from_count) * sizeof(Node*)));
  if (joined == nullptr) return false;
  std::copy(to, to + to_count, joined);
  std::copy(from, from + from_count, joined + to_count);
  std::free(to);
  std::free(from);
  to = joined;
  to_count += from_count;
  from = nullptr;
  from_count = 0;
  return true;
}

std::string quote(std::string_view identifier) {
  std::string quoted = "\"";
  for (char c : identifier) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

// `"c1", "c2"`, each name after `qualifier.` when one is given.
std::string columnList(const std::vector<std::string>& columns, std::string_view qualifier = {}) {
  std::string list;
  for (const std::string& column : columns) {
    if (!list.empty()) list += ", ";
    if (!qualifier.empty()) list += quote(qualifier) + ".";
    list += quote(column);
  }
  return list;
}

// A row of `ref` as UTF-8 JSON text in a bytea (write_plan.h).
std::string rowAsJson(std::string_view ref) {
  return "convert_to(to_jsonb(" + quote(ref) + ".*)::text, 'UTF8')";
}

class Planner {
 public:
  explicit Planner(const WritePlanInput& input)
      : in_(input),
        name_(input.table->schema + "." + input.table->table),
        table_(quote(input.table->schema) + "." + quote(input.table->table)),
        stage_("pg_temp." + quote(input.stage)),
        rows_("jsonb_populate_recordset(NULL::" + table_ + ", convert_from($" +
              std::to_string(input.param_count + 1) + "::bytea, 'UTF8')::jsonb)") {}

  std::variant<WritePlan, Refusal> plan() {
    std::string error;
    Tree client = Tree::parse(std::string(in_.sql), error);
    if (!error.empty()) return refuse("42601", error);
    if (client.statements() != 1)
      return refuse("0A000",
                    "a write to the synced table " + name_ +
                        " must be exactly one statement, not " +
                        std::to_string(client.statements()),
                    "Send each statement on its own.");
    Node* statement = client.only();
    if (statement == nullptr) return internal("no statement");
    int highest = highestParam(statement);
    if (highest > in_.param_count)
      return refuse("08P01", "the statement uses $" + std::to_string(highest) + " but has " +
                                 std::to_string(in_.param_count) + " parameters");
    WritePlan plan;
    MaybeRefusal refusal;
    if (auto* insert = insertStmt(statement)) {
      plan.kind = WriteKind::kInsert;
      refusal = planInsert(client, *insert, plan);
    } else if (auto* update = updateStmt(statement)) {
      plan.kind = WriteKind::kUpdate;
      refusal = planUpdate(*update, plan);
    } else if (auto* del = deleteStmt(statement)) {
      plan.kind = WriteKind::kDelete;
      refusal = planDelete(*del, plan);
    } else {
      refusal =
          refuse("0A000", "only INSERT, UPDATE and DELETE can write the synced table " + name_);
    }
    if (refusal) return *std::move(refusal);
    return plan;
  }

 private:
  Refusal internal(std::string_view what) const {
    return refuse("XX000",
                  "cannot plan the write to the synced table " + name_ + ": " + std::string(what));
  }

  // Parses one statement of ours; nullptr-statement trees are reported by the callers.
  static Tree parseTemplate(const std::string& sql) {
    std::string error;
    return Tree::parse(sql, error);
  }

  MaybeRefusal checkTarget(const PgQuery__RangeVar* relation) const {
    if (relation == nullptr) return internal("no target table");
    std::string_view schema = text(relation->schemaname);
    // An unqualified name was resolved along the client's search_path by the classifier; the
    // statements planned here name the table with its schema.
    if (schema.empty()) schema = in_.table->schema;
    if (schema != in_.table->schema || text(relation->relname) != in_.table->table)
      return refuse("0A000", "the statement writes " + std::string(schema) + "." +
                                 std::string(text(relation->relname)) + ", not the synced table " +
                                 name_);
    return std::nullopt;
  }

  // The name the statement's rows go by: the client's alias, else the table's name.
  static std::string_view refName(const PgQuery__RangeVar& relation) {
    if (relation.alias != nullptr && !text(relation.alias->aliasname).empty())
      return relation.alias->aliasname;
    return relation.relname;
  }
  static std::string aliasClause(const PgQuery__RangeVar& relation) {
    if (relation.alias == nullptr || text(relation.alias->aliasname).empty()) return {};
    return " AS " + quote(relation.alias->aliasname);
  }

  bool isColumn(std::string_view name) const {
    return std::find(in_.columns.begin(), in_.columns.end(), name) != in_.columns.end();
  }

  // A column the statement assigns: a plain, writable, not yet assigned one.
  MaybeRefusal checkAssigned(const PgQuery__ResTarget& target,
                             const std::vector<std::string>& seen) const {
    std::string name(text(target.name));
    if (target.n_indirection > 0)
      return refuse("0A000",
                    "writing part of column \"" + name +
                        "\" (a subscript or field) is not "
                        "supported on the synced table " +
                        name_,
                    "Write the whole column.");
    if (!isColumn(name))
      return refuse("0A000",
                    "column \"" + name + "\" is not a writable column of the synced table " + name_,
                    "Only the table's own columns can be written; generated columns cannot.");
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      return refuse("42601", "column \"" + name + "\" is assigned more than once");
    return std::nullopt;
  }

  // The apply statement no longer has the client's WITH queries: a RETURNING subquery might
  // read them, and fail only after the API has written the rows.
  MaybeRefusal checkReturning(size_t count, Node** returning,
                              const PgQuery__WithClause* with) const {
    if (with == nullptr || with->n_ctes == 0 || !containsSubquery(count, returning))
      return std::nullopt;
    return refuse("0A000",
                  "RETURNING with a subquery in a statement with WITH is not supported on the "
                  "synced table " +
                      name_,
                  "Return the table's columns only, or select the rows again afterwards.");
  }

  MaybeRefusal deparse(const Tree& tree, std::string& sql) const {
    std::string error;
    if (!tree.deparse(sql, error)) return internal(error);
    return std::nullopt;
  }

  // ON CONFLICT's target columns: the ones it names, else the primary key.
  MaybeRefusal conflictColumns(const PgQuery__OnConflictClause& clause,
                               std::vector<std::string>& columns) const {
    if (clause.action != PG_QUERY__ON_CONFLICT_ACTION__ONCONFLICT_NOTHING)
      return refuse("0A000",
                    "only ON CONFLICT DO NOTHING is supported on the synced table " + name_);
    const PgQuery__InferClause* infer = clause.infer;
    if (infer == nullptr || !text(infer->conname).empty() || infer->n_index_elems == 0) {
      columns.push_back(in_.table->primary_key);
      return std::nullopt;
    }
    if (infer->where_clause != nullptr)
      return refuse("0A000",
                    "ON CONFLICT (...) WHERE is not supported on the synced table " + name_,
                    "Name the conflict columns without WHERE.");
    for (size_t i = 0; i < infer->n_index_elems; ++i) {
      const Node* elem = infer->index_elems[i];
      if (!isA(elem, PG_QUERY__NODE__NODE_INDEX_ELEM) || elem->index_elem->expr != nullptr ||
          text(elem->index_elem->name).empty())
        return refuse(
            "0A000",
            "an expression as ON CONFLICT target is not supported on the synced table " + name_,
            "Name the conflict target's columns: ON CONFLICT (a, b) DO NOTHING.");
      std::string name(elem->index_elem->name);
      if (!isColumn(name))
        return refuse("0A000", "ON CONFLICT names \"" + name +
                                   "\", which is not a writable column of the synced table " +
                                   name_);
      columns.push_back(std::move(name));
    }
    return std::nullopt;
  }

  MaybeRefusal planInsert(Tree& client, PgQuery__InsertStmt& stmt, WritePlan& plan) const {
    if (auto refusal = checkTarget(stmt.relation)) return refusal;
    std::vector<std::string> named;
    for (size_t i = 0; i < stmt.n_cols; ++i) {
      const PgQuery__ResTarget* target = resTarget(stmt.cols[i]);
      if (target == nullptr) return internal("a column list item is not a column");
      if (auto refusal = checkAssigned(*target, named)) return refusal;
      named.emplace_back(target->name);
    }
    for (const std::string& column : stmt.n_cols > 0 ? named : in_.columns)
      if (column != in_.table->primary_key) plan.api_columns.push_back(column);
    std::vector<std::string> conflict;
    if (stmt.on_conflict_clause != nullptr)
      if (auto refusal = conflictColumns(*stmt.on_conflict_clause, conflict)) return refusal;
    if (const PgQuery__SelectStmt* source = selectStmt(stmt.select_stmt);
        source != nullptr && source->n_values_lists > 0) {
      plan.values_rows = static_cast<int>(source->n_values_lists);
      if (plan.values_rows > in_.row_limit)
        return refuse("54000",
                      "INSERT into " + name_ + " has " + std::to_string(plan.values_rows) +
                          " rows, more than the " + std::to_string(in_.row_limit) +
                          " one statement may send to the API",
                      "Split it into statements of at most " + std::to_string(in_.row_limit) +
                          " rows, or raise max_insert in [table." + name_ + "].");
    }
    if (auto refusal = checkReturning(stmt.n_returning_list, stmt.returning_list, stmt.with_clause))
      return refusal;
    plan.returning = stmt.n_returning_list > 0;

    std::string alias = aliasClause(*stmt.relation);
    std::string columns = columnList(in_.columns);
    Tree apply = parseTemplate("INSERT INTO " + table_ + alias + " (" + columns + ") SELECT " +
                               columns + " FROM " + rows_);
    PgQuery__InsertStmt* apply_stmt = insertStmt(apply.only());
    Tree stage = parseTemplate(
        "INSERT INTO " + stage_ + alias + " DEFAULT VALUES RETURNING " +
        rowAsJson(alias.empty() ? std::string_view(in_.stage) : refName(*stmt.relation)));
    PgQuery__InsertStmt* stage_stmt = insertStmt(stage.only());
    if (apply_stmt == nullptr || stage_stmt == nullptr) return internal("bad INSERT template");
    // The client's RETURNING goes to the apply statement, the stage's to the client's.
    std::swap(apply_stmt->n_returning_list, stmt.n_returning_list);
    std::swap(apply_stmt->returning_list, stmt.returning_list);
    std::swap(stage_stmt->n_returning_list, stmt.n_returning_list);
    std::swap(stage_stmt->returning_list, stmt.returning_list);
    std::swap(stage_stmt->relation, stmt.relation);
    if (stmt.on_conflict_clause != nullptr) {
      protobuf_c_message_free_unpacked(&stmt.on_conflict_clause->base, nullptr);
      stmt.on_conflict_clause = nullptr;
    }
    if (auto refusal = deparse(client, plan.stage_sql)) return refusal;
    if (auto refusal = deparse(apply, plan.apply_sql)) return refusal;
    if (conflict.empty()) return std::nullopt;

    std::string matches;
    for (const std::string& column : conflict)
      matches += (matches.empty() ? "" : " AND ") + std::string("t.") + quote(column) + " = s." +
                 quote(column);
    Tree filter =
        parseTemplate("SELECT " + rowAsJson("s") + " FROM " + stage_ +
                      " s WHERE NOT EXISTS (SELECT 1 FROM " + table_ + " t WHERE " + matches + ")");
    if (filter.only() == nullptr) return internal("bad conflict filter template");
    return deparse(filter, plan.conflict_filter_sql);
  }

  MaybeRefusal checkNotCurrentOf(const Node* where, std::string_view verb) const {
    if (!isA(where, PG_QUERY__NODE__NODE_CURRENT_OF_EXPR)) return std::nullopt;
    return refuse(
        "0A000",
        std::string(verb) + " ... WHERE CURRENT OF is not supported on the synced table " + name_,
        "Use a WHERE clause on the primary key \"" + in_.table->primary_key + "\".");
  }

  MaybeRefusal checkRowAlias(const PgQuery__RangeVar& relation) const {
    if (refName(relation) != kRowAlias) return std::nullopt;
    return refuse("0A000",
                  "the name " + std::string(kRowAlias) +
                      " is reserved by apibouncer in writes to the synced table " + name_,
                  "Use another alias.");
  }

  // The UPDATE and DELETE stage: [WITH ...] INSERT INTO S (columns) SELECT <values> FROM T
  // [AS a], <from items> [WHERE ...] LIMIT L FOR UPDATE OF A RETURNING <S as JSON>.
  // `values[i]` is the client's expression for columns[i] (swapped in), or nullptr for A.col;
  // a column in `defaulted` is left out so that the stage's default applies.
  MaybeRefusal stageRows(const PgQuery__RangeVar& relation, const std::vector<Node**>& values,
                         const std::vector<bool>& defaulted, size_t& from_count, Node**& from,
                         Node*& where, PgQuery__WithClause*& with, std::string& sql) const {
    std::string_view ref = refName(relation);
    std::vector<std::string> columns;
    std::string selected;
    for (size_t i = 0; i < in_.columns.size(); ++i) {
      if (defaulted[i]) continue;
      columns.push_back(in_.columns[i]);
      if (!selected.empty()) selected += ", ";
      // NULL is a placeholder for the client's expression.
      selected +=
          values[i] != nullptr ? std::string("NULL") : quote(ref) + "." + quote(in_.columns[i]);
    }
    Tree stage = parseTemplate("INSERT INTO " + stage_ + " (" + columnList(columns) + ") SELECT " +
                               selected + " FROM " + table_ + aliasClause(relation) + " LIMIT " +
                               std::to_string(in_.row_limit + 1) + " FOR UPDATE OF " + quote(ref) +
                               " RETURNING " + rowAsJson(in_.stage));
    PgQuery__InsertStmt* insert = insertStmt(stage.only());
    PgQuery__SelectStmt* select = insert ? selectStmt(insert->select_stmt) : nullptr;
    if (select == nullptr || select->n_target_list != columns.size())
      return internal("bad stage template");
    for (size_t i = 0, j = 0; i < in_.columns.size(); ++i) {
      if (defaulted[i]) continue;
      PgQuery__ResTarget* target = resTarget(select->target_list[j++]);
      if (target == nullptr) return internal("bad stage template");
      if (values[i] != nullptr) std::swap(target->val, *values[i]);
    }
    if (!appendNodes(select->n_from_clause, select->from_clause, from_count, from))
      return internal("out of memory");
    std::swap(select->where_clause, where);
    std::swap(insert->with_clause, with);
    return deparse(stage, sql);
  }

  // What UPDATE and DELETE refuse alike. `joined` are the FROM (UPDATE) or USING (DELETE)
  // items: a RETURNING beside them could name their tables, which the apply statement lacks.
  template <typename Stmt>
  MaybeRefusal checkUpdateOrDelete(const Stmt& stmt, std::string_view verb, size_t joined,
                                   std::string_view clause, std::string_view hint) const {
    if (auto refusal = checkTarget(stmt.relation)) return refusal;
    if (auto refusal = checkNotCurrentOf(stmt.where_clause, verb)) return refusal;
    if (stmt.n_returning_list > 0 && joined > 0)
      return refuse("0A000",
                    std::string(verb) + " ... " + std::string(clause) +
                        " ... RETURNING is not supported on the synced table " + name_,
                    "Leave out RETURNING (it could name the " + std::string(clause) +
                        " tables), or " + std::string(hint));
    if (auto refusal = checkReturning(stmt.n_returning_list, stmt.returning_list, stmt.with_clause))
      return refusal;
    return checkRowAlias(*stmt.relation);
  }

  MaybeRefusal planUpdate(PgQuery__UpdateStmt& stmt, WritePlan& plan) const {
    if (auto refusal = checkUpdateOrDelete(stmt, "UPDATE", stmt.n_from_clause, "FROM",
                                           "select the rows again after the UPDATE."))
      return refusal;
    plan.returning = stmt.n_returning_list > 0;

    std::vector<Node**> values(in_.columns.size(), nullptr);
    std::vector<bool> defaulted(in_.columns.size(), false);
    for (size_t i = 0; i < stmt.n_target_list; ++i) {
      PgQuery__ResTarget* target = resTarget(stmt.target_list[i]);
      if (target == nullptr) return internal("a SET item is not a column");
      if (isA(target->val, PG_QUERY__NODE__NODE_MULTI_ASSIGN_REF))
        return refuse("0A000",
                      "UPDATE ... SET (a, b) = ... is not supported on the synced table " + name_,
                      "Assign each column on its own: SET a = ..., b = ....");
      if (text(target->name) == in_.table->primary_key)
        return refuse("0A000",
                      "UPDATE cannot change the primary key \"" + in_.table->primary_key +
                          "\" of the synced table " + name_,
                      "The API assigns the primary key; INSERT a new row and DELETE the old one "
                      "instead.");
      if (auto refusal = checkAssigned(*target, plan.api_columns)) return refusal;
      size_t column = std::find(in_.columns.begin(), in_.columns.end(), text(target->name)) -
                      in_.columns.begin();
      if (isA(target->val, PG_QUERY__NODE__NODE_SET_TO_DEFAULT))
        defaulted[column] = true;
      else
        values[column] = &target->val;
      plan.api_columns.emplace_back(target->name);
    }
    if (auto refusal =
            stageRows(*stmt.relation, values, defaulted, stmt.n_from_clause, stmt.from_clause,
                      stmt.where_clause, stmt.with_clause, plan.stage_sql))
      return refusal;

    // No FROM: its columns would join the client's RETURNING * and make its bare column
    // names ambiguous. The function scan is not correlated, so it runs once, not per row.
    std::vector<std::string> assigned;
    for (const std::string& column : in_.columns)
      if (column != in_.table->primary_key) assigned.push_back(column);
    std::string_view ref = refName(*stmt.relation);
    const std::string& key = in_.table->primary_key;
    Tree apply = parseTemplate("UPDATE " + table_ + aliasClause(*stmt.relation) + " SET (" +
                               columnList(assigned) + ") = (SELECT " +
                               columnList(assigned, kRowAlias) + " FROM " + rows_ + " AS " +
                               quote(kRowAlias) + " WHERE " + quote(kRowAlias) + "." + quote(key) +
                               " = " + quote(ref) + "." + quote(key) + ") WHERE " + keyIn(ref));
    PgQuery__UpdateStmt* apply_stmt = updateStmt(apply.only());
    if (apply_stmt == nullptr) return internal("bad UPDATE template");
    std::swap(apply_stmt->n_returning_list, stmt.n_returning_list);
    std::swap(apply_stmt->returning_list, stmt.returning_list);
    return deparse(apply, plan.apply_sql);
  }

  // A.pk IN (the API's rows' keys).
  std::string keyIn(std::string_view ref) const {
    const std::string& key = in_.table->primary_key;
    return quote(ref) + "." + quote(key) + " IN (SELECT " + quote(kRowAlias) + "." + quote(key) +
           " FROM " + rows_ + " AS " + quote(kRowAlias) + ")";
  }

  MaybeRefusal planDelete(PgQuery__DeleteStmt& stmt, WritePlan& plan) const {
    if (auto refusal = checkUpdateOrDelete(stmt, "DELETE", stmt.n_using_clause, "USING",
                                           "select the rows before the DELETE."))
      return refusal;
    plan.returning = stmt.n_returning_list > 0;

    std::vector<Node**> values(in_.columns.size(), nullptr);
    std::vector<bool> defaulted(in_.columns.size(), false);
    if (auto refusal =
            stageRows(*stmt.relation, values, defaulted, stmt.n_using_clause, stmt.using_clause,
                      stmt.where_clause, stmt.with_clause, plan.stage_sql))
      return refusal;
    // No USING, for the same reason as UPDATE has no FROM.
    Tree apply = parseTemplate("DELETE FROM " + table_ + aliasClause(*stmt.relation) + " WHERE " +
                               keyIn(refName(*stmt.relation)));
    PgQuery__DeleteStmt* apply_stmt = deleteStmt(apply.only());
    if (apply_stmt == nullptr) return internal("bad DELETE template");
    std::swap(apply_stmt->n_returning_list, stmt.n_returning_list);
    std::swap(apply_stmt->returning_list, stmt.returning_list);
    return deparse(apply, plan.apply_sql);
  }

  const WritePlanInput& in_;
  std::string name_;   // schema.table, for messages
  std::string table_;  // "schema"."table"
  std::string stage_;  // pg_temp."stage"
  std::string rows_;   // the API's rows: jsonb_populate_recordset(NULL::T, $N::jsonb)
};

}  // namespace

std::variant<WritePlan, Refusal> planWrite(const WritePlanInput& input) {
  if (input.table == nullptr) return refuse("XX000", "no synced table to plan a write for");
  if (input.sql.size() > kMaxParsedSql)
    return refuse("54000", "statement too long to plan a synced write (" +
                               std::to_string(input.sql.size()) + " bytes, at most " +
                               std::to_string(kMaxParsedSql) + ")");
  // Parsing, (un)packing, walking and deparsing all recurse per nesting level.
  std::variant<WritePlan, Refusal> result = Refusal{};
  runOnLargeStack(input.sql.size(), [&] { result = Planner(input).plan(); });
  return result;
}

}  // namespace apibouncer::interceptor
