// At start and on every reload: for each database with synced tables, asks PostgreSQL (as
// writer_user) which login roles besides writer_user could write a synced table directly —
// bypassing the API — and whether writer_user itself has what the write-through needs, and
// logs a warning for each finding. It only warns: the guard SQL (apibouncer --guard-sql) is
// the fix, and refusing to start would turn a misconfigured grant into an outage.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "interceptor/interceptor.h"
#include "interceptor/write_link.h"

namespace apibouncer::interceptor {

class PrivilegeCheck {
 public:
  // `tables` are quoted qualified names ("public"."customers").
  PrivilegeCheck(uv_loop_t* loop, std::string conninfo, std::string database,
                 std::string writer_user, std::vector<std::string> tables,
                 Interceptor::Logger logger);
  void start();
  bool done() const { return done_; }

 private:
  void onResult(ResultPtr result, const std::string& error);

  uv_loop_t* loop_;
  std::unique_ptr<WriteLink> link_;
  std::string database_, writer_;
  std::vector<std::string> tables_;
  Interceptor::Logger logger_;
  bool done_ = false;
};

// The query behind the check: rows of (kind, role, table, privileges), kind one of
// "missing" (the table does not exist), "bypass" (role can write it), "superuser",
// "writer-lacks" (writer_user misses privileges), "writer-no-temp" (it may not create the
// temp tables writes are staged in). $1 = text[] of tables, $2 = writer_user.
extern const char* const kPrivilegeQuery;

}  // namespace apibouncer::interceptor
