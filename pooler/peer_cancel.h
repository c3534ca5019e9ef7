// Peering (peer_id, [peers]): several apibouncer processes share one port (so_reuseport), so
// a client's CancelRequest may reach a process that does not know the client. Each cancel key
// says which process handed it out: its top 14 bits are that process's peer_id and the next
// two a hop budget. A process that does not know a key forwards the request to the peer named
// in it, one hop less; a misconfigured ring cannot bounce a request for ever.
#pragma once

#include <cstdint>
#include <memory>

#include "pooler/config/config.h"

namespace apibouncer {

class Pooler;

namespace peering {

// `random` stamped with `peer_id` and a full hop budget; peer_id 0 (peering off) leaves it as
// random as it came.
uint64_t stampKey(uint64_t random, int peer_id);
int peerOf(uint64_t key);
int hopsLeft(uint64_t key);
// The key as its process handed it out (full budget): what that process looks up.
uint64_t asHandedOut(uint64_t key);
uint64_t withOneHopLess(uint64_t key);

// Sends a CancelRequest for `key` to `peer` on a fresh connection; `in_flight` counts the
// forwards not yet closed (SHOW PEER_POOLS).
void forward(Pooler& pooler, const config::PeerConfig& peer, uint64_t key,
             std::shared_ptr<int> in_flight);

}  // namespace peering
}  // namespace apibouncer
