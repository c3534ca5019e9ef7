// A statement's parameters as the extended protocol carries them and libpq takes them: value
// (nullopt = NULL), type OID (0 = let the server infer it) and format (0 text, 1 binary) each.
// Kept apart from write_link.h so the pooler sees it without libpq's headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace apibouncer::interceptor {

using Oid = unsigned int;  // as libpq's postgres_ext.h

struct QueryParams {
  std::vector<Oid> types;
  std::vector<std::optional<std::string>> values;
  std::vector<int> formats;
  void add(std::optional<std::string> value, Oid type = 0, int format = 0) {
    values.push_back(std::move(value));
    types.push_back(type);
    formats.push_back(format);
  }
};

}  // namespace apibouncer::interceptor
