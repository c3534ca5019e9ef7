// Faults armed through the control endpoints and consumed, one per request, by the next
// non-control requests. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tools/fakeapi/json.h"

namespace fakeapi {

struct InjectedFailure {
  int status = 503;
  std::string body;
  std::optional<long> retry_after_seconds;
};

// What to do to one request before handling it.
struct RequestFaults {
  std::chrono::milliseconds delay{0};
  bool drop = false;
  std::optional<InjectedFailure> failure;
};

class FaultPlan {
 public:
  // Each parses a control body and returns the 400 to answer if it is unusable. Arming a kind
  // replaces whatever of that kind was still pending.
  std::optional<Reply> armFailure(
      std::string_view body);  // {"count","status","body" (a string: raw text),"retry_after"}
  std::optional<Reply> armDelay(std::string_view body);  // {"ms","count"}
  std::optional<Reply> armDrop(std::string_view body);   // {"count"}

  // Consumes the faults for the next request. A dropped request gets no response, so it does not
  // use up an armed failure.
  RequestFaults takeNext();
  void clear();

 private:
  std::mutex mutex_;
  int failures_left_ = 0;
  InjectedFailure failure_;
  int delays_left_ = 0;
  std::chrono::milliseconds delay_{0};
  int drops_left_ = 0;
};

}  // namespace fakeapi
