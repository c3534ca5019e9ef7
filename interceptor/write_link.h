// One autocommit connection of the write pool: libpq in non-blocking mode on the libuv loop.
// The write-through runs a handful of short statements per write (BEGIN, stage, apply,
// COMMIT), each with the client's parameters and typed results, which libpq gives us for
// free; the hot pass-through path never comes here. One statement at a time.
#pragma once

#include <libpq-fe.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "interceptor/query_params.h"

namespace apibouncer::interceptor {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// A statement's result that is no error (and not missing: the link failed).
inline bool succeeded(const ResultPtr& result) {
  if (!result) return false;
  auto status = PQresultStatus(result.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

class WriteLink {
 public:
  // `ok` false: `result` may be null (connection trouble, `error` says why) or an error result.
  using Done = std::function<void(ResultPtr result, const std::string& error)>;
  using Connected = std::function<void(bool ok, const std::string& error)>;

  WriteLink(uv_loop_t* loop, std::string conninfo);
  ~WriteLink();
  WriteLink(const WriteLink&) = delete;
  WriteLink& operator=(const WriteLink&) = delete;

  void connect(Connected done);
  // Runs one statement (no parameters: the simple protocol, several statements allowed).
  // The last result is handed over; an error result wins over later ones.
  void run(std::string sql, const QueryParams* params, int result_format, Done done);
  // Parses `sql` as the unnamed prepared statement (parameter types from `params`), so that
  // errors in it surface before anything irreversible; runPrepared() executes it.
  void prepare(std::string sql, const QueryParams& params, Done done);
  void runPrepared(const QueryParams& params, int result_format, Done done);
  bool usable() const { return conn_ != nullptr && !broken_; }
  bool busy() const { return done_ != nullptr; }
  // Idle outside a transaction: what a link must be to serve the next write.
  bool idle() const { return usable() && PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  // Asks the server to cancel the running statement. PQcancel connects and waits, so it runs
  // on libuv's thread pool; until it is done this link sends nothing, so the cancel cannot hit
  // the statement after the one it was meant for (ROLLBACK, or worse the apply).
  void cancelStatement();

  // Temp stage tables this session already created (by qualified synced-table name).
  std::set<std::string>& stages() { return stages_; }

 private:
  static void onPoll(uv_poll_t* handle, int status, int events);
  void watch(int events);
  void pollConnect();
  void pump(int events);
  void fail(const std::string& error);
  void closePoll();
  void awaitResults(int sent, Done done);  // a statement went out (or not): wait for its results
  // Sends now, or once a cancel on its way is done (`sender` returns PQsend*'s result).
  void send(std::function<int()> sender, Done done);
  struct CancelWork;
  friend struct CancelWork;
  void onCancelSent();

  uv_loop_t* loop_;
  std::string conninfo_;
  PGconn* conn_ = nullptr;
  uv_poll_t* poll_ = nullptr;
  int fd_ = -1;
  bool connecting_ = false;
  bool broken_ = false;
  Connected connected_;
  Done done_;
  ResultPtr result_;  // the result to hand over when the statement is done
  std::set<std::string> stages_;
  CancelWork* cancel_ = nullptr;          // a cancel on its way (it outlives the link if need be)
  std::function<void()> held_statement_;  // waits for that cancel
};

// Deletes `link` on the next loop turn: links are dropped from inside their own callbacks.
void deleteSoon(uv_loop_t* loop, WriteLink* link);

}  // namespace apibouncer::interceptor
