// Cancel keys that name their process, and forwarding to peers (see peer_cancel.h).
#include "pooler/peer_cancel.h"

#include <netinet/in.h>

#include "pooler/cancel.h"
#include "pooler/log.h"
#include "pooler/pooler.h"
#include "pooler/socket_address.h"

namespace apibouncer::peering {
namespace {

constexpr int kPeerShift = 50;  // bits 63..50: peer_id (14 bits)
constexpr int kHopShift = 48;   // bits 49..48: hops left
constexpr uint64_t kHopMask = uint64_t{3} << kHopShift;
constexpr uint64_t kFullHops = 3;

void connectTo(Pooler& pooler, const sockaddr* address, const std::string& unix_path, uint64_t key,
               std::shared_ptr<int> in_flight) {
  CancelLink::forward(pooler.loop(), address, unix_path, static_cast<uint32_t>(key >> 32),
                      static_cast<uint32_t>(key), std::move(in_flight));
}

}  // namespace

uint64_t stampKey(uint64_t random, int peer_id) {
  if (peer_id <= 0) return random;
  uint64_t low = random & ((uint64_t{1} << kHopShift) - 1);
  return (static_cast<uint64_t>(peer_id) << kPeerShift) | (kFullHops << kHopShift) | low;
}

int peerOf(uint64_t key) {
  return static_cast<int>(key >> kPeerShift);
}

int hopsLeft(uint64_t key) {
  return static_cast<int>((key & kHopMask) >> kHopShift);
}

uint64_t asHandedOut(uint64_t key) {
  return key | kHopMask;
}

uint64_t withOneHopLess(uint64_t key) {
  uint64_t hops = static_cast<uint64_t>(hopsLeft(key));
  return (key & ~kHopMask) | ((hops > 0 ? hops - 1 : 0) << kHopShift);
}

void forward(Pooler& pooler, const config::PeerConfig& peer, uint64_t key,
             std::shared_ptr<int> in_flight) {
  if (peer.host.starts_with('/')) {
    connectTo(pooler, nullptr, peer.host + "/.s.PGSQL." + std::to_string(peer.port), key,
              std::move(in_flight));
    return;
  }
  // Names go through the server links' DNS cache; the callback holds only copies.
  Pooler* owner = &pooler;
  int port = peer.port;
  int id = peer.id;
  const config::Settings& s = pooler.settings();
  // Counted while the name resolves too, or cancels arriving meanwhile would pass the limit
  // and all connect at once when the answer comes.
  ++*in_flight;
  pooler.dnsCache().resolve(
      peer.host, s.dns_max_ttl, s.dns_nxdomain_ttl,
      [owner, port, id, key, in_flight](int status, const std::vector<sockaddr_storage>& addrs) {
        --*in_flight;  // CancelLink::forward counts the connection itself
        if (status != 0) {
          LOG_WARNING("cancel for peer %d dropped: cannot resolve its host: %s", id,
                      uv_strerror(status));
          return;
        }
        sockaddr_storage addr = withPort(addrs.front(), port);
        connectTo(*owner, reinterpret_cast<const sockaddr*>(&addr), {}, key, in_flight);
      });
}

}  // namespace apibouncer::peering
