#include "tools/fakeapi/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "tools/fakeapi/connection_drop.h"
#include "tools/fakeapi/dialect.h"
#include "tools/fakeapi/faults.h"
#include "tools/fakeapi/json.h"
#include "tools/fakeapi/request_log.h"
#include "tools/fakeapi/store.h"
#include "tools/fakeapi/tokens.h"

namespace fakeapi {
namespace {

constexpr const char* kJson = "application/json";
// Enough for many keep-alive clients (each holds a thread) plus delayed requests.
constexpr size_t kThreads = 64;

void send(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, kJson);
}

std::string_view errorTypeFor(int status) {
  switch (status) {
    case 400:
    case 422:
      return "validation";
    case 401:
      return "auth";
    case 403:
      return "forbidden";
    case 404:
    case 405:
      return "not_found";
    case 409:
      return "conflict";
    case 429:
      return "rate_limited";
    default:
      return "unavailable";
  }
}

std::optional<std::string> headerValue(const httplib::Request& req, const char* name) {
  if (!req.has_header(name)) return std::nullopt;
  return req.get_header_value(name);
}

}  // namespace

struct Server::Impl {
  using Operation = Reply (Store::*)(std::string_view, std::string_view);

  Impl(std::string key, std::chrono::milliseconds latency_ms)
      : api_key(std::move(key)), latency(latency_ms) {
    http.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
    // httplib writes a response's headers and body separately: without TCP_NODELAY, Nagle holds
    // the body back until the client's delayed ACK (~40 ms) on keep-alive connections, which
    // would swamp any latency measured through the fake API.
    http.set_tcp_nodelay(true);
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (latency.count() > 0 && req.path.rfind("/_control", 0) != 0) {
        std::this_thread::sleep_for(latency);
      }
      res.set_header("X-Request-Id", "req_" + std::to_string(++request_count));
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // httplib answers unknown routes and unreadable requests itself, with an empty body.
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          send(res, errorReply(res.status, errorTypeFor(res.status),
                               "HTTP " + std::to_string(res.status)));
          return httplib::Server::HandlerResponse::Handled;
        }));
    routeControl();
    for (auto make : {makeStripeDialect, makeSalesforceDialect, makeHubspotDialect,
                      makeAirtableDialect, makeGithubDialect}) {
      dialects.push_back(make());
      dialects.back()->route(http, gate);
    }
    const char* object_path = R"(/([^/_][^/]*))";
    auto route = [this](Operation operation) {
      return [this, operation](const httplib::Request& req, httplib::Response& res) {
        handle(req, res, operation);
      };
    };
    // The generic contract's OAuth2 token endpoint (RFC 6749 refresh_token grant, form body).
    http.Post("/oauth/token", [this](const httplib::Request& req, httplib::Response& res) {
      if (gate.interceptUnauthenticated(req, res)) return;
      TokenAuthority::Grant grant;
      auto refusal = req.get_param_value("grant_type") != "refresh_token"
                         ? TokenAuthority::Refusal::kBadRefreshToken
                         : tokens.refresh(req.get_param_value("refresh_token"),
                                          req.get_param_value("client_id"),
                                          req.get_param_value("client_secret"), grant);
      if (refusal != TokenAuthority::Refusal::kNone) {
        bool client = refusal == TokenAuthority::Refusal::kUnknownClient;
        send(res, Reply{client ? 401 : 400, std::string(R"({"error":")") +
                                                (client ? "invalid_client" : "invalid_grant") +
                                                R"(","error_description":"refresh refused"})"});
        return;
      }
      send(res, Reply{200, R"({"access_token":")" + grant.access_token +
                               R"(","token_type":"bearer","expires_in":)" +
                               std::to_string(grant.expires_in) + R"(,"refresh_token":")" +
                               grant.refresh_token + R"("})"});
    });
    http.Post(object_path, route(&Store::create));
    http.Patch(object_path, route(&Store::update));
    http.Delete(object_path, route(&Store::remove));
  }

  void routeControl() {
    auto arm = [this](std::optional<Reply> (FaultPlan::*arm_fault)(std::string_view)) {
      return [this, arm_fault](const httplib::Request& req, httplib::Response& res) {
        auto refusal = (faults.*arm_fault)(req.body);
        send(res, refusal ? *refusal : Reply{200, R"({"ok":true})"});
      };
    };
    http.Post("/_control/fail", arm(&FaultPlan::armFailure));
    http.Post("/_control/delay", arm(&FaultPlan::armDelay));
    http.Post("/_control/drop", arm(&FaultPlan::armDrop));
    http.Post("/_control/reset", [this](const httplib::Request&, httplib::Response& res) {
      {
        std::lock_guard lock(mutex);
        store.clear();
        idempotent_replies.clear();
      }
      {
        std::lock_guard lock(gate.mutex());
        for (auto& dialect : dialects) dialect->clear();
      }
      tokens.clear();
      faults.clear();
      log.clear();
      send(res, Reply{200, R"({"ok":true})"});
    });
    http.Get("/_control/store", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex);
      send(res, Reply{200, store.dump()});
    });
    http.Get(R"(/_control/dialect/([a-z]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               std::lock_guard lock(gate.mutex());
               for (auto& dialect : dialects)
                 if (dialect->name() == req.matches[1].str())
                   return send(res, Reply{200, dialect->dump()});
               send(res, errorReply(404, "not_found", "no such dialect"));
             });
    // OAuth: register a refresh token (and client, lifetime, rotation); expire issued tokens.
    http.Post("/_control/oauth", [this](const httplib::Request& req, httplib::Response& res) {
      send(res, tokens.configure(req.body)
                    ? Reply{200, R"({"ok":true})"}
                    : errorReply(400, "validation",
                                 "want {refresh_token, client_id, client_secret, expires_in, "
                                 "rotate}"));
    });
    http.Post("/_control/oauth/expire", [this](const httplib::Request&, httplib::Response& res) {
      tokens.expireAccessTokens();
      send(res, Reply{200, R"({"ok":true})"});
    });
    http.Get("/_control/oauth", [this](const httplib::Request&, httplib::Response& res) {
      send(res, Reply{200, tokens.stats()});
    });
    http.Get("/_control/requests", [this](const httplib::Request&, httplib::Response& res) {
      send(res, Reply{200, log.dump()});
    });
  }

  void handle(const httplib::Request& req, httplib::Response& res, Operation operation) {
    std::optional<std::string> idempotency_key = headerValue(req, "Idempotency-Key");
    if (gate.intercept(req, res, [](httplib::Response& refused) {
          send(refused, errorReply(401, "auth", "missing or wrong API key", "unauthorized"));
        }))
      return;

    std::string object = req.matches[1].str();
    std::lock_guard lock(mutex);
    if (idempotency_key) {
      auto replay = idempotent_replies.find(*idempotency_key);
      if (replay != idempotent_replies.end()) {
        res.set_header("Idempotent-Replayed", "true");
        send(res, replay->second);
        return;
      }
    }
    Reply reply = (store.*operation)(object, req.body);
    if (idempotency_key) idempotent_replies.emplace(*idempotency_key, reply);
    send(res, reply);
  }

  httplib::Server http;
  const std::string api_key;
  const std::chrono::milliseconds latency;
  std::atomic<unsigned long> request_count{0};
  FaultPlan faults;
  RequestLog log;
  TokenAuthority tokens{api_key};
  Gate gate{faults, log, tokens};
  std::vector<std::unique_ptr<Dialect>> dialects;
  std::mutex mutex;  // guards store and idempotent_replies, so a key is applied at most once
  Store store;
  std::map<std::string, Reply> idempotent_replies;
};

