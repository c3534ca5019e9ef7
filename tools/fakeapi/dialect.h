// A platform dialect of the fake API: the platform's real paths, bodies, auth header, error
// shapes and limits, over in-memory records. One file per platform in dialects/. Every dialect
// request first goes through the Gate (request log, armed faults, bearer check), exactly like
// the generic routes, so the /_control fault endpoints work for every dialect.
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "tools/fakeapi/faults.h"
#include "tools/fakeapi/request_log.h"
#include "tools/fakeapi/tokens.h"

namespace fakeapi {

class Gate {
 public:
  Gate(FaultPlan& faults, RequestLog& log, TokenAuthority& tokens)
      : faults_(faults), log_(log), tokens_(tokens) {}

  // Logs the request and applies the next armed faults (delay, dropped connection, injected
  // status + body + Retry-After), then checks the Authorization header. Returns true when the
  // request has been answered (a fault, or a refused token answered by `unauthorized`, which
  // must set the platform's 401 status and body) and the dialect must not handle it.
  bool intercept(const httplib::Request& req, httplib::Response& res,
                 const std::function<void(httplib::Response&)>& unauthorized);
  // The same without the bearer check, for token endpoints (their credentials are in the body).
  bool interceptUnauthenticated(const httplib::Request& req, httplib::Response& res);

  TokenAuthority& tokens() { return tokens_; }
  // Serializes every dialect's record changes (handlers run on many threads).
  std::mutex& mutex() { return mutex_; }

 private:
  FaultPlan& faults_;
  RequestLog& log_;
  TokenAuthority& tokens_;
  std::mutex mutex_;
};

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string_view name() const = 0;  // "stripe", "hubspot", ...
  // Registers the platform's routes (API and token endpoint); handlers start with gate.intercept.
  virtual void route(httplib::Server& http, Gate& gate) = 0;
  // Its records as JSON, for GET /_control/dialect/<name> (under gate.mutex()); tests read
  // what the "API" holds from here. Shape: {"<object>": [records as the platform shows them]}.
  virtual std::string dump() const = 0;
  virtual void clear() = 0;  // POST /_control/reset
};

std::unique_ptr<Dialect> makeStripeDialect();
std::unique_ptr<Dialect> makeSalesforceDialect();
std::unique_ptr<Dialect> makeHubspotDialect();
std::unique_ptr<Dialect> makeAirtableDialect();
std::unique_ptr<Dialect> makeGithubDialect();

}  // namespace fakeapi
