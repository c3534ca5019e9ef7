// A FIFO queue in one growing ring of slots, for the per-link and per-client queues that take
// a few entries per transaction (ReplyTracker, ReplyCounter). std::deque would serve too, but
// it allocates a fresh node each time its tail crosses into one and frees it when its head
// leaves it: on a queue that never holds more than a handful, that is a malloc and a free
// every few dozen transactions on the relay's hot path (callgrind: 1 in 8 transactions of
// `pgbench -M prepared`). The ring grows by doubling and keeps its slots, so a queue that once
// held N entries does not allocate again while it holds N or fewer; only a ring grown past
// kKeptSlots (a client pipelining thousands of requests) is freed when it empties, so one long
// pipeline does not pin its memory to the link for good.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace apibouncer {

template <typename T>
class RingQueue {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

  T& front() {
    assert(size_ > 0);
    return slots_[head_];
  }
  const T& front() const {
    assert(size_ > 0);
    return slots_[head_];
  }
  T& back() {
    assert(size_ > 0);
    return slots_[slot(size_ - 1)];
  }
  const T& back() const {
    assert(size_ > 0);
    return slots_[slot(size_ - 1)];
  }

  void push_back(T value) {
    if (size_ == slots_.size()) grow();
    slots_[slot(size_)] = std::move(value);
    ++size_;
  }
  template <typename... Args>
  T& emplace_back(Args&&... args) {
    push_back(T{std::forward<Args>(args)...});
    return back();
  }

  // The slot is reset to T{} so that what the entry owns is released now, not when the slot
  // is next reused.
  void pop_front() {
    assert(size_ > 0);
    slots_[head_] = T{};
    head_ = slot(1);
    if (--size_ == 0 && slots_.size() > kKeptSlots) {
      slots_ = std::vector<T>();
      head_ = 0;
    }
  }

  void clear() {
    while (size_ > 0) pop_front();
  }

  size_t capacity() const { return slots_.size(); }
  static constexpr size_t kKeptSlots = 1024;

 private:
  // The slot of the entry `offset` places behind the head. Capacity stays a power of two, so
  // this is a mask instead of a division.
  size_t slot(size_t offset) const { return (head_ + offset) & (slots_.size() - 1); }

  void grow() {
    std::vector<T> bigger(slots_.empty() ? kInitialSlots : slots_.size() * 2);
    for (size_t i = 0; i < size_; ++i) bigger[i] = std::move(slots_[slot(i)]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  static constexpr size_t kInitialSlots = 8;
  std::vector<T> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace apibouncer
