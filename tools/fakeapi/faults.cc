#include "tools/fakeapi/faults.h"

#include <rapidjson/document.h>

namespace fakeapi {
namespace {

Reply badControlBody(std::string_view message) {
  return errorReply(400, "validation", message, "bad_control_body");
}

// Reads a non-negative integer member, keeping `value` when the member is absent.
bool readCount(const rapidjson::Value& doc, std::string_view name, long& value) {
  const rapidjson::Value* member = findMember(doc, name);
  if (member == nullptr) return true;
  if (!member->IsInt64() || member->GetInt64() < 0) return false;
  value = static_cast<long>(member->GetInt64());
  return true;
}

// An empty body counts as {} so that e.g. `POST /_control/drop` alone drops one request.
bool parseControlBody(std::string_view body, rapidjson::Document& doc) {
  if (body.empty()) {
    doc.SetObject();
    return true;
  }
  doc.Parse(body.data(), body.size());
  return !doc.HasParseError() && doc.IsObject();
}

}  // namespace

std::optional<Reply> FaultPlan::armFailure(std::string_view body) {
  rapidjson::Document doc;
  if (!parseControlBody(body, doc)) return badControlBody("body must be a JSON object");
  long count = 1;
  long status = 503;
  std::optional<long> retry_after;
  if (!readCount(doc, "count", count)) return badControlBody("count must be an integer >= 0");
  if (!readCount(doc, "status", status) || status < 100 || status > 599) {
    return badControlBody("status must be an HTTP status");
  }
  if (findMember(doc, "retry_after") != nullptr) {
    long seconds = 0;
    if (!readCount(doc, "retry_after", seconds)) {
      return badControlBody("retry_after must be an integer >= 0");
    }
    retry_after = seconds;
  }
  const rapidjson::Value* reply_body = findMember(doc, "body");
  // A string is served as it is (a platform's error text, an HTML page from a gateway); any
  // other JSON value as JSON.
  std::string reply_json =
      reply_body == nullptr    ? errorJson("unavailable", "injected failure", "injected_failure")
      : reply_body->IsString() ? std::string(reply_body->GetString(), reply_body->GetStringLength())
                               : toJson(*reply_body);

  std::lock_guard lock(mutex_);
  failures_left_ = static_cast<int>(count);
  failure_ = InjectedFailure{static_cast<int>(status), std::move(reply_json), retry_after};
  return std::nullopt;
}

std::optional<Reply> FaultPlan::armDelay(std::string_view body) {
  rapidjson::Document doc;
  if (!parseControlBody(body, doc)) return badControlBody("body must be a JSON object");
  long ms = -1;
  long count = 1;
  if (!readCount(doc, "ms", ms) || ms < 0) return badControlBody("ms must be an integer >= 0");
  if (!readCount(doc, "count", count)) return badControlBody("count must be an integer >= 0");

  std::lock_guard lock(mutex_);
  delays_left_ = static_cast<int>(count);
  delay_ = std::chrono::milliseconds(ms);
  return std::nullopt;
}

std::optional<Reply> FaultPlan::armDrop(std::string_view body) {
  rapidjson::Document doc;
  if (!parseControlBody(body, doc)) return badControlBody("body must be a JSON object");
  long count = 1;
  if (!readCount(doc, "count", count)) return badControlBody("count must be an integer >= 0");

  std::lock_guard lock(mutex_);
  drops_left_ = static_cast<int>(count);
  return std::nullopt;
}

RequestFaults FaultPlan::takeNext() {
  std::lock_guard lock(mutex_);
  RequestFaults faults;
  if (delays_left_ > 0) {
    --delays_left_;
    faults.delay = delay_;
  }
  if (drops_left_ > 0) {
    --drops_left_;
    faults.drop = true;
  } else if (failures_left_ > 0) {
    --failures_left_;
    faults.failure = failure_;
  }
  return faults;
}

void FaultPlan::clear() {
  std::lock_guard lock(mutex_);
  failures_left_ = 0;
  delays_left_ = 0;
  drops_left_ = 0;
}

}  // namespace fakeapi
