// Writes the API accepted but the database did not take (the apply or its COMMIT failed):
// applied again, with growing pauses, until they land — the client was told so (25000). Each
// is logged when recorded, when applied, and when given up on (with the statement and the
// rows, to apply by hand). A duplicate key on retry means an earlier attempt did land (a
// COMMIT whose answer was lost), so it counts as applied.
#pragma once

#include <uv.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "interceptor/interceptor.h"
#include "interceptor/write_link.h"
#include "interceptor/write_pool.h"

namespace apibouncer::interceptor {

class ApplyRetries {
 public:
  struct Pending {
    std::shared_ptr<const void> keep_alive;  // keeps `pool` alive
    WritePool* pool = nullptr;
    // "RESET ALL; BEGIN; SET LOCAL ...": the write's client_encoding and the like, for the
    // apply, which then commits.
    std::string begin;
    std::string sql;
    QueryParams params;
    std::string what;  // "INSERT on public.customers (API ids: ...)", for the log
    int attempts = 0;
    uint64_t due_ms = 0;
    bool running = false;
  };
  static constexpr int kMaxAttempts = 12;  // about 20 minutes of pauses doubling up to 5 min

  ApplyRetries(uv_loop_t* loop, Interceptor::Logger logger);
  ~ApplyRetries();  // pending applies are dropped (each was logged when recorded)
  ApplyRetries(const ApplyRetries&) = delete;
  ApplyRetries& operator=(const ApplyRetries&) = delete;

  void add(Pending pending);
  size_t size() const { return pending_.size(); }

 private:
  static void onTimer(uv_timer_t* timer);
  void runDue();
  void finished(std::list<Pending>::iterator it, ResultPtr result, const std::string& error);

  uv_loop_t* loop_;
  Interceptor::Logger logger_;
  uv_timer_t* timer_;
  std::list<Pending> pending_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace apibouncer::interceptor
