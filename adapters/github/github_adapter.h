// The GitHub codec's internals shared by its files and its unit tests: the clock seam and the
// pieces of one GraphQL write (the aliases rN, what each mutation is called and selects).
// Only adapters/github/ and its tests include this; the interceptor uses adapter.h's factory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "adapters/adapter.h"

namespace apibouncer::adapters::github {

// Seconds since the Unix epoch. Only read when a rate-limited answer carries no Date header.
using Clock = std::function<double()>;

// makeGithubAdapter(base_url) with the system clock; tests pass their own.
std::unique_ptr<Adapter> makeAdapter(std::string base_url, Clock now);

// What each operation sends: the mutation, its input type, the input member holding the row's
// node id (none for createIssue) and the selection set read back.
struct MutationShape {
  const char* mutation;
  const char* input_type;
  const char* id_member;
  const char* selection;
};
const MutationShape& shapeOf(Operation operation);

// "r<index>": the alias of request row `index`; "row-<index>": its clientMutationId.
std::string aliasOf(size_t index);
std::string clientMutationIdOf(size_t index);

}  // namespace apibouncer::adapters::github
