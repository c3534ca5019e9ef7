// SHOW CLIENTS, SERVERS, SOCKETS and ACTIVE_SOCKETS: one row per connection with PgBouncer's
// socket columns (src/admin.c socket_row), from the live clients and server links.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "pooler/admin/show_rows.h"
#include "pooler/client.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/server.h"
#include "pooler/socket_address.h"

namespace apibouncer::admin::rows {
namespace {

uint64_t nowMs(Pooler& pooler) {
  return uv_now(pooler.loop());
}

// A loop timestamp as the wall-clock time PgBouncer prints ("2026-01-01 12:00:00 UTC").
Cell wallTime(uint64_t loop_ms, uint64_t now_ms) {
  if (loop_ms == 0) return text("");
  time_t t = time(nullptr) - static_cast<time_t>((now_ms - loop_ms) / 1000);
  tm local{};
  localtime_r(&t, &local);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &local);
  return text(buf);
}

std::string pointer(const void* p) {
  if (p == nullptr) return {};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

struct Address {
  std::string host = "unix";
  int port = 0;
};

// "host:port" (IPv6 hosts contain colons: the port follows the last one), or "unix".
Address splitPeer(const std::string& peer, int unix_port) {
  Address out;
  size_t colon = peer.rfind(':');
  if (peer == "unix" || colon == std::string::npos) {
    out.port = unix_port;
    return out;
  }
  out.host = peer.substr(0, colon);
  out.port = std::atoi(peer.c_str() + colon + 1);
  return out;
}

Address localAddress(Connection& conn, int unix_port) {
  Address out;
  out.port = unix_port;
  if (conn.transport() != Connection::Transport::kTcp) return out;
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getsockname(reinterpret_cast<uv_tcp_t*>(conn.stream()),
                         reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return out;
  out.host = ipText(addr);
  if (!out.host.empty()) out.port = portOf(addr);
  return out;
}

}  // namespace

// PgBouncer's list for a client: "login" before it belongs to a pool, "waiting" for a link,
// "active" otherwise (shown as "idle" while it holds no link). Empty: closing, not listed.
std::string_view clientList(const ClientSession& client) {
  switch (client.state()) {
    case ClientSession::State::kStartup:
    case ClientSession::State::kAuth:
      return "login";
    case ClientSession::State::kWaitingLink:
      return "waiting";
    case ClientSession::State::kLoggedIn:
    case ClientSession::State::kLinking:
    case ClientSession::State::kActive:
      return "active";
    case ClientSession::State::kClosing:
      break;
  }
  return {};
}

// PgBouncer's list for a server link: new (logging in), active, idle, tested (running the
// reset or check query), being_canceled (a cancel for it is still in flight).
std::string_view serverList(const ServerLink& server) {
  if (server.loggingIn()) return "new";
  if (server.parked()) return "being_canceled";
  switch (server.state()) {
    case ServerLink::State::kActive:
      return "active";
    case ServerLink::State::kIdle:
      return "idle";
    case ServerLink::State::kInternalQuery:
      return server.client() != nullptr ? "active" : "tested";
    default:
      break;
  }
  return {};
}

namespace {

constexpr std::string_view kSocketTypes = "ssssssisiTTiiississii";
constexpr std::string_view kSocketDebugTypes = "ssssssisiTTiiississiiiiiiiii";

ResultSet socketResult(bool debug) {
  std::vector<std::string_view> names = {"type",
                                         "user",
                                         "database",
                                         "replication",
                                         "state",
                                         "addr",
                                         "port",
                                         "local_addr",
                                         "local_port",
                                         "connect_time",
                                         "request_time",
                                         "wait",
                                         "wait_us",
                                         "close_needed",
                                         "ptr",
                                         "link",
                                         "remote_pid",
                                         "tls",
                                         "application_name",
                                         "prepared_statements",
                                         "id"};
  if (debug)
    for (std::string_view extra : {"recv_pos", "pkt_pos", "pkt_remain", "send_pos", "send_remain",
                                   "pkt_avail", "send_avail"})
      names.push_back(extra);
  return ResultSet(debug ? kSocketDebugTypes : kSocketTypes, names);
}

std::string applicationName(const ClientSession& client) {
  const TrackedParameters& params = client.trackedParameters();
  int i = indexOfParameter(params.names(), "application_name");
  if (i < 0 || !params.has(static_cast<size_t>(i))) return {};
  return params.value(static_cast<size_t>(i));
}

// PgBouncer's form: protocol/cipher/bits, empty for plain text.
std::string tlsDescription(const Connection& connection) {
  const tls::Session* session = connection.tls();
  if (session == nullptr || !session->handshakeDone()) return {};
  return session->protocolName() + "/" + session->cipherName() + "/" +
         std::to_string(session->cipherBits());
}

void addClientRow(ResultSet& out, Pooler& pooler, ClientSession& client, std::string_view state,
                  bool debug) {
  uint64_t now = nowMs(pooler);
  int unix_port = pooler.settings().listen_port;
  Address remote = splitPeer(client.peer(), unix_port);
  Address local = localAddress(client, unix_port);
  bool waiting = client.state() == ClientSession::State::kWaitingLink;
  uint64_t wait_ms = waiting ? now - client.waitStartMs() : 0;
  if (state == "active" && client.server() == nullptr) state = "idle";
  std::string database = client.isAdminConsole()    ? "pgbouncer"
                         : client.pool() != nullptr ? client.pool()->database().name
                                                    : client.databaseName();
  std::vector<Cell> row = {text("C"),
                           text(client.userName().empty() ? "(nouser)" : client.userName()),
                           text(database.empty() ? "(nodb)" : database),
                           text("none"),
                           text(state),
                           text(remote.host),
                           number(remote.port),
                           text(local.host),
                           number(local.port),
                           wallTime(client.connectedAtMs(), now),
                           wallTime(client.lastActivityMs(), now),
                           number(static_cast<int64_t>(wait_ms / 1000)),
                           number(static_cast<int64_t>(wait_ms % 1000 * 1000)),
                           number(0),
                           text(pointer(&client)),
                           text(pointer(client.server())),
                           number(0),
                           text(tlsDescription(client)),
                           text(applicationName(client)),
                           number(0),
                           number(client.id())};
  if (debug)
    for (uint64_t v : {uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0},
                       uint64_t{client.queuedBytes()}})
      row.push_back(number(v));
  out.addRow(std::move(row));
}

void addServerRow(ResultSet& out, Pooler& pooler, ServerLink& server, std::string_view state,
                  bool debug) {
  uint64_t now = nowMs(pooler);
  Pool& pool = server.pool();
  bool unix_socket = server.transport() == Connection::Transport::kUnix;
  Address local = localAddress(server, server.addressPort());
  std::vector<Cell> row = {text("S"),
                           text(pool.serverUser()),
                           text(pool.database().name),
                           text("none"),
                           text(state),
                           text(unix_socket ? "unix" : server.addressHost()),
                           number(server.addressPort()),
                           text(local.host),
                           number(local.port),
                           wallTime(server.createdAtMs(), now),
                           wallTime(server.lastUsedMs(), now),
                           number(0),
                           number(0),
                           number(0),
                           text(pointer(&server)),
                           text(pointer(server.client())),
                           number(static_cast<int64_t>(server.backendPid())),
                           text(tlsDescription(server)),
                           text(""),
                           number(0),
                           number(server.id())};
  if (debug)
    for (uint64_t v : {uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0},
                       uint64_t{server.queuedBytes()}})
      row.push_back(number(v));
  out.addRow(std::move(row));
}

std::vector<ClientSession*> clientsInOrder(Pooler& pooler) {
  std::vector<ClientSession*> out;
  for (const auto& [raw, owned] : pooler.clients()) out.push_back(raw);
  std::sort(out.begin(), out.end(),
            [](ClientSession* a, ClientSession* b) { return a->id() < b->id(); });
  return out;
}

}  // namespace

