// PrefixTable: the arena + packed-index hash table under the RIB. Both index forms (IPv4 keys
// packed beside the slot, wider keys hashed through the arena) against std::map as a reference
// under random inserts and erases; slot reuse; erase while visiting; key order.
#include "controlplane/bgp/prefix_table.h"

#include <compare>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace strobe::bgp {
namespace {

struct WideKey {  // as the RIB's IPv6 key: not packable
  uint64_t hi = 0;
  uint64_t lo = 0;
  uint8_t length = 0;
  friend auto operator<=>(const WideKey&, const WideKey&) = default;
  friend bool operator==(const WideKey&, const WideKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const WideKey& k) {
    return H::combine(std::move(h), k.hi, k.lo, k.length);
  }
};

static_assert(PrefixTable<uint64_t, int>::kPacked);
static_assert(!PrefixTable<WideKey, int>::kPacked);

template <typename Key, typename MakeKey>
void AgreesWithMap(MakeKey make_key) {
  PrefixTable<Key, uint64_t> table;
  std::map<Key, uint64_t> reference;
  std::mt19937_64 random(7);
  for (int op = 0; op < 200000; ++op) {
    const Key key = make_key(random() % 20000);
    if (random() % 3 == 0) {
      auto* e = table.Find(key);
      ASSERT_EQ(e != nullptr, reference.contains(key));
      if (e != nullptr) {
        EXPECT_EQ(e->value, reference[key]);
        table.Erase(*e);
        reference.erase(key);
      }
    } else {
      auto* e = table.FindOrInsert(key);
      ASSERT_NE(e, nullptr);
      EXPECT_EQ(e->key, key);
      e->value = op;
      reference[key] = op;
    }
  }
  ASSERT_EQ(table.size(), reference.size());
  const auto sorted = std::as_const(table).Sorted();
  ASSERT_EQ(sorted.size(), reference.size());
  size_t i = 0;
  for (const auto& [key, value] : reference) {
    EXPECT_EQ(sorted[i]->key, key);
    EXPECT_EQ(sorted[i]->value, value);
    ++i;
  }
}

TEST(PrefixTableTest, PackedKeysAgreeWithAMap) {
  // An IPv4 prefix as the RIB packs it: address << 6 | length, 38 bits.
  AgreesWithMap<uint64_t>([](uint64_t n) {
    return (uint64_t{0xc6120000u + static_cast<uint32_t>(n * 2654435761u % 65536)} << 6) |
           (24 + n % 9);
  });
}

TEST(PrefixTableTest, WideKeysAgreeWithAMap) {
  AgreesWithMap<WideKey>([](uint64_t n) {
    return WideKey{0x20010db800000000ull | n, n * 0x9e3779b97f4a7c15ull,
                   static_cast<uint8_t>(48 + n % 81)};
  });
}

TEST(PrefixTableTest, ErasedSlotsAreReusedAndValuesReset) {
  PrefixTable<uint64_t, std::vector<int>> table;
  auto* a = table.FindOrInsert(1);
  a->value = {1, 2, 3};
  const uint32_t slot = a->slot;
  table.Erase(*a);
  EXPECT_EQ(table.Find(1), nullptr);
  auto* b = table.FindOrInsert(2);
  EXPECT_EQ(b->slot, slot);
  EXPECT_TRUE(b->value.empty());
  EXPECT_EQ(table.FindOrInsert(2), b);  // found, not created again
  EXPECT_EQ(table.size(), 1u);
}

TEST(PrefixTableTest, EraseWhileVisitingAndAddressesStayPut) {
  PrefixTable<uint64_t, int> table;
  std::vector<PrefixTable<uint64_t, int>::Entry*> entries;
  for (uint64_t k = 0; k < 10000; ++k) {
    auto* e = table.FindOrInsert(k << 6 | 32);
    e->value = static_cast<int>(k);
    entries.push_back(e);
  }
  for (uint64_t k = 0; k < 10000; ++k) EXPECT_EQ(table.Find(k << 6 | 32), entries[k]);
  table.ForEach([&](PrefixTable<uint64_t, int>::Entry& e) {
    if (e.value % 2 == 1) table.Erase(e);
  });
  EXPECT_EQ(table.size(), 5000u);
  int visited = 0;
  table.ForEach([&](const PrefixTable<uint64_t, int>::Entry& e) {
    EXPECT_EQ(e.value % 2, 0);
    ++visited;
  });
  EXPECT_EQ(visited, 5000);
}

}  // namespace
}  // namespace strobe::bgp
