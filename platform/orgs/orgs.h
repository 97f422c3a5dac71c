// The organisation tree (C1): every record belongs to one organisation, and a person acting
// for an organisation sees its subtree only. The tree is stored with a materialised path
// ("/1/5/17/"), so "is X inside Y" is a prefix test and a subtree is one indexed range query
// on both backends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/base/result.h"
#include "platform/storage/database.h"
#include "platform/storage/migrations.h"

namespace guichet::orgs {

inline constexpr int64_t kNameLengthMax = 200;
inline constexpr int64_t kDepthMax = 8;
inline constexpr int64_t kListRowsMax = 1000;

// Which kinds may sit under which: the three products' hierarchies.
//   wallet: national → region → site, and region → merchant (points of sale's owners)
//   pass:   departement → tourism_office → partner
//   family: syndicate → city → establishment
struct KindRule {
  std::string_view kind;
  std::string_view parent_kind;  // empty: a root
  std::string_view product;
};
const std::vector<KindRule>& KindRules();
std::optional<KindRule> FindKind(std::string_view kind);

struct Organisation {
  int64_t id = 0;
  std::optional<int64_t> parent_id;
  std::string kind;
  std::string name;
  std::string path;         // "/1/5/17/": ids from the root down, slash-terminated
  std::string environment;  // "production" or "test": a test tree never mixes with production
  int64_t created_at_ms = 0;
};

struct NewOrganisation {
  std::optional<int64_t> parent_id;
  std::string kind;
  std::string name;
  std::string environment = "production";  // roots only; children inherit their parent's
};

std::vector<storage::Migration> Migrations();

// Checks the kind against the parent's and the name, then inserts. Rights are the caller's
// business (the identity use cases check them).
Result<Organisation> Create(storage::Transaction& tx, const NewOrganisation& request, int64_t now_ms);
Result<std::optional<Organisation>> Find(storage::Transaction& tx, int64_t id);
// The organisation at `path` and everything below it, in path order.
Result<std::vector<Organisation>> Subtree(storage::Transaction& tx, std::string_view path);
Result<std::vector<Organisation>> All(storage::Transaction& tx);

// True when `path` is `ancestor_path` or lies below it.
bool Contains(std::string_view ancestor_path, std::string_view path);
// True when `path` lies at or below one of `ancestor_paths` (e.g. the caller's scopes of a right).
bool ContainedInAny(const std::vector<std::string>& ancestor_paths, std::string_view path);

}  // namespace guichet::orgs
