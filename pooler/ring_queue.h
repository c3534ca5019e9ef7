// A FIFO queue in one growing ring of slots, for the per-link and per-client queues that take
// a few entries per transaction (ReplyTracker, ReplyCounter). std::deque would serve too, but
// it allocates a fresh node each time its tail crosses into one and frees it when its head
// leaves it: on a queue that never holds more than a handful, that is a malloc and a free
// every few dozen transactions on the relay's hot path (callgrind: 1 in 8 transactions of
// `pgbench -M prepared`). The ring grows by doubling and keeps its slots, so a queue that once
// held N entries does not allocate again while it holds N or fewer; only a ring grown past
// kKeptSlots (a client pipelining thousands of requests) is freed when it empties, so one long
// pipeline does not pin its memory to the link for good.
// A pool's queue of clients waiting for a link uses it too: under `pgbench -c 100` on a pool of
// 20 every transaction waits, and std::deque cost one malloc and free per 64 of them.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace apibouncer {

template <typename T>
class RingQueue {
 public:
  RingQueue() = default;
  // Moving hands the slots over and leaves the source empty (the default move would keep the
  // source's count while taking its slots).
  RingQueue(RingQueue&& other) noexcept { swap(other); }
  RingQueue& operator=(RingQueue&& other) noexcept {
    RingQueue taken(std::move(other));
    swap(taken);
    return *this;
  }
  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;

  void swap(RingQueue& other) noexcept {
    slots_.swap(other.slots_);
    std::swap(head_, other.head_);
    std::swap(size_, other.size_);
  }

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

  // Removes every entry equal to `value`, keeping the others in order; returns how many went.
  // Linear, for the rare leaver (a waiting client that hangs up), not for the hot path.
  size_t erase(const T& value) {
    return eraseIf([&value](const T& entry) { return entry == value; }, size_);
  }

  // Removes the first `limit` entries `matches` picks, keeping the others in order; returns
  // how many went. Linear, for rare events.
  template <typename Predicate>
  size_t eraseIf(Predicate matches, size_t limit) {
    size_t kept = 0, removed = 0;
    for (size_t i = 0; i < size_; ++i) {
      T& entry = slots_[slot(i)];
      if (removed < limit && matches(entry)) {
        ++removed;
        continue;
      }
      if (kept != i) slots_[slot(kept)] = std::move(entry);
      ++kept;
    }
    for (size_t i = kept; i < size_; ++i) slots_[slot(i)] = T{};
    size_ = kept;
    return removed;
  }

  // Front to back, for range-for over a queue nobody changes meanwhile.
  class const_iterator {
   public:
    const_iterator(const RingQueue* queue, size_t offset) : queue_(queue), offset_(offset) {}
    const T& operator*() const { return queue_->slots_[queue_->slot(offset_)]; }
    const_iterator& operator++() {
      ++offset_;
      return *this;
    }
    bool operator==(const const_iterator& other) const = default;

   private:
    const RingQueue* queue_;
    size_t offset_;
  };
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const { return const_iterator(this, size_); }

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
