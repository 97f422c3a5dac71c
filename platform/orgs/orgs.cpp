#include "platform/orgs/orgs.h"

#include <fmt/format.h>

#include <algorithm>

#include "platform/http/json.h"

namespace guichet::orgs {
namespace {

using storage::Row;
using storage::Transaction;

constexpr std::string_view kColumns = "id, parent_id, kind, name, path, environment, created_at";

Organisation ToOrganisation(const Row& row) {
  Organisation org;
  org.id = row.Int(0);
  org.parent_id = row.OptionalInt(1);
  org.kind = row.Text(2);
  org.name = row.Text(3);
  org.path = row.Text(4);
  org.environment = row.Text(5);
  org.created_at_ms = row.Int(6);
  GUICHET_ASSERT(org.id > 0 && org.path.front() == '/' && org.path.back() == '/');
  return org;
}

Result<std::vector<Organisation>> Many(Transaction& tx, const std::string& sql, const storage::Params& params) {
  auto rows = tx.Query(sql, params);
  if (!rows.ok()) return std::move(rows).error();
  std::vector<Organisation> orgs;
  for (const Row& row : rows->rows) orgs.push_back(ToOrganisation(row));
  return orgs;
}

int64_t Depth(std::string_view path) {
  return static_cast<int64_t>(std::count(path.begin(), path.end(), '/')) - 1;
}

Error Invalid(std::string_view pointer, std::string message) {
  return Error{ErrorKind::kValidation, "validation_failed", message, {{std::string(pointer), message}}};
}

}  // namespace

const std::vector<KindRule>& KindRules() {
  static const std::vector<KindRule> rules = {
      {"national", "", "wallet"},          {"region", "national", "wallet"},
      {"site", "region", "wallet"},        {"merchant", "region", "wallet"},
      {"departement", "", "pass"},
      {"tourism_office", "departement", "pass"}, {"partner", "tourism_office", "pass"},
      {"syndicate", "", "family"},         {"city", "syndicate", "family"},
      {"establishment", "city", "family"},
  };
  return rules;
}

std::optional<KindRule> FindKind(std::string_view kind) {
  for (const KindRule& rule : KindRules()) {
    if (rule.kind == kind) return rule;
  }
  return std::nullopt;
}

std::vector<storage::Migration> Migrations() {
  // Paths compare byte by byte on both engines (PostgreSQL: the "C" collation), whatever the
  // database's locale: subtree queries are ranges on the path.
  auto table = [](std::string_view id_column, std::string_view collate) {
    return fmt::format(
        "CREATE TABLE organisations ({}, parent_id BIGINT REFERENCES organisations (id),"
        " kind TEXT NOT NULL, name TEXT NOT NULL, path TEXT {} NOT NULL UNIQUE,"
        " environment TEXT NOT NULL CHECK (environment IN ('production', 'test')),"
        " created_at BIGINT NOT NULL);"
        " CREATE INDEX organisations_parent ON organisations (parent_id);",
        id_column, collate);
  };
  return {{"platform.orgs", 1, "create organisations",
           table("id INTEGER PRIMARY KEY AUTOINCREMENT", ""),
           table("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "COLLATE \"C\"")}};
}

bool Contains(std::string_view ancestor_path, std::string_view path) {
  GUICHET_DASSERT(!ancestor_path.empty() && ancestor_path.back() == '/');
  return path.substr(0, ancestor_path.size()) == ancestor_path;
}

bool ContainedInAny(const std::vector<std::string>& ancestor_paths, std::string_view path) {
  return std::any_of(ancestor_paths.begin(), ancestor_paths.end(),
                     [&](const std::string& ancestor) { return Contains(ancestor, path); });
}

Result<Organisation> Create(Transaction& tx, const NewOrganisation& request, int64_t now_ms) {
  const int64_t name_length = http::Utf8Length(request.name);
  if (name_length < 1 || name_length > kNameLengthMax) {
    return Invalid("/name", fmt::format("The name must have 1 to {} characters.", kNameLengthMax));
  }
  const auto rule = FindKind(request.kind);
  if (!rule) return Invalid("/kind", fmt::format("'{}' is not a kind of organisation.", request.kind));
  std::string parent_path = "/";
  std::string environment = request.environment;
  if (request.parent_id) {
    auto parent = Find(tx, *request.parent_id);
    if (!parent.ok()) return std::move(parent).error();
    if (!parent->has_value()) {
      return Error::NotFound("organisation_not_found", "The parent organisation does not exist.");
    }
    if ((*parent)->kind != rule->parent_kind) {
      return Invalid("/kind", fmt::format("A {} cannot be placed under a {}.", request.kind, (*parent)->kind));
    }
    if (Depth((*parent)->path) >= kDepthMax) return Invalid("/parent_id", "The tree is too deep.");
    parent_path = (*parent)->path;
    environment = (*parent)->environment;  // a test tree stays a test tree
  } else if (!rule->parent_kind.empty()) {
    return Invalid("/parent_id", fmt::format("A {} must be placed under a {}.", request.kind, rule->parent_kind));
  }
  if (environment != "production" && environment != "test") {
    return Invalid("/environment", "The environment is production or test.");
  }
  // The path needs the id: insert with a unique placeholder path, then set it.
  auto inserted = tx.QueryOne(
      "INSERT INTO organisations (parent_id, kind, name, path, environment, created_at)"
      " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
      {request.parent_id ? storage::Param(*request.parent_id) : storage::Param(nullptr), request.kind,
       request.name, fmt::format("{}pending-{}/", parent_path, now_ms), environment, now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  const int64_t id = (*inserted)->Int(0);
  const std::string path = fmt::format("{}{}/", parent_path, id);
  auto updated = tx.Execute("UPDATE organisations SET path = $1 WHERE id = $2", {path, id});
  if (!updated.ok()) return std::move(updated).error();
  GUICHET_ASSERT(*updated == 1);
  return Organisation{id, request.parent_id, request.kind, request.name, path, environment, now_ms};
}

Result<std::optional<Organisation>> Find(Transaction& tx, int64_t id) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM organisations WHERE id = $1", kColumns), {id});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return std::optional<Organisation>();
  return std::optional<Organisation>(ToOrganisation(**row));
}

Result<std::vector<Organisation>> Subtree(Transaction& tx, std::string_view path) {
  // A range on the path rather than LIKE: '0' is the character after '/', so every path that
  // starts with `path` sorts in [path, path with its last '/' replaced by '0').
  std::string upper(path);
  upper.back() = '0';
  return Many(tx, fmt::format("SELECT {} FROM organisations WHERE path >= $1 AND path < $2 ORDER BY path LIMIT {}",
                              kColumns, kListRowsMax),
              {std::string(path), upper});
}

Result<std::vector<Organisation>> All(Transaction& tx) {
  return Many(tx, fmt::format("SELECT {} FROM organisations ORDER BY path LIMIT {}", kColumns, kListRowsMax), {});
}

}  // namespace guichet::orgs
