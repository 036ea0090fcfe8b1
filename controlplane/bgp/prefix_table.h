// A hash table of prefixes sized for a full table: values live in a chunked arena (stable
// addresses, nothing stored is ever reallocated), and the index is a flat hash set of 8-byte
// words. A key of at most 38 bits (an IPv4 prefix packed as address << 6 | length) is kept in the
// word beside its 26-bit arena slot, so probing and growing the index never read the arena; other
// keys (IPv6) keep only the slot and hash and compare through the arena.
//
// For a million IPv4 prefixes the index costs about 18 bytes per prefix (27 while it doubles),
// against 34-56 for a map of keys and values, and a lookup touches the index's control bytes, one
// word and the value.
//
// Unordered: Sorted() returns the entries in key order when a caller needs it.
// Not thread-safe; not movable (the index's functors point at the arena).
#ifndef STROBE_CONTROLPLANE_BGP_PREFIX_TABLE_H_
#define STROBE_CONTROLPLANE_BGP_PREFIX_TABLE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace strobe::bgp {

template <typename Key, typename Value>
class PrefixTable {
 public:
  using key_type = Key;
  // Keys packed into the index: uint64_t keys below 2^38.
  static constexpr bool kPacked = std::is_same_v<Key, uint64_t>;
  static constexpr int kSlotBits = 26;
  static constexpr uint32_t kMaxEntries = uint32_t{1} << kSlotBits;

  struct Entry {
    Key key{};
    Value value{};
    uint32_t slot = 0;  // its place in the arena
    bool live = false;
  };

  PrefixTable() : index_(0, Hash{this}, Eq{this}) {}
  PrefixTable(const PrefixTable&) = delete;
  PrefixTable& operator=(const PrefixTable&) = delete;

  Entry* Find(const Key& key) {
    auto it = index_.find(Probe{key});
    return it == index_.end() ? nullptr : &At(SlotOf(*it));
  }
  const Entry* Find(const Key& key) const {
    auto it = index_.find(Probe{key});
    return it == index_.end() ? nullptr : &At(SlotOf(*it));
  }

  // Starts loading the index memory a lookup of `key` will read (its control bytes and first
  // slots). A caller walking many keys in an order the hash scatters prefetches a few keys ahead,
  // so that each lookup finds its cache lines loaded instead of missing twice.
  void Prefetch(const Key& key) const { index_.prefetch(Probe{key}); }

  // The entry for `key`, created with a default value when absent; null when the table holds
  // kMaxEntries already.
  Entry* FindOrInsert(const Key& key) {
    Entry* created = nullptr;
    bool full = false;
    auto it = index_.lazy_emplace(Probe{key}, [&](const auto& construct) {
      uint32_t slot;
      if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
      } else {
        if (next_ >= kMaxEntries) {
          full = true;
          slot = kMaxEntries - 1;  // replaced by the erase below
        } else {
          if (next_ % kChunk == 0) chunks_.push_back(std::make_unique<Entry[]>(kChunk));
          slot = next_++;
        }
      }
      if (!full) {
        created = &At(slot);
        created->key = key;
        created->slot = slot;
        created->live = true;
      }
      construct(WordOf(key, slot));
    });
    if (full) {
      index_.erase(it);
      return nullptr;
    }
    return created != nullptr ? created : &At(SlotOf(*it));
  }

  // Removes `entry` (from Find/FindOrInsert/ForEach/Sorted); its value is reset.
  void Erase(Entry& entry) {
    index_.erase(Probe{entry.key});
    entry.value = Value{};
    entry.live = false;
    free_.push_back(entry.slot);
  }

  size_t size() const { return index_.size(); }

  // Visits every entry in arena order; `visit` may Erase() the entry it is given.
  template <typename Visit>
  void ForEach(Visit visit) {
    for (uint32_t slot = 0; slot < next_; ++slot) {
      if (Entry& e = At(slot); e.live) visit(e);
    }
  }
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (uint32_t slot = 0; slot < next_; ++slot) {
      if (const Entry& e = At(slot); e.live) visit(e);
    }
  }

  // Every entry, in key order.
  std::vector<const Entry*> Sorted() const { return SortedOf<const Entry>(*this); }
  std::vector<Entry*> Sorted() { return SortedOf<Entry>(*this); }

 private:
  static constexpr uint32_t kChunk = 4096;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;

  // A lookup by key (distinct from an index word even when both are integers).
  struct Probe {
    const Key& key;
  };

  static uint64_t WordOf(const Key& key, uint32_t slot) {
    if constexpr (kPacked) {
      return key << kSlotBits | slot;
    } else {
      return slot;
    }
  }
  static uint32_t SlotOf(uint64_t word) { return static_cast<uint32_t>(word & kSlotMask); }
  const Key& KeyOf(uint64_t word, Key& scratch) const {
    if constexpr (kPacked) {
      scratch = word >> kSlotBits;
      return scratch;
    } else {
      return At(SlotOf(word)).key;
    }
  }

  struct Hash {
    using is_transparent = void;
    const PrefixTable* table;
    size_t operator()(uint64_t word) const {
      Key scratch{};
      return absl::Hash<Key>{}(table->KeyOf(word, scratch));
    }
    size_t operator()(const Probe& probe) const { return absl::Hash<Key>{}(probe.key); }
  };
  struct Eq {
    using is_transparent = void;
    const PrefixTable* table;
    bool operator()(uint64_t a, uint64_t b) const { return a == b; }
    bool operator()(uint64_t word, const Probe& probe) const {
      Key scratch{};
      return table->KeyOf(word, scratch) == probe.key;
    }
    bool operator()(const Probe& probe, uint64_t word) const { return (*this)(word, probe); }
  };

  template <typename E, typename Table>
  static std::vector<E*> SortedOf(Table& table) {
    std::vector<E*> out;
    out.reserve(table.size());
    if constexpr (kPacked) {
      // The index words sort as their keys (the key is in the high bits): no arena reads.
      std::vector<uint64_t> words(table.index_.begin(), table.index_.end());
      std::sort(words.begin(), words.end());
      for (uint64_t w : words) out.push_back(&table.At(SlotOf(w)));
    } else {
      table.ForEach([&](E& e) { out.push_back(&e); });
      std::sort(out.begin(), out.end(), [](const E* a, const E* b) { return a->key < b->key; });
    }
    return out;
  }

  Entry& At(uint32_t slot) { return chunks_[slot / kChunk][slot % kChunk]; }
  const Entry& At(uint32_t slot) const { return chunks_[slot / kChunk][slot % kChunk]; }

  std::vector<std::unique_ptr<Entry[]>> chunks_;
  std::vector<uint32_t> free_;
  uint32_t next_ = 0;
  absl::flat_hash_set<uint64_t, Hash, Eq> index_;
};

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_PREFIX_TABLE_H_
