#include "controlplane/bgp/policy.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace strobe::bgp {
namespace {

LargeCommunity ToWire(const config::LargeCommunity& c) {
  return LargeCommunity{.global_admin = c.global, .local_data1 = c.local1, .local_data2 = c.local2};
}

std::vector<LargeCommunity> ToWire(const std::vector<config::LargeCommunity>& list) {
  std::vector<LargeCommunity> out;
  out.reserve(list.size());
  for (const config::LargeCommunity& c : list) {
    const LargeCommunity w = ToWire(c);
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  return out;
}

// In the given order, without repeats.
std::vector<uint32_t> Unique(const std::vector<uint32_t>& list) {
  std::vector<uint32_t> out;
  out.reserve(list.size());
  for (uint32_t c : list) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

std::vector<uint32_t> Sorted(std::vector<uint32_t> list) {
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  return list;
}

template <typename T>
bool Contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool PrefixMatches(const config::PrefixMatch& m, const RibPrefix& prefix) {
  // Compile() guarantees m.prefix.length <= ge, so a length in [ge, le] is at least the entry's.
  return prefix.address.family() == m.prefix.address.family() && prefix.length >= m.ge &&
         prefix.length <= m.le && m.prefix.Contains(prefix.address);
}

absl::Status CheckPrefixMatch(const config::PrefixMatch& m) {
  const net::IpAddress& a = m.prefix.address;
  if (a.empty()) return absl::InvalidArgumentError("a prefix without an address");
  const int width = a.is_v4() ? 32 : 128;
  // Contains() compares the masked address with the prefix's own: they differ by the host bits.
  if (m.prefix.length > width || !m.prefix.Contains(a)) {
    return absl::InvalidArgumentError(
        absl::StrCat(m.prefix.ToString(), ": host bits set or length beyond ", width));
  }
  if (!(m.prefix.length <= m.ge && m.ge <= m.le && m.le <= width)) {
    return absl::InvalidArgumentError(
        absl::StrCat(m.prefix.ToString(), " ge ", static_cast<int>(m.ge), " le ",
                     static_cast<int>(m.le), ": needs length <= ge <= le <= ", width));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- PolicyVerdict ----

std::string PolicyVerdict::ToString() const {
  const char* what = accepted ? "accepted" : "rejected";
  if (policy == nullptr) return absl::StrCat(what, " (no policy)");
  if (term < 0) return absl::StrCat(what, " by ", policy->name(), " default action");
  const std::string_view name = policy->term_name(term);
  return absl::StrCat(what, " by ", policy->name(), " term ", term,
                      name.empty() ? "" : absl::StrCat(" (", std::string(name), ")"));
}

// ---- Policy ----

absl::StatusOr<Policy> Policy::Compile(const config::PolicyConfig& config) {
  if (config.name.empty()) return absl::InvalidArgumentError("a policy needs a name");
  if (config.default_action == config::PolicyAction::kNext) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy \"", config.name, "\": default_action must be accept or reject"));
  }
  Policy policy;
  policy.name_ = config.name;
  policy.default_accept_ = config.default_action == config::PolicyAction::kAccept;
  for (size_t i = 0; i < config.terms.size(); ++i) {
    const config::PolicyTerm& c = config.terms[i];
    for (const config::PrefixMatch& m : c.prefixes) {
      if (absl::Status s = CheckPrefixMatch(m); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("policy \"", config.name, "\" term ", i, ": ", std::string(s.message())));
      }
    }
    if (c.as_path_length_min && c.as_path_length_max &&
        *c.as_path_length_min > *c.as_path_length_max) {
      return absl::InvalidArgumentError(absl::StrCat("policy \"", config.name, "\" term ", i,
                                                     ": as_path_length_min > as_path_length_max"));
    }
    Term t;
    t.name = c.name;
    t.prefixes = c.prefixes;
    t.as_path_length_min = c.as_path_length_min;
    t.as_path_length_max = c.as_path_length_max;
    t.match_communities = Sorted(c.match_communities);
    t.match_large_communities = ToWire(c.match_large_communities);
    t.set_local_pref = c.set_local_pref;
    t.set_med = c.set_med;
    t.add_communities = Unique(c.add_communities);
    t.delete_communities = Sorted(c.delete_communities);
    t.add_large_communities = ToWire(c.add_large_communities);
    t.delete_large_communities = ToWire(c.delete_large_communities);
    t.action = c.action;
    policy.terms_.push_back(std::move(t));
  }
  return policy;
}

std::string_view Policy::term_name(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= terms_.size()) return {};
  return terms_[static_cast<size_t>(index)].name;
}

