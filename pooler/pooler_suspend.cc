// SUSPEND and RESUME from it. PgBouncer's SUSPEND flushes every socket buffer and stops
// reading, so nothing moves until RESUME; the console stays usable to say RESUME. apibouncer
// has no online restart to hand the sockets to, so the state is only ever left by RESUME,
// SIGUSR2 or a shutdown. Synced writes already at the API still finish: their answers are
// sends, and sends go on while suspended.
#include <type_traits>
#include <vector>

#include "pooler/client.h"
#include "pooler/listener.h"
#include "pooler/log.h"
#include "pooler/pool.h"
#include "pooler/pooler.h"
#include "pooler/server.h"

namespace apibouncer {
using config::ms;

// Clients of pools (console sessions excluded) and every server link; visit(ClientSession*)
// and visit(ServerLink*) may close what they get, so each list is copied first.
template <class Visit>
void Pooler::forEachSuspendable(Visit visit) const {
  std::vector<ClientSession*> clients;
  for (const auto& [raw, client] : clients_)
    if (!raw->isAdminConsole() && !raw->closing()) clients.push_back(raw);
  std::vector<ServerLink*> servers;
  for (const auto& [key, pool] : pools_)
    for (ServerLink* server : pool->serverLinks())
      if (!server->closing()) servers.push_back(server);
  for (ClientSession* client : clients) visit(client);
  for (ServerLink* server : servers) visit(server);
}

void Pooler::suspend() {
  pause_.suspended = true;
  pause_.suspended_at_ms = uv_now(loop_);
  forEachSuspendable([](Connection* connection) { connection->suspendReading(); });
}

void Pooler::resumeFromSuspend() {
  pause_.suspended = false;
  forEachSuspendable([](Connection* connection) { connection->resumeReading(); });
  for (Listener* listener : listeners_) listener->resumeAccepting();
  for (const auto& [key, pool] : pools_) pool->resume();
}

bool Pooler::suspendFlushed() const {
  bool flushed = true;
  forEachSuspendable([&flushed](Connection* connection) {
    if (connection->queuedBytes() > 0) flushed = false;
  });
  return flushed;
}

void Pooler::dropUnflushedAfterSuspendTimeout(uint64_t now) {
  double timeout = settings().suspend_timeout;
  if (!pause_.suspended || timeout <= 0 || now - pause_.suspended_at_ms < ms(timeout)) return;
  forEachSuspendable([](auto* connection) {
    if (connection->queuedBytes() == 0) return;
    LOG_WARNING("%s-%llu: suspend_timeout, queued bytes not flushed",
                std::is_same_v<decltype(connection), ClientSession*> ? "C" : "S",
                (unsigned long long)connection->id());
    connection->disconnect("suspend_timeout");
  });
}

}  // namespace apibouncer
