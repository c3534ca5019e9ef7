// WelcomeCache: encoded welcomes per set of client values (see welcome_cache.h).
#include "pooler/welcome_cache.h"

namespace apibouncer {

const WelcomeCache::Entry* WelcomeCache::find(const TrackedParameters& client) const {
  for (const Entry& entry : entries_)
    if (entry.client.sameValues(client)) return &entry;
  return nullptr;
}

void WelcomeCache::store(Entry entry) {
  if (entries_.size() < kEntries) {
    entries_.push_back(std::move(entry));
    return;
  }
  entries_[next_] = std::move(entry);
  next_ = (next_ + 1) % kEntries;
}

}  // namespace apibouncer
