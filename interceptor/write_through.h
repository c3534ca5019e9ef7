// One synced write, start to finish, on a write-pool link:
//   BEGIN; stage the affected rows (the client's statement turned into an INSERT into a temp
//   table: its VALUES/SELECT, or the locked rows FOR UPDATE with the new values); check the
//   row limit; ONE API request; apply the API's rows with the client's RETURNING; COMMIT.
// Refused or failed before the API accepted: ROLLBACK, nothing anywhere. Failed after: the
// distinct 25000 error, and the write goes to the log with the API's ids so it can be applied
// by hand. The job keeps itself alive until it is done, whether or not the client waits.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/api_client.h"
#include "interceptor/apply_retry.h"
#include "interceptor/interceptor.h"
#include "interceptor/write_plan.h"
#include "interceptor/write_pool.h"

namespace apibouncer::interceptor {

struct WriteEnvironment {
  std::shared_ptr<const void> keep_alive;  // what the pointers below live in
  WritePool* pool = nullptr;
  adapters::ApiClient* api_client = nullptr;
  const TableConfig* table = nullptr;
  const ApiConfig* api = nullptr;
  double api_timeout = 15;
  std::string stage;  // the temp stage table's name on every write link
  Interceptor::Logger logger;
  ApplyRetries* retries = nullptr;  // null once the interceptor is closing
};

class WriteJob : public std::enable_shared_from_this<WriteJob> {
 public:
  WriteJob(WriteEnvironment env, WriteCall call, std::function<void(WriteReply)> done);
  void start();
  // The client's cancel request, or query_timeout. Honoured until the API call starts: the
  // statement running on the write link is canceled and the write fails with 57014, nothing
  // sent. From the API call on, the write runs to its end (bounded by api_timeout): stopping
  // it there would leave the API and the table disagreeing.
  void cancel();

 private:
  enum class Phase { kWaitingForLink, kBeforeApi, kApiAndAfter, kDone };
  using Step = void (WriteJob::*)(ResultPtr);
  // True (and the write refused) if a cancel came while the last statement ran.
  bool refusedAsCanceled();
  // Runs `sql` on the link and continues with `next`, or fails the write with its error.
  void run(std::string sql, const QueryParams* params, int format, Step next);
  void onLink(WriteLink* link, const std::string& error);
  void loadColumns();
  void onColumns(ResultPtr result);
  void ensureStage();
  void onStageReady(ResultPtr result);
  void onBegun(ResultPtr result);
  void onStaged(ResultPtr result);
  void callApi();
  void onApiAnswer(adapters::WriteResult result);
  std::optional<PgError> describePartial() const;
  QueryParams applyParams() const;
  void onApplied(ResultPtr result);
  void onCommitted(ResultPtr result);
  // Before the API accepted: ROLLBACK (if a transaction is open) and answer with `error`.
  void refuse(PgError error);
  // After the API accepted: the database did not take it.
  void lostAfterApi(const std::string& database_error);
  void finish(WriteReply reply);
  WriteContext context() const;

  WriteEnvironment env_;
  WriteCall call_;
  std::function<void(WriteReply)> done_;
  std::string table_name_;  // schema.table, for messages
  WriteLink* link_ = nullptr;
  Phase phase_ = Phase::kWaitingForLink;
  bool cancel_requested_ = false;
  bool in_transaction_ = false;
  WritePlan plan_;
  std::vector<std::string> staged_;  // to_jsonb of each affected row, in order
  adapters::WriteRequest request_;
  adapters::WriteResult api_result_;
  std::string apply_rows_;                // the JSON array the apply statement reads
  std::optional<PgError> partial_error_;  // some rows applied, others not
  WriteReply reply_;
};

}  // namespace apibouncer::interceptor
