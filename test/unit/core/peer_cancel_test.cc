// Cancel keys that name the process that handed them out (peering).
#include "pooler/peer_cancel.h"

#include <catch2/catch.hpp>

using namespace apibouncer::peering;

TEST_CASE("a stamped key carries the peer_id and a full hop budget", "[peering]") {
  uint64_t random = 0x0123456789abcdefULL;
  uint64_t key = stampKey(random, 5);
  CHECK(peerOf(key) == 5);
  CHECK(hopsLeft(key) == 3);
  CHECK((key & 0xffffffffffffULL) == (random & 0xffffffffffffULL));  // the low 48 bits stay
  CHECK(peerOf(stampKey(~uint64_t{0}, apibouncer::config::kMaxPeerId)) ==
        apibouncer::config::kMaxPeerId);
  CHECK(stampKey(random, 0) == random);  // peering off: untouched
}

TEST_CASE("each forward spends one hop; the handed-out key is found again", "[peering]") {
  uint64_t key = stampKey(0xfeedfacecafebeefULL, 42);
  uint64_t once = withOneHopLess(key);
  uint64_t twice = withOneHopLess(once);
  uint64_t thrice = withOneHopLess(twice);
  CHECK(hopsLeft(once) == 2);
  CHECK(hopsLeft(twice) == 1);
  CHECK(hopsLeft(thrice) == 0);
  CHECK(hopsLeft(withOneHopLess(thrice)) == 0);
  CHECK(peerOf(thrice) == 42);
  CHECK(asHandedOut(thrice) == key);
  CHECK(asHandedOut(key) == key);
}