bool Gate::interceptUnauthenticated(const httplib::Request& req, httplib::Response& res) {
  // The target keeps the query string: some platforms put ids there (DELETE ?ids=...).
  log_.append(req.method, req.target, req.body, headerValue(req, "Idempotency-Key"));
  RequestFaults fault = faults_.takeNext();
  if (fault.delay.count() > 0) std::this_thread::sleep_for(fault.delay);
  if (fault.drop) {
    shutDownConnection(req.local_port, req.remote_addr, req.remote_port);
    res.status = 500;  // never reaches the client: the socket is already shut down
    return true;
  }
  if (fault.failure) {
    res.status = fault.failure->status;
    res.set_content(fault.failure->body, kJson);
    if (fault.failure->retry_after_seconds) {
      res.set_header("Retry-After", std::to_string(*fault.failure->retry_after_seconds));
    }
    return true;
  }
  return false;
}

bool Gate::intercept(const httplib::Request& req, httplib::Response& res,
                     const std::function<void(httplib::Response&)>& unauthorized) {
  if (interceptUnauthenticated(req, res)) return true;
  if (!tokens_.accepts(req.get_header_value("Authorization"))) {
    unauthorized(res);
    if (res.status == 200 || res.status == -1) res.status = 401;
    return true;
  }
  return false;
}

Server::Server(std::string api_key, std::chrono::milliseconds latency)
    : impl_(std::make_unique<Impl>(std::move(api_key), latency)) {}
Server::~Server() = default;

int Server::bind(const std::string& host, int port) {
  if (port == 0) return impl_->http.bind_to_any_port(host);
  return impl_->http.bind_to_port(host, port) ? port : -1;
}

bool Server::serve() {
  return impl_->http.listen_after_bind();
}

void Server::stop() {
  impl_->http.stop();
}

}  // namespace fakeapi