bool Policy::Term::Matches(const RibPrefix& prefix, const RouteAttributes& attributes) const {
  if (!prefixes.empty() &&
      std::none_of(prefixes.begin(), prefixes.end(),
                   [&](const config::PrefixMatch& m) { return PrefixMatches(m, prefix); })) {
    return false;
  }
  if (as_path_length_min || as_path_length_max) {
    const size_t length = AsPathLength(attributes.as_path);
    if (as_path_length_min && length < *as_path_length_min) return false;
    if (as_path_length_max && length > *as_path_length_max) return false;
  }
  if (!match_communities.empty() &&
      std::none_of(attributes.communities.begin(), attributes.communities.end(), [&](uint32_t c) {
        return std::binary_search(match_communities.begin(), match_communities.end(), c);
      })) {
    return false;
  }
  if (!match_large_communities.empty() &&
      std::none_of(attributes.large_communities.begin(), attributes.large_communities.end(),
                   [&](const LargeCommunity& c) { return Contains(match_large_communities, c); })) {
    return false;
  }
  return true;
}

void Policy::Term::ApplySets(RouteAttributes* attributes) const {
  if (set_local_pref) attributes->local_pref = *set_local_pref;
  if (set_med) attributes->med = *set_med;
  // Deletions first, then additions: a community both deleted and added ends up present once.
  if (!delete_communities.empty()) {
    std::erase_if(attributes->communities, [&](uint32_t c) {
      return std::binary_search(delete_communities.begin(), delete_communities.end(), c);
    });
  }
  for (uint32_t c : add_communities) {
    if (!Contains(attributes->communities, c)) attributes->communities.push_back(c);
  }
  if (!delete_large_communities.empty()) {
    std::erase_if(attributes->large_communities,
                  [&](const LargeCommunity& c) { return Contains(delete_large_communities, c); });
  }
  for (const LargeCommunity& c : add_large_communities) {
    if (!Contains(attributes->large_communities, c)) attributes->large_communities.push_back(c);
  }
}

PolicyVerdict Policy::Evaluate(const RibPrefix& prefix, RouteAttributes* attributes) const {
  for (size_t i = 0; i < terms_.size(); ++i) {
    const Term& term = terms_[i];
    if (!term.Matches(prefix, *attributes)) continue;
    term.ApplySets(attributes);
    if (term.action == config::PolicyAction::kNext) continue;
    return PolicyVerdict{.accepted = term.action == config::PolicyAction::kAccept,
                         .policy = this,
                         .term = static_cast<int>(i)};
  }
  return PolicyVerdict{.accepted = default_accept_, .policy = this, .term = -1};
}

// ---- PolicyChain ----

bool Policy::RejectsAll() const {
  if (default_accept_) return false;
  for (const Term& t : terms_) {
    if (t.action == config::PolicyAction::kAccept) return false;  // kNext decides nothing
  }
  return true;
}

bool PolicyChain::RejectsAll() const {
  for (const std::shared_ptr<const Policy>& policy : policies_) {
    if (policy->RejectsAll()) return true;
  }
  return false;
}

PolicyVerdict PolicyChain::Evaluate(const RibPrefix& prefix, RouteAttributes* attributes) const {
  PolicyVerdict verdict;
  for (const std::shared_ptr<const Policy>& policy : policies_) {
    verdict = policy->Evaluate(prefix, attributes);
    if (!verdict.accepted) break;
  }
  return verdict;
}

// ---- PolicyLibrary ----

absl::StatusOr<PolicyLibrary> PolicyLibrary::Compile(
    std::span<const config::PolicyConfig> configs) {
  PolicyLibrary library;
  for (const config::PolicyConfig& c : configs) {
    absl::StatusOr<Policy> policy = Policy::Compile(c);
    if (!policy.ok()) return policy.status();
    auto shared = std::make_shared<const Policy>(*std::move(policy));
    if (!library.policies_.emplace(c.name, std::move(shared)).second) {
      return absl::InvalidArgumentError(absl::StrCat("policy \"", c.name, "\" is defined twice"));
    }
  }
  return library;
}

std::shared_ptr<const Policy> PolicyLibrary::Find(std::string_view name) const {
  auto it = policies_.find(std::string(name));
  return it == policies_.end() ? nullptr : it->second;
}

absl::StatusOr<PolicyChain> PolicyLibrary::Chain(std::span<const std::string> names) const {
  std::vector<std::shared_ptr<const Policy>> policies;
  policies.reserve(names.size());
  for (const std::string& name : names) {
    std::shared_ptr<const Policy> policy = Find(name);
    if (policy == nullptr) {
      return absl::NotFoundError(absl::StrCat("no policy named \"", name, "\""));
    }
    policies.push_back(std::move(policy));
  }
  return PolicyChain(std::move(policies));
}

}  // namespace strobe::bgp
