// WelcomeCache: a login reuses an encoded welcome only when its tracked values are those the
// welcome was encoded for.
#include <catch2/catch.hpp>

#include "pooler/tracked_params.h"
#include "pooler/welcome_cache.h"

using apibouncer::TrackedParameters;
using apibouncer::WelcomeCache;

namespace {

TrackedParameters clientWith(const std::shared_ptr<const apibouncer::ParameterNames>& names,
                             std::string_view application_name) {
  TrackedParameters client(names);
  if (!application_name.empty()) client.set("application_name", application_name);
  return client;
}

}  // namespace

TEST_CASE("A welcome is reused only for the same tracked values", "[welcome_cache]") {
  auto names = apibouncer::trackedParameterNames("");
  WelcomeCache cache;
  CHECK(cache.find(clientWith(names, "pgbench")) == nullptr);

  cache.store({clientWith(names, "pgbench"), "encoded-for-pgbench", {{0, "UTF8"}}});
  const WelcomeCache::Entry* hit = cache.find(clientWith(names, "pgbench"));
  REQUIRE(hit != nullptr);
  CHECK(hit->encoded == "encoded-for-pgbench");
  CHECK(hit->adopted.size() == 1);

  // Another value, no value, another case of the name's value.
  CHECK(cache.find(clientWith(names, "psql")) == nullptr);
  CHECK(cache.find(clientWith(names, "")) == nullptr);
  CHECK(cache.find(clientWith(names, "PGBENCH")) == nullptr);

  // A client that set one more tracked name is another client.
  TrackedParameters more = clientWith(names, "pgbench");
  more.set("TimeZone", "Asia/Tokyo");
  CHECK(cache.find(more) == nullptr);

  // Names from another configuration (RELOAD changed track_extra_parameters) never match.
  auto reloaded = apibouncer::trackedParameterNames("search_path");
  CHECK(cache.find(clientWith(reloaded, "pgbench")) == nullptr);
}

TEST_CASE("The welcome cache keeps the most recent few", "[welcome_cache]") {
  auto names = apibouncer::trackedParameterNames("");
  WelcomeCache cache;
  for (size_t i = 0; i < WelcomeCache::kEntries + 1; ++i) {
    std::string app = "app" + std::to_string(i);
    cache.store({clientWith(names, app), "encoded-" + app, {}});
  }
  CHECK(cache.size() == WelcomeCache::kEntries);
  // The first one made room for the last.
  CHECK(cache.find(clientWith(names, "app0")) == nullptr);
  for (size_t i = 1; i < WelcomeCache::kEntries + 1; ++i) {
    std::string app = "app" + std::to_string(i);
    const WelcomeCache::Entry* hit = cache.find(clientWith(names, app));
    REQUIRE(hit != nullptr);
    CHECK(hit->encoded == "encoded-" + app);
  }
}
