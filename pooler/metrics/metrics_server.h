// The Prometheus endpoint (`metrics_port` in [apibouncer]): GET /metrics on the loop, answered
// with whatever `render` returns at that moment, one request per connection (Connection:
// close). Anything else gets 404/405; a request over 8 KiB or idle for 10 s is dropped, so a
// stray client cannot hold memory or sockets.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <unordered_set>

namespace apibouncer::metrics {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  MetricsServer(uv_loop_t* loop, Render render);
  ~MetricsServer();  // closes the listener and every open connection
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  bool listen(const std::string& host, int port, std::string& error);
  int port() const { return port_; }

 private:
  struct Connection;
  static void onConnection(uv_stream_t* listener, int status);
  void answer(Connection* connection);
  void drop(Connection* connection);

  uv_loop_t* loop_;
  Render render_;
  uv_tcp_t* listener_ = nullptr;  // freed in its close callback
  int port_ = 0;
  std::unordered_set<Connection*> connections_;
};

}  // namespace apibouncer::metrics
