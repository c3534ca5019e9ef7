// RingQueue: first in, first out across wrap-around and growth, and an entry's resources are
// released when it leaves the queue.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "pooler/ring_queue.h"

using apibouncer::RingQueue;

TEST_CASE("A ring queue hands entries back in the order they came", "[ring_queue]") {
  RingQueue<int> queue;
  CHECK(queue.empty());
  int next_in = 0;
  int next_out = 0;
  // Keep between 3 and 5 entries while pushing 1,000, so the head wraps round the ring many
  // times; then let it grow past its first capacity with the head mid-ring.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 5 && queue.size() < 5; ++i) queue.push_back(next_in++);
    while (queue.size() > 3) {
      REQUIRE(queue.front() == next_out);
      queue.pop_front();
      ++next_out;
    }
  }
  for (int i = 0; i < 40; ++i) queue.push_back(next_in++);
  CHECK(queue.size() == static_cast<size_t>(next_in - next_out));
  CHECK(queue.back() == next_in - 1);
  while (!queue.empty()) {
    REQUIRE(queue.front() == next_out);
    queue.pop_front();
    ++next_out;
  }
  CHECK(next_out == next_in);
}

TEST_CASE("A ring queue's back can be changed in place", "[ring_queue]") {
  RingQueue<std::string> queue;
  queue.emplace_back("first");
  queue.emplace_back("sec");
  queue.back() += "ond";
  CHECK(queue.front() == "first");
  queue.pop_front();
  CHECK(queue.front() == "second");
  CHECK(queue.size() == 1);
}

TEST_CASE("A ring queue releases what an entry owns when it is popped or cleared", "[ring_queue]") {
  auto resource = std::make_shared<int>(7);
  RingQueue<std::shared_ptr<int>> queue;
  queue.push_back(resource);
  queue.push_back(resource);
  queue.push_back(resource);
  CHECK(resource.use_count() == 4);
  queue.pop_front();
  CHECK(resource.use_count() == 3);
  queue.clear();
  CHECK(queue.empty());
  CHECK(resource.use_count() == 1);
  // Usable again after clear.
  queue.push_back(resource);
  CHECK(*queue.front() == 7);
}

TEST_CASE("A ring queue keeps its slots, unless a long pipeline grew it", "[ring_queue]") {
  RingQueue<int> queue;
  CHECK(queue.capacity() == 0);  // an idle link or client holds no slots
  for (int i = 0; i < 5; ++i) queue.push_back(i);
  size_t small = queue.capacity();
  while (!queue.empty()) queue.pop_front();
  CHECK(queue.capacity() == small);  // reused by the next transaction, no allocation

  for (size_t i = 0; i < RingQueue<int>::kKeptSlots + 1; ++i) queue.push_back(1);
  CHECK(queue.capacity() > RingQueue<int>::kKeptSlots);
  queue.pop_front();
  CHECK(queue.capacity() > RingQueue<int>::kKeptSlots);  // not while entries remain
  while (!queue.empty()) queue.pop_front();
  CHECK(queue.capacity() == 0);
  queue.push_back(9);
  CHECK(queue.front() == 9);
}
