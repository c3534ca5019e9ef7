// WritePool: hands out idle links first, opens new ones up to the size, queues the rest.
#include "interceptor/write_pool.h"

#include <algorithm>

namespace apibouncer::interceptor {

WritePool::WritePool(uv_loop_t* loop, std::string conninfo, int size)
    : loop_(loop), conninfo_(std::move(conninfo)), size_(std::max(1, size)) {}

WritePool::~WritePool() = default;

void WritePool::acquire(Granted granted) {
  while (!idle_.empty()) {
    WriteLink* link = idle_.back();
    idle_.pop_back();
    if (link->usable()) {
      granted(link, {});
      return;
    }
    drop(link);
  }
  if (static_cast<int>(links_.size()) < size_) {
    open(std::move(granted));
    return;
  }
  waiting_.push_back(std::move(granted));
}

void WritePool::open(Granted granted) {
  links_.push_back(std::make_unique<WriteLink>(loop_, conninfo_));
  WriteLink* link = links_.back().get();
  link->connect([this, link, granted = std::move(granted)](bool ok, const std::string& error) {
    if (ok) {
      granted(link, {});
      return;
    }
    drop(link);
    granted(nullptr, error);
  });
}

void WritePool::release(WriteLink* link) {
  // A link still in a transaction (its ROLLBACK failed) would start the next write inside it.
  if (!link->idle()) {
    drop(link);
    link = nullptr;
  }
  if (waiting_.empty()) {
    if (link != nullptr) idle_.push_back(link);
    return;
  }
  Granted next = std::move(waiting_.front());
  waiting_.pop_front();
  if (link != nullptr)
    next(link, {});
  else
    open(std::move(next));
}

void WritePool::drop(WriteLink* link) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), link), idle_.end());
  auto it = std::find_if(links_.begin(), links_.end(),
                         [link](const auto& owned) { return owned.get() == link; });
  if (it == links_.end()) return;
  // Dropped from inside its own callback: deleted once the callback has returned.
  deleteSoon(loop_, it->release());
  links_.erase(it);
}

}  // namespace apibouncer::interceptor
