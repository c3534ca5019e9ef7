// HttpClient: libcurl multi on libuv (the pattern measured in deps-notes §3), retries only
// where nothing can have been applied, one deadline per request, a token bucket per API.
#include "adapters/http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <mutex>

namespace apibouncer::adapters {
namespace {

constexpr uint64_t kFirstBackoffMs = 100, kMaxBackoffMs = 2000;

size_t onBody(char* data, size_t size, size_t count, void* userp) {
  static_cast<std::string*>(userp)->append(data, size * count);
  return size * count;
}

size_t onHeader(char* data, size_t size, size_t count, void* userp) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(userp);
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    headers->emplace_back(std::move(name), std::string(value));
  }
  return size * count;
}

// Without an adapter's advice: the API said "not now" and when to come back.
RetryAdvice defaultAdvice(const HttpResponse& response) {
  RetryAdvice advice;
  double after = retryAfterSeconds(response);
  if ((response.status == 429 || response.status == 503) && after > 0) {
    advice.retry = true;
    advice.after_seconds = after;
  }
  return advice;
}

}  // namespace

struct HttpClient::Transfer {
  HttpClient* client = nullptr;
  HttpRequest request;
  Advisor advise;
  Done done;
  uint64_t deadline_ms = 0;
  int attempts = 0;
  int retries = 0;
  uint64_t waited_ms = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse response;
  uv_timer_t* wait = nullptr;  // before the next attempt
};

struct HttpClient::Socket {
  uv_poll_t poll;
  curl_socket_t fd;
  HttpClient* client;
};

HttpClient::HttpClient(uv_loop_t* loop, double rate_limit_per_second)
    : loop_(loop), rate_per_ms_(rate_limit_per_second / 1000.0) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &HttpClient::onSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &HttpClient::onTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;
  tokens_ = std::max(1.0, rate_limit_per_second);
  tokens_at_ms_ = uv_now(loop_);
}

HttpClient::~HttpClient() {
  for (Transfer* transfer : transfers_) {
    if (transfer->easy != nullptr) {
      curl_multi_remove_handle(multi_, transfer->easy);
      curl_easy_cleanup(transfer->easy);
      curl_slist_free_all(transfer->headers);
    }
    if (transfer->wait != nullptr) {
      transfer->wait->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(transfer->wait),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    }
    delete transfer;
  }
  curl_multi_cleanup(multi_);  // may still report sockets to onSocket: they close there
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

uint64_t HttpClient::takeRateToken() {
  uint64_t now = uv_now(loop_);
  // The API asked everyone to back off (Airtable's 30 s, GitHub's reset): queue behind it.
  uint64_t paused = pause_until_ms_ > now ? pause_until_ms_ - now : 0;
  if (rate_per_ms_ <= 0) return paused;
  double burst = std::max(1.0, rate_per_ms_ * 1000.0);
  tokens_ = std::min(burst, tokens_ + static_cast<double>(now - tokens_at_ms_) * rate_per_ms_);
  tokens_at_ms_ = now;
  tokens_ -= 1;  // taken now, or reserved: later callers queue behind
  if (tokens_ >= 0) return paused;
  return std::max(paused, static_cast<uint64_t>(std::ceil(-tokens_ / rate_per_ms_)));
}

void HttpClient::send(HttpRequest request, double timeout_seconds, Done done) {
  send(std::move(request), timeout_seconds, nullptr, std::move(done));
}

void HttpClient::send(HttpRequest request, double timeout_seconds, Advisor advise, Done done) {
  auto* transfer = new Transfer;
  transfer->client = this;
  transfer->request = std::move(request);
  transfer->advise = std::move(advise);
  transfer->done = std::move(done);
  transfer->deadline_ms = uv_now(loop_) + static_cast<uint64_t>(timeout_seconds * 1000);
  transfers_.insert(transfer);
  ++in_flight_;
  uint64_t wait = takeRateToken();
  if (wait > 0)
    retryLater(transfer, wait);
  else
    start(transfer);
}

void HttpClient::start(Transfer* t) {
  uint64_t now = uv_now(loop_);
  if (now >= t->deadline_ms) {
    HttpOutcome outcome;
    outcome.failure = HttpOutcome::Failure::kTimeout;
    outcome.message = "api_timeout passed before the request could be sent";
    complete(t, std::move(outcome));
    return;
  }
  ++t->attempts;
  t->response = HttpResponse{};
  t->easy = curl_easy_init();
  CURL* easy = t->easy;
  curl_easy_setopt(easy, CURLOPT_URL, t->request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, t->request.method.c_str());
  if (!t->request.body.empty()) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->request.body.data());  // kept alive in *t
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t->request.body.size()));
  }
  t->headers = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
  for (const auto& [name, value] : t->request.headers)
    t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t->response.body);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t->response.headers);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(t->deadline_ms - now));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
  curl_multi_add_handle(multi_, easy);
}

void HttpClient::retryLater(Transfer* t, uint64_t delay_ms) {
  t->waited_ms += delay_ms;
  t->wait = new uv_timer_t;
  uv_timer_init(loop_, t->wait);
  t->wait->data = t;
  uv_timer_start(t->wait, &HttpClient::onWaitOver, delay_ms, 0);
}

