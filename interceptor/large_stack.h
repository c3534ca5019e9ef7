// Runs a function on a short-lived thread with a large stack and waits for it. libpg_query has
// no stack-depth guard: its parser, its protobuf (un)packing and deparser, and our own tree
// walks recurse once per nesting level (deps-notes: `1+1+...` of 25k terms crashes
// parse_protobuf on an 8 MB stack; a 64 MB one takes 100k). Text over kMaxParsedSql is never
// parsed, so 128 MiB of (reserved, mostly untouched) stack covers every input, sanitizers
// included. Small statements cannot nest deeply and stay on the loop's thread.
#pragma once

#include <cstddef>
#include <functional>

namespace apibouncer::interceptor {

constexpr size_t kLargeStackBytes = size_t{128} << 20;
// Below this much SQL the nesting cannot threaten an 8 MB stack: no thread is started.
constexpr size_t kSmallStatementBytes = 4096;

// Runs `work` on a thread with kLargeStackBytes of stack, or in place if `sql_size` is small
// (or the thread cannot be created: then the caller's stack is the best there is).
void runOnLargeStack(size_t sql_size, const std::function<void()>& work);

}  // namespace apibouncer::interceptor
