// WriteJob: the write-through's steps, each one statement on the write link (write_through.h).
#include "interceptor/write_through.h"

#include <strings.h>

#include <random>
#include <set>

#include "interceptor/guard_sql.h"
#include "interceptor/row_json.h"

namespace apibouncer::interceptor {
namespace {

std::string qualified(const TableConfig& table) {
  return quoteIdentifier(table.schema) + "." + quoteIdentifier(table.table);
}

std::string field(const ResultPtr& result, int code) {
  const char* value = result ? PQresultErrorField(result.get(), code) : nullptr;
  return value ? value : "";
}

// A database error as the client would have seen it from PostgreSQL itself.
PgError databaseError(const ResultPtr& result, const std::string& fallback) {
  PgError error{field(result, PG_DIAG_SQLSTATE), field(result, PG_DIAG_MESSAGE_PRIMARY),
                field(result, PG_DIAG_MESSAGE_DETAIL), field(result, PG_DIAG_MESSAGE_HINT)};
  if (error.sqlstate.empty()) error.sqlstate = "08006";
  if (error.message.empty()) error.message = fallback.empty() ? "write link failed" : fallback;
  return error;
}

// True if `sql` (deparsed, so parameters are written $n) refers to parameter `n`.
bool refersToParameter(std::string_view sql, size_t n) {
  std::string token = "$" + std::to_string(n);
  for (size_t at = sql.find(token); at != sql.npos; at = sql.find(token, at + 1)) {
    size_t after = at + token.size();
    if (after == sql.size() || sql[after] < '0' || sql[after] > '9') return true;
  }
  return false;
}

std::string newIdempotencyKey() {
  static std::mt19937_64 random{std::random_device{}()};
  char buffer[40];
  snprintf(buffer, sizeof buffer, "apb-%016llx%016llx", static_cast<unsigned long long>(random()),
           static_cast<unsigned long long>(random()));
  return buffer;
}

int limitFor(const TableConfig& table, WriteKind kind) {
  switch (kind) {
    case WriteKind::kInsert:
      return table.limits.insert;
    case WriteKind::kUpdate:
      return table.limits.update;
    case WriteKind::kDelete:
      return table.limits.del;
  }
  return 0;
}

const char* verb(WriteKind kind) {
  return kind == WriteKind::kInsert ? "INSERT" : kind == WriteKind::kUpdate ? "UPDATE" : "DELETE";
}
const char* limitKey(WriteKind kind) {
  return kind == WriteKind::kInsert   ? "max_insert"
         : kind == WriteKind::kUpdate ? "max_update"
                                      : "max_delete";
}

constexpr Oid kByteaOid = 17;
constexpr int kBinary = 1;

// Opens the write's transaction with the client's session parameters that decide how its
// text and values are read and its RETURNING rows written (the JSON exchanged with the API is
// UTF-8 whatever the encoding: write_plan.h). SET LOCAL: COMMIT or ROLLBACK puts the link back
// to UTF-8 and the pool's defaults, since the server reads a message's whole text in the
// encoding in force when it arrives. RESET ALL first drops what an earlier write's expressions
// may have set for good (set_config(..., false)). Only parameters that shape values: a client
// with track_extra_parameters naming a timeout (which would end the link's transaction while
// the API answers, or lift its lock_timeout) or a read-only parameter must not touch the link.
std::string beginWithSession(const std::vector<std::pair<std::string, std::string>>& parameters) {
  static const char* const kValueShaping[] = {
      "client_encoding", "DateStyle",   "TimeZone",   "IntervalStyle", "extra_float_digits",
      "bytea_output",    "lc_monetary", "lc_numeric", "lc_time",       "xmlbinary",
      "xmloption"};
  std::string sql = "RESET ALL; BEGIN;";
  for (const auto& [name, value] : parameters) {
    bool shapes_values = false;
    for (const char* known : kValueShaping)
      shapes_values = shapes_values || strcasecmp(name.c_str(), known) == 0;
    if (shapes_values)
      sql += " SET LOCAL " + quoteIdentifier(name) + " TO " + quoteLiteral(value) + ";";
  }
  return sql;
}

// What PostgreSQL answers a canceled statement.
WriteReply canceled() {
  WriteReply reply;
  reply.error = PgError{"57014", "canceling statement due to user request", {}, {}};
  return reply;
}

}  // namespace

WriteJob::WriteJob(WriteEnvironment env, WriteCall call, std::function<void(WriteReply)> done)
    : env_(std::move(env)),
      call_(std::move(call)),
      done_(std::move(done)),
      table_name_(env_.table->schema + "." + env_.table->table) {}

WriteContext WriteJob::context() const {
  adapters::Operation operation = plan_.kind == WriteKind::kInsert   ? adapters::Operation::kInsert
                                  : plan_.kind == WriteKind::kUpdate ? adapters::Operation::kUpdate
                                                                     : adapters::Operation::kDelete;
  return WriteContext{platformName(env_.api->platform), env_.api->name, table_name_, operation};
}

void WriteJob::start() {
  plan_.kind = call_.decision.classification.writes.front().kind;
  if (env_.api_client == nullptr) {
    refuse({"XX000",
            "[api." + env_.api->name + "] has no client (the configuration is reloading)",
            {},
            "Retry the statement."});
    return;
  }
  auto self = shared_from_this();
  env_.pool->acquire(
      [self](WriteLink* link, const std::string& error) { self->onLink(link, error); });
}

void WriteJob::run(std::string sql, const QueryParams* params, int format, Step next) {
  auto self = shared_from_this();
  link_->run(std::move(sql), params, format,
             [self, next](ResultPtr result, const std::string& error) {
               if (!succeeded(result)) {
                 self->refuse(databaseError(result, error));
                 return;
               }
               if (self->refusedAsCanceled()) return;
               (self.get()->*next)(std::move(result));
             });
}

void WriteJob::cancel() {
  if (phase_ == Phase::kWaitingForLink) {
    finish(canceled());  // onLink hands the link back when it comes
    return;
  }
  if (phase_ != Phase::kBeforeApi || cancel_requested_) return;
  cancel_requested_ = true;
  link_->cancelStatement();
}

bool WriteJob::refusedAsCanceled() {
  if (!cancel_requested_) return false;
  refuse(*canceled().error);
  return true;
}

void WriteJob::onLink(WriteLink* link, const std::string& error) {
  if (phase_ == Phase::kDone) {  // canceled while waiting
    if (link != nullptr) env_.pool->release(link);
    return;
  }
  phase_ = Phase::kBeforeApi;
  if (link == nullptr) {
    refuse({"08006", "cannot open a write connection as the writer_user: " + error,
            "synced writes need a write-pool connection to the database",
            "Check writer_user in [apibouncer], its password in auth_file, and that the "
            "database accepts it."});
    return;
  }
  link_ = link;
  loadColumns();
}

void WriteJob::loadColumns() {
  std::string key = qualified(*env_.table);
  if (env_.pool->columns().count(key)) {
    ensureStage();
    return;
  }
  // RESET ALL here and before CREATE: the link as configured (UTF-8), whatever an earlier
  // write's expressions set for the session.
  run("RESET ALL; SELECT attname::text FROM pg_attribute WHERE attrelid = " + quoteLiteral(key) +
          "::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
      nullptr, 0, &WriteJob::onColumns);
}

void WriteJob::onColumns(ResultPtr result) {
  std::vector<std::string> columns;
  for (int i = 0; i < PQntuples(result.get()); ++i)
    columns.emplace_back(PQgetvalue(result.get(), i, 0));
  env_.pool->columns()[qualified(*env_.table)] = std::move(columns);
  ensureStage();
}

void WriteJob::ensureStage() {
  const auto& columns = env_.pool->columns()[qualified(*env_.table)];
  WritePlanInput input{call_.sql,
                       env_.table,
                       columns,
                       env_.stage,
                       limitFor(*env_.table, plan_.kind),
                       static_cast<int>(call_.params.values.size())};
  auto planned = planWrite(input);
  if (auto* refusal = std::get_if<Refusal>(&planned)) {
    refuse({refusal->sqlstate, refusal->message, {}, refusal->hint});
    return;
  }
  plan_ = std::move(std::get<WritePlan>(planned));
  if (link_->stages().count(env_.stage)) {
    onStageReady(nullptr);
    return;
  }
  // Outside the write's transaction: a temp table created inside it would vanish with a
  // ROLLBACK. ON COMMIT DELETE ROWS empties it after every write.
  std::string stage = "pg_temp." + quoteIdentifier(env_.stage);
  run("RESET ALL; CREATE TEMP TABLE IF NOT EXISTS " + quoteIdentifier(env_.stage) + " (LIKE " +
          qualified(*env_.table) + " INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; ALTER TABLE " +
          stage + " ALTER COLUMN " + quoteIdentifier(env_.table->primary_key) + " DROP NOT NULL",
      nullptr, 0, &WriteJob::onStageReady);
}

void WriteJob::onStageReady(ResultPtr) {
  link_->stages().insert(env_.stage);
  in_transaction_ = true;
  run(beginWithSession(call_.session_parameters), nullptr, 0, &WriteJob::onBegun);
}

void WriteJob::onBegun(ResultPtr) {
  auto self = shared_from_this();
  link_->run(plan_.stage_sql, &call_.params, kBinary,
             [self](ResultPtr result, const std::string& error) {
               if (!succeeded(result)) {
                 self->refuse(databaseError(result, error));
                 return;
               }
               if (self->refusedAsCanceled()) return;
               if (!self->plan_.conflict_filter_sql.empty()) {
                 static const QueryParams kNone;  // the extended protocol, for a binary result
                 self->run(self->plan_.conflict_filter_sql, &kNone, kBinary, &WriteJob::onStaged);
                 return;
               }
               self->onStaged(std::move(result));
             });
}

void WriteJob::onStaged(ResultPtr result) {
  // UPDATE ... FROM can join one row to several: PostgreSQL updates it once, and so do we.
  std::set<std::string> keys;
  for (int i = 0; i < PQntuples(result.get()); ++i) {
    std::string row(PQgetvalue(result.get(), i, 0), PQgetlength(result.get(), i, 0));
    if (plan_.kind != WriteKind::kInsert) {
      auto members = splitJsonObject(row);
      const std::string* key =
          members ? findJsonMember(*members, env_.table->primary_key) : nullptr;
      if (key != nullptr && !keys.insert(*key).second) continue;
    }
    staged_.push_back(std::move(row));
  }
  int limit = limitFor(*env_.table, plan_.kind);
  if (static_cast<int>(staged_.size()) > limit) {
    std::string table = env_.table->schema + "." + env_.table->table;
    refuse({"54000",
            std::string(verb(plan_.kind)) + " on " + table + " affects " +
                (plan_.kind == WriteKind::kInsert ? std::to_string(staged_.size())
                                                  : "more than " + std::to_string(limit)) +
                " rows, more than the " + std::to_string(limit) +
                " one statement may send to the API",
            "",
            "Split it into statements of at most " + std::to_string(limit) + " rows, or raise " +
                limitKey(plan_.kind) + " in [table." + table + "]."});
    return;
  }
  // The apply statement is parsed and checked now (columns, types, the client's RETURNING),
  // so a mistake in it is an ordinary error before the API sees anything.
  auto self = shared_from_this();
  link_->prepare(plan_.apply_sql, applyParams(),
                 [self](ResultPtr result, const std::string& error) {
                   if (!succeeded(result)) {
                     self->refuse(databaseError(result, error));
                     return;
                   }
                   if (self->refusedAsCanceled()) return;
                   self->callApi();
                 });
}

void WriteJob::callApi() {
  phase_ = Phase::kApiAndAfter;
  if (staged_.empty()) {  // nothing matched: no API call, the apply answers "UPDATE 0"
    apply_rows_ = "[]";
    auto self = shared_from_this();
    link_->runPrepared(applyParams(), call_.result_format,
                       [self](ResultPtr result, const std::string& error) {
                         if (!succeeded(result)) {
                           self->refuse(databaseError(result, error));
                           return;
                         }
                         self->onApplied(std::move(result));
                       });
    return;
  }
  request_.operation = plan_.kind == WriteKind::kInsert   ? adapters::Operation::kInsert
                       : plan_.kind == WriteKind::kUpdate ? adapters::Operation::kUpdate
                                                          : adapters::Operation::kDelete;
  request_.object = env_.table->object;
  request_.idempotency_key = newIdempotencyKey();
  auto fieldFor = [&](const std::string& column) -> std::string {
    for (const auto& [from, to] : env_.table->column_map)
      if (from == column) return to;
    return column;
  };
  for (const std::string& json : staged_) {
    auto row = splitJsonObject(json);
    if (!row) {
      refuse({"XX000", "apibouncer could not read a staged row", json, {}});
      return;
    }
    adapters::Row out;
    if (plan_.kind != WriteKind::kInsert) {
      const std::string* id = findJsonMember(*row, env_.table->primary_key);
      out.id = id ? jsonIdText(*id) : "";
    }
    if (plan_.kind != WriteKind::kDelete)
      for (const std::string& column : plan_.api_columns) {
        if (column == env_.table->primary_key) continue;
        const std::string* value = findJsonMember(*row, column);
        out.fields.emplace_back(fieldFor(column), value ? *value : "null");
      }
    request_.rows.push_back(std::move(out));
  }
  auto self = shared_from_this();
  env_.api_client->write(request_, env_.api_timeout, [self](adapters::WriteResult result) {
    self->onApiAnswer(std::move(result));
  });
}

void WriteJob::onApiAnswer(adapters::WriteResult result) {
  api_result_ = std::move(result);
  using adapters::RowOutcome;
  // Which rows the API has: all of them, none (refused as a whole), or some (platforms that
  // are not all-or-none). Only those are applied; the others are reported after the commit.
  std::vector<size_t> applied;
  if (api_result_.ok) {
    if (api_result_.rows.size() != staged_.size()) {
      api_result_.ok = false;
      api_result_.error = adapters::ApiError{adapters::ErrorClass::kBadResponse,
                                             0,
                                             "the API's answer does not have one result per row",
                                             {},
                                             {},
                                             {},
                                             0};
    }
  }
  if (!api_result_.ok && api_result_.rows.size() != staged_.size()) api_result_.rows.clear();
  for (size_t i = 0; i < api_result_.rows.size(); ++i)
    if (api_result_.rows[i].outcome == RowOutcome::kApplied) applied.push_back(i);
  if (!api_result_.ok) partial_error_ = describePartial();
  if (applied.empty()) {
    refuse(partial_error_ ? *partial_error_ : describeApiError(api_result_.error, context()));
    return;
  }
  // From here on the API has the change: every failure is "reached the API, not the database".
  std::vector<JsonObject> rows;
  const auto& columns = env_.pool->columns()[qualified(*env_.table)];
  auto columnFor = [&](const std::string& api_field) -> std::string {
    for (const auto& [column, to] : env_.table->column_map)
      if (to == api_field) return column;
    for (const auto& column : columns)
      if (column == api_field) return column;
    return {};
  };
  for (size_t i : applied) {
    JsonObject row = *splitJsonObject(staged_[i]);
    const auto& answer = api_result_.rows[i];
    if (!answer.notice.empty()) reply_.notices.push_back(answer.notice);
    if (plan_.kind != WriteKind::kDelete) {
      for (const auto& [api_field, value] : answer.fields) {
        std::string column = columnFor(api_field);
        if (!column.empty() && column != env_.table->primary_key) setJsonMember(row, column, value);
      }
      if (!answer.id.empty()) setJsonMember(row, env_.table->primary_key, jsonString(answer.id));
    }
    rows.push_back(std::move(row));
  }
  apply_rows_ = joinJsonRows(rows);
  auto self = shared_from_this();
  link_->runPrepared(applyParams(), call_.result_format,
                     [self](ResultPtr result, const std::string& error) {
                       if (!succeeded(result)) {
                         self->lostAfterApi(databaseError(result, error).message);
                         return;
                       }
                       self->onApplied(std::move(result));
                     });
}

// Some rows did not go through: the statement fails with the first row's error, and DETAIL
// says row by row what happened, so nobody has to guess what the API and the table now hold.
std::optional<PgError> WriteJob::describePartial() const {
  using adapters::RowOutcome;
  if (api_result_.rows.empty()) return std::nullopt;
  size_t applied = 0;
  std::string rows_detail, unknown_ids;
  for (size_t i = 0; i < api_result_.rows.size(); ++i) {
    const auto& row = api_result_.rows[i];
    if (row.outcome == RowOutcome::kApplied) {
      ++applied;
      continue;
    }
    std::string what = "row " + std::to_string(i + 1);
    if (!request_.rows[i].id.empty()) what += " (id " + request_.rows[i].id + ")";
    switch (row.outcome) {
      case RowOutcome::kRefused:
        what += ": refused: " + row.error.message;
        if (!row.error.code.empty()) what += " [" + row.error.code + "]";
        if (!row.error.field.empty()) what += " on " + row.error.field;
        break;
      case RowOutcome::kNotApplied:
        what += ": not applied";
        if (!row.error.message.empty()) what += " (" + row.error.message + ")";
        break;
      case RowOutcome::kUnknown:
        what += ": outcome unknown (" + row.error.message + ")";
        unknown_ids += (unknown_ids.empty() ? "" : ", ") + std::to_string(i + 1);
        break;
      case RowOutcome::kApplied:
        break;
    }
    rows_detail += (rows_detail.empty() ? "" : "; ") + what;
  }
  PgError error = describeApiError(api_result_.error, context());
  error.detail = rows_detail + "; " + std::to_string(applied) + " of " +
                 std::to_string(api_result_.rows.size()) + " rows applied to the API and the table";
  if (applied > 0)
    error.hint =
        "The applied rows are committed (the API has them). Fix the refused rows and "
        "write them in a new statement.";
  if (!unknown_ids.empty())
    error.hint += " Rows " + unknown_ids + " may exist upstream: the next sync will show them.";
  return error;
}

// The client's parameters the apply statement still uses (in RETURNING), and the rows last.
// PostgreSQL must know every parameter's type, so the others go as typed NULLs.
QueryParams WriteJob::applyParams() const {
  QueryParams params;
  for (size_t i = 0; i < call_.params.values.size(); ++i) {
    if (refersToParameter(plan_.apply_sql, i + 1))
      params.add(call_.params.values[i], call_.params.types[i], call_.params.formats[i]);
    else
      params.add(std::nullopt, 25 /* text */, 0);
  }
  params.add(apply_rows_, kByteaOid, kBinary);
  return params;
}

void WriteJob::onApplied(ResultPtr result) {
  PGresult* r = result.get();
  reply_.command_tag = PQcmdStatus(r);
  reply_.has_fields = plan_.returning;
  if (plan_.returning) {
    for (int c = 0; c < PQnfields(r); ++c)
      reply_.fields.push_back(ReplyField{PQfname(r, c), PQftable(r, c),
                                         static_cast<int16_t>(PQftablecol(r, c)), PQftype(r, c),
                                         static_cast<int16_t>(PQfsize(r, c)), PQfmod(r, c),
                                         static_cast<int16_t>(PQfformat(r, c))});
    for (int row = 0; row < PQntuples(r); ++row) {
      auto& values = reply_.rows.emplace_back();
      for (int c = 0; c < PQnfields(r); ++c)
        if (PQgetisnull(r, row, c))
          values.emplace_back(std::nullopt);
        else
          values.emplace_back(std::string(PQgetvalue(r, row, c), PQgetlength(r, row, c)));
    }
  }
  auto self = shared_from_this();
  link_->run("COMMIT", nullptr, 0, [self](ResultPtr result, const std::string& error) {
    if (!succeeded(result)) {
      self->lostAfterApi(databaseError(result, error).message);
      return;
    }
    self->in_transaction_ = false;
    if (self->partial_error_) {
      // Committed what the API applied; the statement still fails for the rows it did not.
      WriteReply failed;
      failed.error = std::move(self->partial_error_);
      failed.partial = true;
      failed.notices = std::move(self->reply_.notices);
      self->finish(std::move(failed));
      return;
    }
    self->finish(std::move(self->reply_));
  });
}

void WriteJob::refuse(PgError error) {
  WriteReply reply;
  reply.error = std::move(error);
  if (!in_transaction_ || link_ == nullptr || !link_->usable()) {
    finish(std::move(reply));
    return;
  }
  in_transaction_ = false;
  auto self = shared_from_this();
  link_->run("ROLLBACK", nullptr, 0,
             [self, reply = std::move(reply)](ResultPtr, const std::string&) mutable {
               self->finish(std::move(reply));
             });
}

void WriteJob::lostAfterApi(const std::string& database_error) {
  std::string ids;
  for (const auto& row : api_result_.rows)
    if (row.outcome == adapters::RowOutcome::kApplied) ids += (ids.empty() ? "" : ", ") + row.id;
  for (const auto& row : request_.rows)
    if (plan_.kind == WriteKind::kDelete) ids += (ids.empty() ? "" : ", ") + row.id;
  std::string what =
      std::string(verb(plan_.kind)) + " on " + table_name_ + " (API ids: " + ids + ")";
  // Recorded: the log has what to apply by hand, the retry queue applies it meanwhile.
  env_.logger(true, "synced write reached the API but not the database (" + database_error +
                        "); it will be applied again: " + what + "; statement: " + plan_.apply_sql +
                        " with rows " + apply_rows_);
  if (env_.retries != nullptr)
    env_.retries->add(ApplyRetries::Pending{env_.keep_alive, env_.pool,
                                            beginWithSession(call_.session_parameters),
                                            plan_.apply_sql, applyParams(), what});
  WriteReply reply;
  reply.error = reachedApiNotDatabase(context(), ids, database_error);
  if (in_transaction_ && link_ != nullptr && link_->usable()) {
    in_transaction_ = false;
    auto self = shared_from_this();
    link_->run("ROLLBACK", nullptr, 0,
               [self, reply = std::move(reply)](ResultPtr, const std::string&) mutable {
                 self->finish(std::move(reply));
               });
    return;
  }
  finish(std::move(reply));
}

void WriteJob::finish(WriteReply reply) {
  phase_ = Phase::kDone;
  if (link_ != nullptr) {
    env_.pool->release(link_);
    link_ = nullptr;
  }
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(reply));
}

}  // namespace apibouncer::interceptor
