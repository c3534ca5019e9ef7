#include "pooler/metrics/metrics_server.h"

#include <netinet/in.h>

#include <cstring>

#include "pooler/socket_address.h"

namespace apibouncer::metrics {
namespace {

constexpr size_t kMaxRequest = 8192;
constexpr uint64_t kIdleMs = 10000;

std::string response(int status, std::string_view reason, std::string_view content_type,
                     std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         std::string(body);
}

}  // namespace

struct MetricsServer::Connection {
  MetricsServer* server = nullptr;
  uv_tcp_t tcp;
  uv_timer_t idle;
  uv_write_t write;
  std::string request, reply;
  int handles_open = 2;  // tcp and idle: freed when both closed
  bool closing = false;
};

MetricsServer::MetricsServer(uv_loop_t* loop, Render render)
    : loop_(loop), render_(std::move(render)) {}

MetricsServer::~MetricsServer() {
  for (Connection* connection : std::unordered_set<Connection*>(connections_)) drop(connection);
  if (listener_ != nullptr)
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

bool MetricsServer::listen(const std::string& host, int port, std::string& error) {
  sockaddr_storage address{};
  int rc = uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&address));
  if (rc != 0) rc = uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&address));
  if (rc != 0) {
    error = "metrics: bad address " + host;
    return false;
  }
  listener_ = new uv_tcp_t;
  uv_tcp_init(loop_, listener_);
  listener_->data = this;
  rc = uv_tcp_bind(listener_, reinterpret_cast<const sockaddr*>(&address), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 64, &onConnection);
  if (rc != 0) {
    error =
        "metrics: cannot listen on " + host + ":" + std::to_string(port) + ": " + uv_strerror(rc);
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    listener_ = nullptr;
    return false;
  }
  sockaddr_storage bound{};
  int length = sizeof(bound);
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = portOf(bound);
  return true;
}

void MetricsServer::onConnection(uv_stream_t* listener, int status) {
  auto* server = static_cast<MetricsServer*>(listener->data);
  if (status < 0) return;
  auto* connection = new Connection;
  connection->server = server;
  uv_tcp_init(server->loop_, &connection->tcp);
  uv_timer_init(server->loop_, &connection->idle);
  connection->tcp.data = connection;
  connection->idle.data = connection;
  server->connections_.insert(connection);
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&connection->tcp)) != 0) {
    server->drop(connection);
    return;
  }
  uv_timer_start(
      &connection->idle,
      [](uv_timer_t* timer) {
        auto* c = static_cast<Connection*>(timer->data);
        c->server->drop(c);
      },
      kIdleMs, 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&connection->tcp),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        buf->base = new char[suggested];
        buf->len = suggested;
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<Connection*>(stream->data);
        if (nread > 0) c->request.append(buf->base, static_cast<size_t>(nread));
        delete[] buf->base;
        if (nread < 0 || c->request.size() > kMaxRequest) {
          c->server->drop(c);
          return;
        }
        if (c->request.find("\r\n\r\n") != std::string::npos) c->server->answer(c);
      });
}

void MetricsServer::answer(Connection* c) {
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  std::string_view line(c->request);
  line = line.substr(0, line.find("\r\n"));
  size_t space = line.find(' ');
  std::string_view method = line.substr(0, space);
  std::string_view target =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  target = target.substr(0, target.find(' '));
  std::string_view path = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD")
    c->reply = response(405, "Method Not Allowed", "text/plain", "GET /metrics only\n");
  else if (path != "/metrics")
    c->reply = response(404, "Not Found", "text/plain", "GET /metrics only\n");
  else
    c->reply = response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", render_());
  if (method == "HEAD") c->reply = c->reply.substr(0, c->reply.find("\r\n\r\n") + 4);
  uv_buf_t buf = uv_buf_init(c->reply.data(), static_cast<unsigned>(c->reply.size()));
  c->write.data = c;
  int rc = uv_write(&c->write, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1,
                    [](uv_write_t* request, int) {
                      auto* connection = static_cast<Connection*>(request->data);
                      connection->server->drop(connection);
                    });
  if (rc != 0) drop(c);
}

void MetricsServer::drop(Connection* c) {
  if (c->closing) return;
  c->closing = true;
  connections_.erase(c);
  auto closed = [](uv_handle_t* handle) {
    auto* connection = static_cast<Connection*>(handle->data);
    if (--connection->handles_open == 0) delete connection;
  };
  uv_timer_stop(&c->idle);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->idle), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), closed);
}

}  // namespace apibouncer::metrics