void HttpClient::onWaitOver(uv_timer_t* timer) {
  auto* t = static_cast<Transfer*>(timer->data);
  uv_close(reinterpret_cast<uv_handle_t*>(timer),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  if (t == nullptr) return;
  t->wait = nullptr;
  t->client->start(t);
}

void HttpClient::finish(Transfer* t, int curl_code) {
  long status = 0;
  curl_off_t connect_us = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_multi_remove_handle(multi_, t->easy);
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  t->easy = nullptr;
  t->headers = nullptr;
  uint64_t now = uv_now(loop_);
  HttpOutcome outcome;
  if (curl_code == CURLE_OK) {
    t->response.status = static_cast<int>(status);
    // The adapter knows when its platform's answer means "not applied, come back later".
    RetryAdvice advice =
        t->advise ? t->advise(t->request, t->response) : defaultAdvice(t->response);
    if (advice.pause_api_seconds > 0)
      pause_until_ms_ =
          std::max(pause_until_ms_, now + static_cast<uint64_t>(advice.pause_api_seconds * 1000));
    if (advice.retry) {
      uint64_t wait = std::max(static_cast<uint64_t>(advice.after_seconds * 1000), takeRateToken());
      if (now + wait < t->deadline_ms) {
        ++t->retries;
        retryLater(t, wait);
        return;
      }
    }
    outcome.response = std::move(t->response);
    complete(t, std::move(outcome));
    return;
  }
  outcome.message = curl_easy_strerror(static_cast<CURLcode>(curl_code));
  if (curl_code == CURLE_COULDNT_CONNECT || curl_code == CURLE_COULDNT_RESOLVE_HOST) {
    uint64_t backoff = std::min(kMaxBackoffMs, kFirstBackoffMs << std::min(t->attempts - 1, 5));
    if (now + backoff < t->deadline_ms) {
      ++t->retries;
      retryLater(t, backoff);
      return;
    }
    outcome.failure = HttpOutcome::Failure::kUnreachable;
  } else if (curl_code == CURLE_OPERATION_TIMEDOUT) {
    outcome.failure =
        connect_us > 0 ? HttpOutcome::Failure::kTimeout : HttpOutcome::Failure::kUnreachable;
    outcome.maybe_applied = connect_us > 0;
  } else {
    outcome.failure =
        connect_us > 0 ? HttpOutcome::Failure::kConnectionLost : HttpOutcome::Failure::kUnreachable;
    outcome.maybe_applied = connect_us > 0;
    // The connection broke mid-request: only a request the API deduplicates (idempotency key)
    // or that is idempotent by nature may go again.
    uint64_t backoff = std::min(kMaxBackoffMs, kFirstBackoffMs << std::min(t->attempts - 1, 5));
    if (t->request.resend_safe && now + backoff < t->deadline_ms) {
      ++t->retries;
      retryLater(t, backoff);
      return;
    }
  }
  complete(t, std::move(outcome));
}

void HttpClient::complete(Transfer* t, HttpOutcome outcome) {
  outcome.attempts = t->attempts;
  outcome.retries = t->retries;
  outcome.waited_ms = t->waited_ms;
  Done done = std::move(t->done);
  transfers_.erase(t);
  --in_flight_;
  delete t;
  done(std::move(outcome));
}

void HttpClient::checkDone() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &t);
    finish(t, message->data.result);
  }
}

int HttpClient::onSocket(void*, int fd, int what, void* userp, void* socketp) {
  auto* client = static_cast<HttpClient*>(userp);
  auto* socket = static_cast<Socket*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (socket != nullptr) {
      uv_poll_stop(&socket->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&socket->poll),
               [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
      curl_multi_assign(client->multi_, fd, nullptr);
    }
    return 0;
  }
  if (socket == nullptr) {
    socket = new Socket{{}, fd, client};
    if (uv_poll_init_socket(client->loop_, &socket->poll, fd) != 0) {
      delete socket;
      return -1;
    }
    socket->poll.data = socket;
    curl_multi_assign(client->multi_, fd, socket);
  }
  int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
  uv_poll_start(&socket->poll, events, &HttpClient::onPoll);
  return 0;
}

void HttpClient::onPoll(uv_poll_t* handle, int status, int events) {
  auto* socket = static_cast<Socket*>(handle->data);
  HttpClient* client = socket->client;
  int flags = status < 0 ? CURL_CSELECT_ERR : 0;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  int running = 0;
  curl_multi_socket_action(client->multi_, socket->fd, flags, &running);
  client->checkDone();
}

int HttpClient::onTimer(void*, long timeout_ms, void* userp) {
  auto* client = static_cast<HttpClient*>(userp);
  if (timeout_ms < 0)
    uv_timer_stop(client->timer_);
  else
    uv_timer_start(client->timer_, &HttpClient::onTimeout, static_cast<uint64_t>(timeout_ms), 0);
  return 0;
}

void HttpClient::onTimeout(uv_timer_t* timer) {
  auto* client = static_cast<HttpClient*>(timer->data);
  int running = 0;
  curl_multi_socket_action(client->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  client->checkDone();
}

}  // namespace apibouncer::adapters
