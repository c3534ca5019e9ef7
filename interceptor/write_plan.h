// The write planner: turns one INSERT, UPDATE or DELETE on a synced table into the statements
// of the write-through. PostgreSQL itself computes the rows the client's statement would write
// (stage_sql, into a temp table), the caller sends them to the API, and the rows the API
// answers with are written to the table (apply_sql). Pure: no I/O.
//
// Every client expression (VALUES, SET, WHERE, FROM/USING, RETURNING, WITH, $n) is moved as a
// libpg_query parse-tree node into templates built from quoted identifiers, then deparsed: the
// client's text is never spliced into SQL.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "interceptor/classifier.h"
#include "interceptor/sync_config.h"

namespace apibouncer::interceptor {

struct WritePlanInput {
  std::string_view sql;                // exactly one statement
  const TableConfig* table = nullptr;  // schema, table, primary_key
  // The table's writable columns in attnum order (no generated or dropped ones), primary key
  // included.
  std::vector<std::string> columns;
  // A temp table in pg_temp with the same columns (LIKE ... INCLUDING DEFAULTS), whose primary
  // key column allows NULL.
  std::string stage;
  int row_limit = 100;  // most rows this statement may write
  int param_count = 0;  // $n parameters of the client's statement
};

struct WritePlan {
  WriteKind kind = WriteKind::kInsert;
  // The JSON going either way is bytea holding UTF-8, whatever client_encoding the write runs
  // with (the client's, so that its text reads as it means it): the API speaks UTF-8.
  // Writes the rows the statement would write into the stage table; returns one column, the
  // to_jsonb of each staged row. UPDATE and DELETE stage at most row_limit + 1 rows, so that
  // one too many shows the statement is over its limit.
  std::string stage_sql;
  // INSERT ... ON CONFLICT DO NOTHING only: the staged rows that do not conflict with the
  // table's rows, as to_jsonb; empty otherwise.
  std::string conflict_filter_sql;
  // Writes the API's rows to the table: they are parameter $<param_count + 1> (bytea), a JSON
  // array of objects holding every column. Returns the client's RETURNING list, if any.
  std::string apply_sql;
  // INSERT: the columns the client names (all columns when it names none); UPDATE: the SET
  // columns; DELETE: none. The primary key is never among them.
  std::vector<std::string> api_columns;
  int values_rows = -1;    // INSERT ... VALUES: rows in the text; -1 otherwise
  bool returning = false;  // the client's statement has RETURNING
};

std::variant<WritePlan, Refusal> planWrite(const WritePlanInput& input);

}  // namespace apibouncer::interceptor
