// The fake API's records: an in-memory store per object type, with the generic HTTP adapter's
// batch semantics (all-or-none) and a deterministic validation rule. Not thread-safe; the server
// serialises access.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "tools/fakeapi/json.h"

namespace fakeapi {

class Store {
 public:
  // POST /{object} {"records":[{..}]} -> 201 {"records":[{"id":..,..}]}
  Reply create(std::string_view object, std::string_view body);
  // PATCH /{object} {"records":[{"id":..,..}]} -> 200 {"records":[merged]}
  Reply update(std::string_view object, std::string_view body);
  // DELETE /{object} {"ids":[..]} -> 200 {"deleted":[..]}
  Reply remove(std::string_view object, std::string_view body);

  // {"<object>":[records..],..}
  std::string dump() const;
  void clear();

 private:
  rapidjson::Value& recordsOf(std::string_view object);
  std::string nextId(std::string_view object);

  rapidjson::Document data_{rapidjson::kObjectType};
  std::map<std::string, std::uint64_t, std::less<>> last_id_;
};

}  // namespace fakeapi
