// Route policy: the [[policy]] tables of the configuration file (docs/config.md) compiled for
// evaluation, and the chains of them that a neighbor's `import` and `export` lists name.
//
// Semantics, as BIRD filters and FRR route-maps:
// - A policy tries its terms in order. A term matches when every condition it has holds (an
//   absent condition always holds; a list condition holds when any entry matches). A matching
//   term applies its sets, then its action: accept or reject decide; next goes on to the following
//   term, which sees the modified attributes. When no term decides, default_action does.
// - A chain tries its policies in order: a reject stops the chain, an accept goes on to the next
//   policy, so a route is accepted only when every policy accepts it. An empty chain accepts.
//
// Pure logic: evaluation reads nothing but its arguments, and compiled policies are immutable, so
// one Policy may serve every neighbor (and thread) that uses it.
#ifndef STROBE_CONTROLPLANE_BGP_POLICY_H_
#define STROBE_CONTROLPLANE_BGP_POLICY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "controlplane/bgp/decision.h"
#include "controlplane/bgp/rib.h"
#include "controlplane/bgp/update.h"
#include "src/config/bgp_config.h"

namespace strobe::bgp {

class Policy;

// What decided a route, for logs and `show` output. Refers to the policy: valid while it lives.
struct PolicyVerdict {
  bool accepted = true;
  // The policy that decided: the one that rejected, or the last one that accepted. Null when an
  // empty chain accepted.
  const Policy* policy = nullptr;
  // The index of the deciding term in that policy's terms; -1 when its default_action decided.
  int term = -1;

  // "accepted by allow-vips term 0 (vips)", "rejected by allow-vips default action",
  // "accepted (no policy)".
  std::string ToString() const;
};

class Policy {
 public:
  // Validates `config` (the parser has done so for a file; this is for other callers): a name,
  // prefixes with zero host bits and length <= ge <= le <= width, as_path_length_min <=
  // as_path_length_max, and default_action accept or reject.
  static absl::StatusOr<Policy> Compile(const config::PolicyConfig& config);

  // Applies the policy to a route: returns true when it is accepted, with `attributes` modified by
  // the sets of the terms that matched; false when it is rejected, and `attributes` is then
  // partly modified and must be discarded.
  bool Apply(const RibPrefix& prefix, RouteAttributes* attributes) const {
    return Evaluate(prefix, attributes).accepted;
  }
  // Apply() that also says which term decided.
  PolicyVerdict Evaluate(const RibPrefix& prefix, RouteAttributes* attributes) const;

  const std::string& name() const { return name_; }
  // No route can pass: every term and the default reject (an "export nothing" policy), so the
  // caller may skip building the attributes.
  bool RejectsAll() const;
  // The name of term `index`, or "" when it has none.
  std::string_view term_name(int index) const;
  size_t term_count() const { return terms_.size(); }

 private:
  struct Term {
    std::string name;
    std::vector<config::PrefixMatch> prefixes;
    std::optional<uint32_t> as_path_length_min;
    std::optional<uint32_t> as_path_length_max;
    std::vector<uint32_t> match_communities;  // sorted, unique
    std::vector<LargeCommunity> match_large_communities;
    std::optional<uint32_t> set_local_pref;
    std::optional<uint32_t> set_med;
    std::vector<uint32_t> add_communities;  // in order, unique
    std::vector<uint32_t> delete_communities;
    std::vector<LargeCommunity> add_large_communities;
    std::vector<LargeCommunity> delete_large_communities;
    config::PolicyAction action = config::PolicyAction::kAccept;

    bool Matches(const RibPrefix& prefix, const RouteAttributes& attributes) const;
    void ApplySets(RouteAttributes* attributes) const;
  };

  Policy() = default;

  std::string name_;
  std::vector<Term> terms_;
  bool default_accept_ = false;
};

// A neighbor's import or export list: policies by reference, in order.
class PolicyChain {
 public:
  PolicyChain() = default;  // Empty: accepts every route unchanged.
  explicit PolicyChain(std::vector<std::shared_ptr<const Policy>> policies)
      : policies_(std::move(policies)) {}

  // As Policy::Apply, through every policy of the chain in order.
  bool Apply(const RibPrefix& prefix, RouteAttributes* attributes) const {
    return Evaluate(prefix, attributes).accepted;
  }
  PolicyVerdict Evaluate(const RibPrefix& prefix, RouteAttributes* attributes) const;

  bool empty() const { return policies_.empty(); }
  size_t size() const { return policies_.size(); }
  // Some policy of the chain rejects every route.
  bool RejectsAll() const;

 private:
  std::vector<std::shared_ptr<const Policy>> policies_;
};

// Every [[policy]] of a configuration, compiled once and shared by the chains built from it.
class PolicyLibrary {
 public:
  PolicyLibrary() = default;
  // Compiles each policy; refuses an invalid one or a name used twice.
  static absl::StatusOr<PolicyLibrary> Compile(std::span<const config::PolicyConfig> configs);

  // The policy named `name`, or null.
  std::shared_ptr<const Policy> Find(std::string_view name) const;
  // The chain of the named policies, in order (a neighbor's import_policies or export_policies);
  // NotFound for a name that is not in the library.
  absl::StatusOr<PolicyChain> Chain(std::span<const std::string> names) const;

  size_t size() const { return policies_.size(); }

 private:
  absl::flat_hash_map<std::string, std::shared_ptr<const Policy>> policies_;
};

}  // namespace strobe::bgp

#endif  // STROBE_CONTROLPLANE_BGP_POLICY_H_
