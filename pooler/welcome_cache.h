// The ParameterStatus messages a pool greets its logins with. Clients of one application send
// the same startup parameters, so login after login those bytes are the same: they are encoded
// once per set of client values and copied after that (encoding them was the largest part of a
// login's own work). Pure; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "pooler/tracked_params.h"

namespace apibouncer {

class WelcomeCache {
 public:
  struct Entry {
    TrackedParameters client;  // the client's tracked values before the welcome
    std::string encoded;       // the ParameterStatus messages
    // Tracked names the client did not set, with the server's value the welcome gave it.
    std::vector<std::pair<size_t, std::string>> adopted;
  };

  // The entry for a client whose tracked values are `client`, or nullptr.
  const Entry* find(const TrackedParameters& client) const;
  // Keeps `entry`, replacing the oldest once kEntries are kept (a few applications at once
  // share a pool; more than that only costs the encoding, as without the cache).
  void store(Entry entry);
  size_t size() const { return entries_.size(); }

  static constexpr size_t kEntries = 4;

 private:
  std::vector<Entry> entries_;
  size_t next_ = 0;  // the slot store() replaces once all are taken
};

}  // namespace apibouncer