ResultSet showClients(Pooler& pooler) {
  ResultSet out = socketResult(false);
  for (ClientSession* client : clientsInOrder(pooler)) {
    std::string_view list = clientList(*client);
    if (list == "active" || list == "waiting") addClientRow(out, pooler, *client, list, false);
  }
  return out;
}

ResultSet showServers(Pooler& pooler) {
  ResultSet out = socketResult(false);
  for (const auto& [key, pool] : pooler.pools())
    for (ServerLink* server : pool->serverLinks())
      if (std::string_view list = serverList(*server); !list.empty())
        addServerRow(out, pooler, *server, list, false);
  return out;
}

namespace {

// SOCKETS and ACTIVE_SOCKETS: both kinds, lists named cl_* / sv_*; ACTIVE_SOCKETS only those
// with bytes waiting in a buffer.
ResultSet showSocketsFiltered(Pooler& pooler, bool only_busy) {
  ResultSet out = socketResult(true);
  for (ClientSession* client : clientsInOrder(pooler)) {
    std::string_view list = clientList(*client);
    if (list.empty() || (only_busy && client->queuedBytes() == 0)) continue;
    addClientRow(out, pooler, *client, std::string("cl_") + std::string(list), true);
  }
  for (const auto& [key, pool] : pooler.pools())
    for (ServerLink* server : pool->serverLinks()) {
      std::string_view list = serverList(*server);
      if (list.empty() || (only_busy && server->queuedBytes() == 0)) continue;
      std::string name = list == "new" ? "sv_login" : "sv_" + std::string(list);
      addServerRow(out, pooler, *server, name, true);
    }
  return out;
}

}  // namespace

ResultSet showSockets(Pooler& pooler) {
  return showSocketsFiltered(pooler, false);
}

ResultSet showActiveSockets(Pooler& pooler) {
  return showSocketsFiltered(pooler, true);
}

}  // namespace apibouncer::admin::rows
