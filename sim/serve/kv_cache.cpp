#include "sim/serve/engine.h"

#include "common/error.h"

namespace fathom::serve::detail {

bool Engine::evict_one(Replica& rep) {
  if (rep.lru.empty()) return false;
  const int32_t e = rep.lru.begin()->second;
  rep.lru.erase(rep.lru.begin());
  drop_entry(rep, e);
  return true;
}

void Engine::drop_entry(Replica& rep, int32_t e) {
  Entry& E = rep.entries[static_cast<size_t>(e)];
  rep.free_blocks += E.blocks;
  rep.index.erase(E.key);
  E = Entry{};
  rep.free_entries.push_back(e);
}

void Engine::release(Replica& rep, Seq& s) {
  rep.free_blocks += s.own_blocks;
  s.own_blocks = 0;
  if (s.entry >= 0) {
    Entry& E = rep.entries[static_cast<size_t>(s.entry)];
    if (--E.refs == 0) {
      if (cfg_.kv.prefix_caching && !E.anonymous) {
        E.tick = ++rep.tick;
        rep.lru.emplace(E.tick, s.entry);
      } else {
        drop_entry(rep, s.entry);
      }
    }
    s.entry = -1;
  }
  s.shared = 0;
}

void Engine::lookup(Replica& rep, Seq& s) {
  if (!cfg_.kv.prefix_caching || s.done > 0 || s.entry >= 0) return;
  const Request& r = request_of(s);
  if (r.prefix_key < 0) return;
  auto it = rep.index.find(r.prefix_key);
  if (it == rep.index.end()) return;
  Entry& E = rep.entries[static_cast<size_t>(it->second)];
  // At least one prompt token is always computed (it produces the first output token).
  int64_t hit = std::min<int64_t>({E.tokens, r.prefix_tokens, static_cast<int64_t>(s.input) - 1});
  hit = hit / block_size_ * block_size_;
  if (hit <= 0) return;
  if (E.refs++ == 0) rep.lru.erase({E.tick, it->second});
  s.entry = it->second;
  s.shared = static_cast<int32_t>(hit);
  s.done = static_cast<int32_t>(hit);
}

void Engine::publish(Replica& rep, Seq& s, int64_t tokens) {
  const Request& r = request_of(s);
  if (!cfg_.kv.prefix_caching || r.prefix_key < 0) return;
  if (s.n > 1) tokens = std::min<int64_t>(tokens, s.input);
  const int64_t aligned = tokens / block_size_ * block_size_;
  if (aligned <= s.shared) return;
  auto it = rep.index.find(r.prefix_key);
  if (it != rep.index.end() && it->second != s.entry) {
    Entry& E = rep.entries[static_cast<size_t>(it->second)];
    if (E.tokens >= aligned || E.refs > 0) return;  // a longer or busy copy stays
    rep.lru.erase({E.tick, it->second});
    drop_entry(rep, it->second);
    it = rep.index.end();
  }
  if (it == rep.index.end()) {
    int32_t e;
    if (!rep.free_entries.empty()) {
      e = rep.free_entries.back();
      rep.free_entries.pop_back();
    } else {
      e = static_cast<int32_t>(rep.entries.size());
      rep.entries.emplace_back();
    }
    Entry& E = rep.entries[static_cast<size_t>(e)];
    E = Entry{};
    E.key = r.prefix_key;
    E.tokens = static_cast<int32_t>(aligned);
    E.blocks = aligned / block_size_;
    E.refs = 1;
    rep.index.emplace(E.key, e);
    s.own_blocks -= static_cast<int32_t>(E.blocks);
    s.entry = e;
    s.shared = static_cast<int32_t>(aligned);
    FATHOM_CHECK(s.own_blocks >= 0);
    return;
  }
  Entry& E = rep.entries[static_cast<size_t>(s.entry)];
  if (aligned <= E.tokens) return;
  // Extend the entry with this sequence's blocks; its older copy past our share is replaced.
  const int64_t moved = (aligned - s.shared) / block_size_;
  rep.free_blocks += E.blocks - s.shared / block_size_;
  s.own_blocks -= static_cast<int32_t>(moved);
  E.tokens = static_cast<int32_t>(aligned);
  E.blocks = aligned / block_size_;
  s.shared = static_cast<int32_t>(aligned);
  FATHOM_CHECK(s.own_blocks >= 0);
}

}  // namespace fathom::serve::detail
