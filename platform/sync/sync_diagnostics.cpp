// The test module of platform/sync, served only with `diagnostics = true`: two feeds whose
// snapshot is the latest state kept in the change log, event kinds that apply, wait for funds
// or fail, and routes that record changes and credit an account. API tests and the bench use
// it to drive the platform end to end without any product module.
#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/sync/sync_http.h"

namespace guichet::sync {
namespace {

using boost::json::object;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::Response;
using identity::Gate;
using storage::Row;
using storage::Transaction;
using storage::TransactionMode;

constexpr std::string_view kItemsFeed = "diagnostics.items";
constexpr std::string_view kBalancesFeed = "diagnostics.balances";
constexpr std::string_view kEveryone = "*";  // a scope every reader of the test feeds sees
constexpr int64_t kAmountMax = 1000000000;

// The latest state of each item, read from the log (fine for a test feed: nothing compacts it
// in a test; a product feed reads its own tables).
Result<SnapshotPage> LogSnapshot(Transaction& tx, std::string_view feed,
                                 const SnapshotRequest& request) {
  std::string in;
  storage::Params params{std::string(feed), request.after_key};
  for (const std::string& scope : request.scopes) {
    in += fmt::format("{}${}", in.empty() ? "" : ", ", params.size() + 1);
    params.emplace_back(scope);
  }
  auto rows =
      tx.Query(fmt::format("SELECT c.item_key, c.payload FROM sync_changes c"
                           " WHERE c.feed = $1 AND c.item_key > $2 AND c.scope IN ({})"
                           " AND c.op = 'u' AND c.seq = (SELECT MAX(m.seq) FROM sync_changes m"
                           " WHERE m.feed = c.feed AND m.item_key = c.item_key)"
                           " ORDER BY c.item_key LIMIT {}",
                           in, request.limit + 1),
               params);
  if (!rows.ok()) return std::move(rows).error();
  SnapshotPage page;
  for (const Row& row : rows->rows) {
    if (static_cast<int64_t>(page.items.size()) == request.limit) {
      page.more = true;
      break;
    }
    page.items.push_back({row.Text(0), boost::json::parse(row.Text(1))});
  }
  return page;
}

std::vector<std::string> WithEveryone(const identity::Caller& caller,
                                      const std::vector<std::string>& paths) {
  std::vector<std::string> scopes = AncestorScopes(caller, paths);
  scopes.emplace_back(kEveryone);
  return scopes;
}

std::string WaitKey(std::string_view account) {
  return fmt::format("diagnostics.account:{}", account);
}

// Locks the balances feed first, so two debits of one account cannot both read the old balance.
Result<int64_t> LockedBalance(Transaction& tx, std::string_view account) {
  GUICHET_TRY_STATUS(tx.Execute(
      "INSERT INTO sync_feed_heads (feed, last_seq) VALUES ($1, 0) ON CONFLICT (feed) DO NOTHING",
      {std::string(kBalancesFeed)}));
  GUICHET_TRY_STATUS(tx.Execute("UPDATE sync_feed_heads SET last_seq = last_seq WHERE feed = $1",
                                {std::string(kBalancesFeed)}));
  auto row = tx.QueryOne(
      "SELECT payload FROM sync_changes WHERE feed = $1 AND item_key = $2"
      " ORDER BY seq DESC LIMIT 1",
      {std::string(kBalancesFeed), std::string(account)});
  if (!row.ok()) return std::move(row).error();
  if (!row->has_value()) return int64_t{0};
  return boost::json::parse((*row)->Text(0)).as_object().at("b").as_int64();
}

Status SetBalance(Transaction& tx, std::string_view account, int64_t balance, int64_t now_ms) {
  return RecordChange(tx,
                      {std::string(kBalancesFeed), std::string(kEveryone), std::string(account),
                       ChangeOp::kUpsert, object{{"b", balance}}},
                      now_ms);
}

Result<Outcome> Debit(Transaction& tx, const identity::Caller&, const Event& event,
                      int64_t now_ms) {
  const object* payload = event.payload.if_object();
  const boost::json::value* account = payload ? payload->if_contains("a") : nullptr;
  const boost::json::value* amount = payload ? payload->if_contains("n") : nullptr;
  if (account == nullptr || !account->is_string() || account->as_string().empty() ||
      amount == nullptr || !amount->is_int64() || amount->as_int64() <= 0 ||
      amount->as_int64() > kAmountMax) {
    return Outcome::Refused("payload_invalid");
  }
  const std::string name(account->as_string());
  auto balance = LockedBalance(tx, name);
  if (!balance.ok()) return std::move(balance).error();
  if (*balance < amount->as_int64()) return Outcome::Waiting("insufficient_funds", WaitKey(name));
  GUICHET_TRY_STATUS(SetBalance(tx, name, *balance - amount->as_int64(), now_ms));
  return Outcome::Applied(object{{"balance", *balance - amount->as_int64()}});
}

struct Credit {
  std::string account;
  int64_t amount = 0;
  bool retry_now = false;
};

Result<Credit> ParseCredit(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  Credit credit;
  credit.account = reader.RequiredString("account", {1, 100});
  credit.amount = reader.RequiredInteger("amount", 1, kAmountMax);
  credit.retry_now = reader.OptionalBool("retry_now").value_or(false);
  GUICHET_TRY_STATUS(reader.Finish());
  return credit;
}

Result<Change> ParseChange(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  object fields = *body;
  Change change;
  if (const auto* value = fields.if_contains("value"); value != nullptr && !value->is_null()) {
    change.payload = *value;
  } else {
    change.op = ChangeOp::kDelete;
  }
  fields.erase("value");
  JsonReader reader(fields);
  change.feed = reader.RequiredString("feed", {1, 64});
  change.scope = reader.OptionalString("scope", {1, static_cast<int64_t>(kScopeLengthMax)})
                     .value_or(std::string(kEveryone));
  change.item_key = reader.RequiredString("key", {1, static_cast<int64_t>(kItemKeyLengthMax)});
  if (change.feed != kItemsFeed) reader.Fail("feed", "Only diagnostics.items takes changes here.");
  GUICHET_TRY_STATUS(reader.Finish());
  return change;
}

// Records many items at once (the snapshot tests and the bench need thousands).
Result<int64_t> ParseCount(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  const int64_t count = reader.RequiredInteger("count", 1, 100000);
  GUICHET_TRY_STATUS(reader.Finish());
  return count;
}

}  // namespace

void AddDiagnosticsFeeds(Feeds& feeds, Handlers& handlers) {
  for (std::string_view name : {kItemsFeed, kBalancesFeed}) {
    feeds.Add(std::string(name), {std::string(kDeviceRight),
                                  [name](Transaction& tx, const SnapshotRequest& request) {
                                    return LogSnapshot(tx, name, request);
                                  },
                                  WithEveryone});
  }
  handlers.Add("diagnostics.note", {std::string(kDeviceRight),
                                    [](Transaction&, const identity::Caller&, const Event& event,
                                       int64_t) -> Result<Outcome> {
                                      return Outcome::Applied(object{{"seq", event.seq}});
                                    }});
  handlers.Add(std::string(kDiagnosticsDebitKind), {std::string(kDeviceRight), Debit});
  handlers.Add("diagnostics.fail", {std::string(kDeviceRight),
                                    [](Transaction&, const identity::Caller&, const Event&,
                                       int64_t) -> Result<Outcome> {
                                      return Error::Internal("diagnostics.fail always fails");
                                    }});
}

void AddSyncDiagnosticsRoutes(http::Router& router, identity::IdentityHttpContext& context,
                              Sync& sync) {
  identity::IdentityHttpContext* http_context = &context;
  AddGuarded(router, context, http::Verb::post, "/api/v1/diagnostics/sync/changes",
             "postDiagnosticsSyncChange", identity::kPublic,
             {.summary = "Record a change of the diagnostics.items feed (value null: a delete)",
              .tag = "diagnostics",
              .request_schema = object{{"type", "object"}},
              .errors = {{422, "A field is missing or malformed"}}},
             [http_context](const RequestContext& request, Gate&) -> Result<Response> {
               auto change = ParseChange(*request.request);
               if (!change.ok()) return std::move(change).error();
               const int64_t now = http_context->clock.NowMs();
               auto recorded = http_context->database.Transact<Ok>(
                   TransactionMode::kWrite,
                   [&](Transaction& tx) -> Status { return RecordChange(tx, *change, now); });
               if (!recorded.ok()) return std::move(recorded).error();
               return http::JsonResponse(HttpStatus::created, object{{"recorded", true}});
             });
  AddGuarded(
      router, context, http::Verb::post, "/api/v1/diagnostics/sync/items",
      "postDiagnosticsSyncItems", identity::kPublic,
      {.summary = "Record `count` items i000001… of the diagnostics.items feed in one transaction",
       .tag = "diagnostics",
       .request_schema = object{{"type", "object"}},
       .errors = {{422, "count out of range"}}},
      [http_context](const RequestContext& request, Gate&) -> Result<Response> {
        auto count = ParseCount(*request.request);
        if (!count.ok()) return std::move(count).error();
        const int64_t now = http_context->clock.NowMs();
        auto recorded = http_context->database.Transact<Ok>(
            TransactionMode::kWrite, [&](Transaction& tx) -> Status {
              for (int64_t i = 1; i <= *count; ++i) {
                GUICHET_TRY_STATUS(RecordChange(
                    tx,
                    {std::string(kItemsFeed), std::string(kEveryone), fmt::format("i{:06}", i),
                     ChangeOp::kUpsert, object{{"n", i}, {"l", "article de test"}}},
                    now));
              }
              return OkStatus();
            });
        if (!recorded.ok()) return std::move(recorded).error();
        return http::JsonResponse(HttpStatus::created, object{{"recorded", *count}});
      });
  AddGuarded(
      router, context, http::Verb::post, "/api/v1/diagnostics/sync/credits",
      "postDiagnosticsSyncCredit", identity::kPublic,
      {.summary =
           "Credit a diagnostics account; its waiting debits are retried (now, or by the job)",
       .tag = "diagnostics",
       .request_schema = object{{"type", "object"}},
       .errors = {{422, "A field is missing or malformed"}}},
      [http_context, &sync](const RequestContext& request, Gate&) -> Result<Response> {
        auto credit = ParseCredit(*request.request);
        if (!credit.ok()) return std::move(credit).error();
        const int64_t now = http_context->clock.NowMs();
        auto balance = http_context->database.Transact<int64_t>(
            TransactionMode::kWrite, [&](Transaction& tx) -> Result<int64_t> {
              auto old = LockedBalance(tx, credit->account);
              if (!old.ok()) return std::move(old).error();
              GUICHET_TRY_STATUS(SetBalance(tx, credit->account, *old + credit->amount, now));
              if (!credit->retry_now) {
                GUICHET_TRY_STATUS(
                    ScheduleRetry(tx, kDiagnosticsDebitKind, WaitKey(credit->account), now));
              }
              return *old + credit->amount;
            });
        if (!balance.ok()) return std::move(balance).error();
        object answer{{"balance", *balance}};
        if (credit->retry_now) {
          auto retried = sync.RetryWaiting(kDiagnosticsDebitKind, WaitKey(credit->account));
          if (!retried.ok()) return std::move(retried).error();
          answer["retried"] = retried->tried;
          answer["applied"] = retried->applied;
        }
        return http::JsonResponse(HttpStatus::ok, answer);
      });
}

}  // namespace guichet::sync
