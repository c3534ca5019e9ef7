// ApplyRetries (see apply_retry.h): one timer checks every second for applies that are due.
#include "interceptor/apply_retry.h"

#include <algorithm>

namespace apibouncer::interceptor {
namespace {

constexpr uint64_t kTickMs = 1000;
constexpr uint64_t kFirstPauseMs = 1000, kLongestPauseMs = 300'000;

}  // namespace

ApplyRetries::ApplyRetries(uv_loop_t* loop, Interceptor::Logger logger)
    : loop_(loop), logger_(std::move(logger)), timer_(new uv_timer_t) {
  uv_timer_init(loop_, timer_);
  timer_->data = this;
}

ApplyRetries::~ApplyRetries() {
  *alive_ = false;
  uv_timer_stop(timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

void ApplyRetries::add(Pending pending) {
  pending.due_ms = uv_now(loop_) + kFirstPauseMs;
  pending_.push_back(std::move(pending));
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(timer_)))
    uv_timer_start(timer_, &ApplyRetries::onTimer, kTickMs, kTickMs);
}

void ApplyRetries::onTimer(uv_timer_t* timer) {
  static_cast<ApplyRetries*>(timer->data)->runDue();
}

void ApplyRetries::runDue() {
  if (pending_.empty()) {
    uv_timer_stop(timer_);
    return;
  }
  uint64_t now = uv_now(loop_);
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->running || it->due_ms > now) continue;
    it->running = true;
    std::weak_ptr<bool> alive = alive_;
    it->pool->acquire([this, it, alive](WriteLink* link, const std::string& error) {
      if (alive.expired()) return;
      if (link == nullptr) {
        finished(it, nullptr, error);
        return;
      }
      // A failed step leaves the link in its transaction: the pool drops it rather than
      // reuse it (ROLLBACK would cost a round trip on a path that is already the rare one).
      auto done = [this, it, link, alive](ResultPtr result, const std::string& error) {
        if (alive.expired()) return;
        it->pool->release(link);
        finished(it, std::move(result), error);
      };
      // The statement's text is in the client's encoding: the link reads it as the write did.
      link->run(it->begin, nullptr, 0,
                [it, link, alive, done](ResultPtr begun, const std::string& error) {
                  if (alive.expired()) return;
                  if (!succeeded(begun)) return done(std::move(begun), error);
                  link->run(it->sql, &it->params, 0,
                            [link, alive, done](ResultPtr applied, const std::string& error) {
                              if (alive.expired()) return;
                              if (!succeeded(applied)) return done(std::move(applied), error);
                              link->run("COMMIT", nullptr, 0, done);
                            });
                });
    });
  }
}

void ApplyRetries::finished(std::list<Pending>::iterator it, ResultPtr result,
                            const std::string& error) {
  it->running = false;
  it->attempts++;
  const char* sqlstate = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
  if (succeeded(result)) {
    logger_(false, "synced write applied after " + std::to_string(it->attempts) +
                       " retry(ies): " + it->what);
    pending_.erase(it);
    return;
  }
  if (sqlstate != nullptr && std::string_view(sqlstate) == "23505") {
    logger_(false, "synced write was already in the database: " + it->what);
    pending_.erase(it);
    return;
  }
  std::string why = result ? PQresultErrorMessage(result.get()) : error;
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  if (it->attempts >= kMaxAttempts) {
    std::string rows =
        it->params.values.empty() || !it->params.values.back() ? "" : *it->params.values.back();
    logger_(true, "giving up on a synced write the API has but the database does not, after " +
                      std::to_string(it->attempts) + " attempts (" + why + "): " + it->what +
                      "; apply by hand: " + it->sql + " with rows " + rows);
    pending_.erase(it);
    return;
  }
  uint64_t pause = std::min(kLongestPauseMs, kFirstPauseMs << std::min(it->attempts, 20));
  it->due_ms = uv_now(loop_) + pause;
  logger_(true, "synced write still not applied (attempt " + std::to_string(it->attempts) + ": " +
                    why + "), next try in " + std::to_string(pause / 1000) + " s: " + it->what);
}

}  // namespace apibouncer::interceptor
