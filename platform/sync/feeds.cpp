// Feeds: the change log modules append to (RecordChange), and reading a feed as snapshot pages
// then deltas since a cursor, filtered by scope; compaction of changes past the retention.
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "platform/base/crypto.h"
#include "platform/sync/sync.h"

namespace guichet::sync {
namespace {

using storage::Params;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

bool WellFormedName(std::string_view name) {
  if (name.empty() || name.size() > kNameLengthMax) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

Error Forbidden(std::string message) {
  return {ErrorKind::kForbidden, "forbidden", std::move(message), {}};
}

Error BadCursor() {
  return Error::Invalid("cursor_invalid",
                        "The cursor is not one this feed gave; start again without a cursor.");
}

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

std::optional<std::string> DecodeBase64Url(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

// "s<HEAD>.<base64url(LAST KEY)>": a snapshot taken when the feed was at HEAD, read up to KEY;
// "d<SEQ>": changes after SEQ. Opaque to devices.
struct Cursor {
  bool snapshot = true;
  int64_t seq = 0;
  std::string after_key;
};

std::optional<Cursor> ParseCursor(std::string_view text) {
  Cursor cursor;
  if (text.empty()) return cursor;
  if (text.size() > 2 * kItemKeyLengthMax + 40) return std::nullopt;
  if (text[0] == 'd') {
    auto seq = ParseInt(text.substr(1));
    if (!seq) return std::nullopt;
    return Cursor{false, *seq, ""};
  }
  if (text[0] != 's') return std::nullopt;
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto seq = ParseInt(text.substr(1, dot - 1));
  auto key = DecodeBase64Url(text.substr(dot + 1));
  if (!seq || !key) return std::nullopt;
  return Cursor{true, *seq, std::move(*key)};
}

std::string SnapshotCursor(int64_t head, std::string_view key) {
  return fmt::format("s{}.{}", head, crypto::ToBase64Url(key));
}

std::string DeltaCursor(int64_t seq) { return fmt::format("d{}", seq); }

struct Head {
  int64_t last_seq = 0;
  int64_t compacted_through = 0;
};

Result<Head> ReadHead(Transaction& tx, std::string_view feed) {
  auto row = tx.QueryOne("SELECT last_seq, compacted_through FROM sync_feed_heads WHERE feed = $1",
                         {std::string(feed)});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return Head{};
  return Head{(*row)->Int(0), (*row)->Int(1)};
}

Result<FeedPage> SnapshotPageOf(Transaction& tx, const Feed& feed, const SnapshotRequest& request,
                                int64_t head) {
  auto page = feed.snapshot(tx, request);
  if (!page.ok()) return std::move(page).error();
  GUICHET_ASSERT(static_cast<int64_t>(page->items.size()) <= request.limit);
  FeedPage answer;
  answer.snapshot = true;
  answer.reset = request.after_key.empty();
  answer.items = std::move(page->items);
  if (page->more && !answer.items.empty()) {
    answer.cursor = SnapshotCursor(head, answer.items.back().key);
  } else {
    // The snapshot is whole: changes made since it began are replayed from HEAD.
    answer.cursor = DeltaCursor(head);
  }
  answer.complete = false;  // the changes since HEAD follow, even when there are none
  return answer;
}

Result<FeedPage> DeltaPageOf(Transaction& tx, std::string_view feed,
                             const std::vector<std::string>& scopes, int64_t after_seq,
                             int64_t head, int64_t limit) {
  std::string in;
  Params params{std::string(feed), after_seq};
  for (const std::string& scope : scopes) {
    in += fmt::format("{}${}", in.empty() ? "" : ", ", params.size() + 1);
    params.emplace_back(scope);
  }
  FeedPage answer;
  int64_t last = after_seq;
  if (!scopes.empty()) {
    auto rows = tx.Query(fmt::format("SELECT seq, item_key, op, payload FROM sync_changes"
                                     " WHERE feed = $1 AND seq > $2 AND scope IN ({})"
                                     " ORDER BY seq LIMIT {}",
                                     in, limit + 1),
                         params);
    if (!rows.ok()) return std::move(rows).error();
    const bool more = static_cast<int64_t>(rows->rows.size()) > limit;
    for (const Row& row : rows->rows) {
      if (static_cast<int64_t>(answer.items.size()) == limit) break;
      FeedItem item;
      item.key = row.Text(1);
      if (row.Text(2) == "u") item.value = boost::json::parse(row.Text(3));
      answer.items.push_back(std::move(item));
      last = row.Int(0);
    }
    answer.complete = !more;
    if (more) {
      answer.cursor = DeltaCursor(last);
      return answer;
    }
  } else {
    answer.complete = true;
  }
  // Everything up to the head was committed before this statement: nothing below it can appear.
  answer.cursor = DeltaCursor(std::max(last, head));
  return answer;
}

}  // namespace

std::vector<std::string> AncestorScopes(const identity::Caller&,
                                        const std::vector<std::string>& grant_paths) {
  std::vector<std::string> scopes;
  for (const std::string& path : grant_paths) {
    for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
      std::string prefix = path.substr(0, at + 1);
      if (std::find(scopes.begin(), scopes.end(), prefix) == scopes.end()) {
        scopes.push_back(std::move(prefix));
      }
    }
  }
  return scopes;
}

void Feeds::Add(std::string name, Feed feed) {
  GUICHET_ASSERT(WellFormedName(name));
  GUICHET_ASSERT(feed.snapshot != nullptr && !feed.right.empty());
  const bool added = feeds_.emplace(std::move(name), std::move(feed)).second;
  GUICHET_ASSERT(added);
}

const Feed* Feeds::Find(std::string_view name) const {
  const auto found = feeds_.find(name);
  return found == feeds_.end() ? nullptr : &found->second;
}

Status RecordChange(Transaction& tx, const Change& change, int64_t now_ms) {
  if (!WellFormedName(change.feed) || change.scope.empty() ||
      change.scope.size() > kScopeLengthMax || change.item_key.empty() ||
      change.item_key.size() > kItemKeyLengthMax) {
    return Error::Invalid(
        "sync_change_invalid",
        fmt::format("A change of feed {} has a bad name, scope or key.", change.feed));
  }
  GUICHET_TRY_STATUS(tx.Execute(
      "INSERT INTO sync_feed_heads (feed, last_seq) VALUES ($1, 0) ON CONFLICT (feed) DO NOTHING",
      {change.feed}));
  // The head row stays locked until this transaction ends: changes of one feed commit in
  // sequence order, which is what lets readers trust their cursor.
  auto head = tx.QueryOne(
      "UPDATE sync_feed_heads SET last_seq = last_seq + 1 WHERE feed = $1 RETURNING last_seq",
      {change.feed});
  if (!head.ok()) return std::move(head).error();
  GUICHET_ASSERT(head->has_value());
  const bool upsert = change.op == ChangeOp::kUpsert;
  storage::Param payload = nullptr;
  if (upsert) payload = boost::json::serialize(change.payload);
  auto inserted = tx.Execute(
      "INSERT INTO sync_changes (feed, seq, scope, item_key, op, payload, at_ms)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {change.feed, (*head)->Int(0), change.scope, change.item_key, std::string(upsert ? "u" : "d"),
       payload, now_ms});
  if (!inserted.ok()) return std::move(inserted).error();
  return OkStatus();
}

Result<FeedPage> Sync::ReadFeed(const identity::Caller& caller, std::string_view name,
                                std::string_view cursor_text, int64_t limit) {
  const Feed* feed = feeds_.Find(name);
  if (feed == nullptr) {
    return Error::NotFound("feed_unknown", fmt::format("There is no feed {}.", name));
  }
  const std::vector<std::string> paths = authorizer_.Scopes(caller, feed->right);
  if (paths.empty()) return Forbidden("This device may not read this feed.");
  std::vector<std::string> scopes =
      feed->scopes ? feed->scopes(caller, paths) : AncestorScopes(caller, paths);
  if (static_cast<int64_t>(scopes.size()) > kFeedScopesMax) scopes.resize(kFeedScopesMax);
  auto cursor = ParseCursor(cursor_text);
  if (!cursor) return BadCursor();
  limit = std::clamp<int64_t>(limit, 1, kFeedPageItemsMax);
  auto page = database_.Transact<FeedPage>(
      TransactionMode::kRead, [&](Transaction& tx) -> Result<FeedPage> {
        auto head = ReadHead(tx, name);
        if (!head.ok()) return std::move(head).error();
        if (cursor->seq > head->last_seq) return BadCursor();
        SnapshotRequest request{&caller, scopes, "", limit};
        if (cursor->snapshot) {
          // A snapshot begun before a compaction still resumes: the changes since its head may
          // be gone, so it starts over.
          const bool fresh = cursor->after_key.empty() || cursor->seq < head->compacted_through;
          request.after_key = fresh ? "" : cursor->after_key;
          return SnapshotPageOf(tx, *feed, request, fresh ? head->last_seq : cursor->seq);
        }
        if (cursor->seq < head->compacted_through) {
          return SnapshotPageOf(tx, *feed, request, head->last_seq);  // too old: start over
        }
        return DeltaPageOf(tx, name, scopes, cursor->seq, head->last_seq, limit);
      });
  if (!page.ok()) return std::move(page).error();
  page->feed = std::string(name);
  return page;
}

Result<int64_t> Sync::Compact() {
  const int64_t now = clock_.NowMs();
  const int64_t cutoff = now - options_.change_retention_s * 1000;
  return database_.Transact<int64_t>(
      TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
        auto feeds =
            tx.Query("SELECT feed, compacted_through FROM sync_feed_heads ORDER BY feed", {});
        if (!feeds.ok()) return std::move(feeds).error();
        int64_t budget = options_.compact_changes_per_run_max;
        int64_t deleted = 0;
        for (const Row& feed : feeds->rows) {
          if (budget <= 0) break;
          auto oldest =
              tx.QueryOne("SELECT MAX(seq) FROM sync_changes WHERE feed = $1 AND at_ms < $2",
                          {feed.Text(0), cutoff});
          if (!oldest.ok()) return std::move(oldest).error();
          if (!oldest->has_value() || (*oldest)->IsNull(0)) continue;
          const int64_t through = std::min((*oldest)->Int(0), feed.Int(1) + budget);
          auto removed = tx.Execute("DELETE FROM sync_changes WHERE feed = $1 AND seq <= $2",
                                    {feed.Text(0), through});
          if (!removed.ok()) return std::move(removed).error();
          GUICHET_TRY_STATUS(
              tx.Execute("UPDATE sync_feed_heads SET compacted_through = $2 WHERE feed = $1 AND "
                         "compacted_through < $2",
                         {feed.Text(0), through}));
          deleted += *removed;
          budget -= *removed;
        }
        return deleted;
      });
}

}  // namespace guichet::sync
