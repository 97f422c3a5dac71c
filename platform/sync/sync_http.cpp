// HTTP adapters of platform/sync: parse and validate, call one use case, map the answer.
#include "platform/sync/sync_http.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"
#include "platform/http/static_files.h"

namespace guichet::sync {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::Response;
using identity::AddGuarded;
using identity::Gate;

constexpr int64_t kSeqMax = int64_t{1} << 50;
constexpr int64_t kTimeMsMax = int64_t{1} << 50;
constexpr size_t kSignatureTextMax = 128;
constexpr size_t kGzipBytesMin = 1024;

bool AcceptsGzip(const http::Request& request) {
  const std::string_view value = http::HeaderValue(request, "Accept-Encoding");
  const size_t at = value.find("gzip");
  if (at == std::string_view::npos) return false;
  const std::string_view rest = value.substr(at + 4, 6);
  return rest.rfind(";q=0", 0) != 0 || rest.rfind(";q=0.", 0) == 0;
}

// Large feed pages go out gzip-compressed when the device accepts it.
Response Compressible(const http::Request& request, const object& body) {
  Response response = http::JsonResponse(HttpStatus::ok, body);
  response.set(http::beast::http::field::vary, "Accept-Encoding");
  if (response.body().size() >= kGzipBytesMin && AcceptsGzip(request)) {
    response.body() = http::Gzip(response.body());
    response.set(http::beast::http::field::content_encoding, "gzip");
    response.prepare_payload();
  }
  return response;
}

bool TokenText(std::string_view text, bool lower_only) {
  return std::all_of(text.begin(), text.end(), [lower_only](char c) {
    return (c >= 'a' && c <= 'z') || (!lower_only && c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

object FeedPageJson(const FeedPage& page) {
  array items;
  for (const FeedItem& item : page.items) {
    object json{{"k", item.key}};
    if (item.value.is_null()) {
      json["del"] = true;
    } else {
      json["v"] = item.value;
    }
    items.push_back(std::move(json));
  }
  return {{"feed", page.feed},     {"mode", page.snapshot ? "snapshot" : "changes"},
          {"reset", page.reset},   {"items", std::move(items)},
          {"cursor", page.cursor}, {"complete", page.complete}};
}

// One event of a batch; `pointer` is "/events/3".
BatchEvent ParseEvent(const boost::json::value& value, const std::string& pointer,
                      std::vector<FieldError>& problems) {
  BatchEvent event;
  if (!value.is_object()) {
    problems.push_back({pointer, "An event is an object."});
    return event;
  }
  object fields = value.as_object();
  const boost::json::value* payload = fields.if_contains("payload");
  if (payload == nullptr || !payload->is_object()) {
    problems.push_back({pointer + "/payload", "The payload is a JSON object."});
  } else {
    event.payload = *payload;
    const auto canonical = CanonicalJson(*payload);
    if (!canonical) {
      problems.push_back({pointer + "/payload", "Numbers in a payload are integers."});
    } else if (static_cast<int64_t>(canonical->size()) > kEventPayloadBytesMax) {
      problems.push_back({pointer + "/payload",
                          fmt::format("A payload holds at most {} bytes.", kEventPayloadBytesMax)});
    }
  }
  fields.erase("payload");
  JsonReader reader(fields, pointer);
  event.seq = reader.RequiredInteger("seq", 1, kSeqMax);
  event.kind = reader.RequiredString("kind", {1, static_cast<int64_t>(kNameLengthMax)});
  event.at_ms = reader.RequiredInteger("at_ms", 0, kTimeMsMax);
  if (!TokenText(event.kind, true))
    reader.Fail("kind", "A kind is made of a-z, 0-9, '.', '_' and '-'.");
  if (auto finished = reader.Finish(); !finished.ok()) {
    for (const FieldError& field : finished.error().fields) problems.push_back(field);
  }
  return event;
}

Result<Batch> ParseBatch(const http::Request& request) {
  auto body = http::ParseJsonObjectBody(request);
  if (!body.ok()) return std::move(body).error();
  object fields = *body;
  const boost::json::value* events = fields.if_contains("events");
  if (events != nullptr && events->is_array() &&
      static_cast<int64_t>(events->as_array().size()) > kBatchEventsMax) {
    return Error{ErrorKind::kTooLarge,
                 "batch_too_large",
                 fmt::format("A batch holds at most {} events; send the rest in the next batch.",
                             kBatchEventsMax),
                 {}};
  }
  Batch batch;
  // A copy: erasing the member below would leave a reference into `fields` dangling.
  const boost::json::array items =
      events != nullptr && events->is_array() ? events->as_array() : boost::json::array();
  fields.erase("events");
  JsonReader reader(fields);
  batch.device_id = reader.RequiredInteger("device_id", 1, kSeqMax);
  batch.batch_id = reader.RequiredString("batch_id", {1, static_cast<int64_t>(kBatchIdLengthMax)});
  batch.signature =
      reader.RequiredString("signature", {1, static_cast<int64_t>(kSignatureTextMax)});
  if (!TokenText(batch.batch_id, false))
    reader.Fail("batch_id", "A batch id is made of A-Z, a-z, 0-9, '.', '_' and '-'.");
  if (items.empty()) reader.Fail("events", "A batch holds at least one event.");
  std::vector<FieldError> problems;
  for (size_t i = 0; i < items.size(); ++i) {
    batch.events.push_back(ParseEvent(items[i], fmt::format("/events/{}", i), problems));
    if (i > 0 && batch.events[i].seq != batch.events[i - 1].seq + 1) {
      problems.push_back(
          {fmt::format("/events/{}/seq", i), "Sequence numbers in a batch increase by one."});
    }
  }
  Status finished = reader.Finish();
  if (finished.ok() && problems.empty()) return batch;
  Error error = finished.ok() ? Error{ErrorKind::kValidation,
                                      "validation_failed",
                                      "Some fields are missing or invalid.",
                                      {}}
                              : std::move(finished).error();
  for (FieldError& problem : problems) error.fields.push_back(std::move(problem));
  return error;
}

Response BatchResponse(const BatchAnswer& answer, const RequestContext& request) {
  if (answer.gap_expected_seq) {
    const Error gap = Error::Conflict(
        "sequence_gap", fmt::format("Events are missing before this batch: send from seq {}.",
                                    *answer.gap_expected_seq));
    Response response = http::ProblemResponse(gap, request.Path(), request.request_id);
    object body = boost::json::parse(response.body()).as_object();
    body["expected_seq"] = *answer.gap_expected_seq;
    response.body() = boost::json::serialize(body);
    response.prepare_payload();
    return response;
  }
  array outcomes;
  for (const EventOutcome& outcome : answer.outcomes) outcomes.push_back(EventOutcomeJson(outcome));
  return http::JsonResponse(HttpStatus::ok, object{{"batch_id", answer.batch_id},
                                                   {"duplicate", answer.duplicate},
                                                   {"outcomes", std::move(outcomes)}});
}

Result<int64_t> LimitOf(const http::Request& request) {
  const auto text = http::QueryParameter(request, "limit");
  if (!text) return kFeedPageItemsDefault;
  auto limit = http::PositiveId(*text, "limit");
  if (!limit.ok() || *limit > kFeedPageItemsMax) {
    return Error::Invalid(
        "invalid_parameter",
        fmt::format("The limit is a whole number from 1 to {}.", kFeedPageItemsMax));
  }
  return *limit;
}

const object kOutcomeSchema = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"seq", {{"type", "integer"}}},
      {"kind", {{"type", "string"}}},
      {"state",
       {{"type", "string"}, {"enum", {"received", "applied", "refused", "waiting", "abandoned"}}}},
      {"code", {{"type", "string"}}},
      {"wait_key", {{"type", "string"}}},
      {"result", {{"type", "object"}}},
      {"attempts", {{"type", "integer"}}}}}};

const object kBatchSchema = {
    {"type", "object"},
    {"required", {"device_id", "batch_id", "events", "signature"}},
    {"additionalProperties", false},
    {"properties",
     {{"device_id", {{"type", "integer"}, {"minimum", 1}}},
      {"batch_id", {{"type", "string"}, {"pattern", "^[A-Za-z0-9._-]{1,64}$"}}},
      {"signature",
       {{"type", "string"}, {"description", "Ed25519 over the canonical batch, base64url"}}},
      {"events",
       {{"type", "array"},
        {"minItems", 1},
        {"maxItems", kBatchEventsMax},
        {"items",
         {{"type", "object"},
          {"required", {"seq", "kind", "at_ms", "payload"}},
          {"additionalProperties", false},
          {"properties",
           {{"seq", {{"type", "integer"}, {"minimum", 1}}},
            {"kind", {{"type", "string"}, {"pattern", "^[a-z0-9._-]{1,64}$"}}},
            {"at_ms", {{"type", "integer"}, {"minimum", 0}}},
            {"payload", {{"type", "object"}}}}}}}}}}}};

const object kFeedSchema = {{"type", "object"},
                            {"properties",
                             {{"feed", {{"type", "string"}}},
                              {"mode", {{"type", "string"}, {"enum", {"snapshot", "changes"}}}},
                              {"reset", {{"type", "boolean"}}},
                              {"items", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                              {"cursor", {{"type", "string"}}},
                              {"complete", {{"type", "boolean"}}}}}};

const object kReportSchema = {
    {"type", "object"},
    {"properties",
     {{"device_id", {{"type", "integer"}}},
      {"last_seq", {{"type", "integer"}}},
      {"events_by_state", {{"type", "object"}}},
      {"waiting", {{"type", "array"}, {"items", kOutcomeSchema}}},
      {"batches", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};

const object kReasonSchema = {
    {"type", "object"},
    {"required", {"reason"}},
    {"additionalProperties", false},
    {"properties",
     {{"reason", {{"type", "string"}, {"minLength", 1}, {"maxLength", kReasonLengthMax}}}}}};

void AddDeviceRoutes(http::Router& router, identity::IdentityHttpContext& context, Sync& sync) {
  AddGuarded(
      router, context, http::Verb::get, "/api/v1/sync/feeds/{name}", "getSyncFeed", kDeviceRight,
      {.summary = "A feed for offline use: snapshot pages, then the changes since a cursor",
       .description = "Without a cursor (or with one older than the retention) the answer is a "
                      "snapshot page (mode snapshot, reset on the first page); follow `cursor` "
                      "until `complete`. Query: cursor, limit (1-1000). Gzip when accepted.",
       .tag = "sync",
       .response_schema = kFeedSchema,
       .errors = {{400, "Bad cursor or limit"},
                  {403, "Not a device, or not allowed this feed"},
                  {404, "No such feed"}}},
      [&sync](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto limit = LimitOf(*request.request);
        if (!limit.ok()) return std::move(limit).error();
        const std::string cursor = http::QueryParameter(*request.request, "cursor").value_or("");
        auto page = sync.ReadFeed(gate.caller, request.Param("name"), cursor, *limit);
        if (!page.ok()) return std::move(page).error();
        return Compressible(*request.request, FeedPageJson(*page));
      });
  AddGuarded(
      router, context, http::Verb::post, "/api/v1/sync/batches", "postSyncBatch", kDeviceRight,
      {.summary = "Upload a signed batch of offline events; one outcome per event",
       .description = "Events are applied in seq order, each on its own. Re-sending a batch "
                      "answers the stored outcomes. See docs/offline-sync.md.",
       .tag = "sync",
       .request_schema = kBatchSchema,
       .response_schema = object{{"type", "object"},
                                 {"properties",
                                  {{"batch_id", {{"type", "string"}}},
                                   {"duplicate", {{"type", "boolean"}}},
                                   {"outcomes", {{"type", "array"}, {"items", kOutcomeSchema}}}}}},
       .errors = {{401, "batch_signature_invalid"},
                  {403, "batch_device_mismatch"},
                  {409, "sequence_gap (with expected_seq), sequence_reused, batch_id_reused"},
                  {413, "batch_too_large"},
                  {422, "A field is missing or malformed"}}},
      [&sync](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto batch = ParseBatch(*request.request);
        if (!batch.ok()) return std::move(batch).error();
        auto answer = sync.Upload(gate.caller, *batch);
        if (!answer.ok()) return std::move(answer).error();
        return BatchResponse(*answer, request);
      });
  AddGuarded(router, context, http::Verb::get, "/api/v1/sync/report", "getOwnSyncReport",
             kDeviceRight,
             {.summary = "A device's own offline report: events by state, waiting ones, batches",
              .tag = "sync",
              .response_schema = kReportSchema},
             [&sync](const RequestContext&, Gate& gate) -> Result<Response> {
               auto report = sync.OwnReport(gate.caller);
               if (!report.ok()) return std::move(report).error();
               return http::JsonResponse(HttpStatus::ok, DeviceReportJson(*report));
             });
}

void AddStaffRoutes(http::Router& router, identity::IdentityHttpContext& context, Sync& sync) {
  AddGuarded(router, context, http::Verb::get, "/api/v1/sync/devices/{id}/report",
             "getDeviceSyncReport", kStaffReadRight,
             {.summary = "Offline report of one device in one's scope",
              .tag = "sync",
              .response_schema = kReportSchema,
              .errors = {{404, "Not in scope"}}},
             [&sync](const RequestContext& request, Gate& gate) -> Result<Response> {
               auto id = http::PositiveId(request.Param("id"), "device id");
               if (!id.ok()) return std::move(id).error();
               auto report = sync.DeviceReportOf(gate.caller, *id);
               if (!report.ok()) return std::move(report).error();
               return http::JsonResponse(HttpStatus::ok, DeviceReportJson(*report));
             });
  AddGuarded(router, context, http::Verb::get, "/api/v1/sync/organisations/{id}/report",
             "getOrganisationSyncReport", kStaffReadRight,
             {.summary = "Offline report of every device of an organisation and below",
              .tag = "sync",
              .response_schema = object{{"type", "object"}},
              .errors = {{404, "Not in scope"}}},
             [&sync](const RequestContext& request, Gate& gate) -> Result<Response> {
               auto id = http::PositiveId(request.Param("id"), "organisation id");
               if (!id.ok()) return std::move(id).error();
               auto report = sync.OrganisationReport(gate.caller, *id);
               if (!report.ok()) return std::move(report).error();
               object states;
               for (const auto& [state, count] : report->events_by_state) states[state] = count;
               array devices;
               for (const DeviceReport& device : report->devices)
                 devices.push_back(DeviceReportJson(device));
               return http::JsonResponse(HttpStatus::ok,
                                         object{{"organisation_id", report->organisation_id},
                                                {"events_by_state", std::move(states)},
                                                {"devices", std::move(devices)}});
             });
  AddGuarded(router, context, http::Verb::post, "/api/v1/sync/events/{id}/abandonment",
             "abandonSyncEvent", kStaffManageRight,
             {.summary = "Give up a waiting offline event (kept, with the reason)",
              .tag = "sync",
              .request_schema = kReasonSchema,
              .response_schema = kOutcomeSchema,
              .errors = {{404, "Not in scope"}, {409, "event_not_waiting"}, {422, "No reason"}}},
             [&sync](const RequestContext& request, Gate& gate) -> Result<Response> {
               auto id = http::PositiveId(request.Param("id"), "event id");
               if (!id.ok()) return std::move(id).error();
               auto body = http::ParseJsonObjectBody(*request.request);
               if (!body.ok()) return std::move(body).error();
               JsonReader reader(*body);
               const std::string reason = reader.RequiredString("reason", {1, kReasonLengthMax});
               GUICHET_TRY_STATUS(reader.Finish());
               auto event = sync.Abandon(gate.caller, *id, reason);
               if (!event.ok()) return std::move(event).error();
               return http::JsonResponse(HttpStatus::ok, EventOutcomeJson(*event));
             });
}

}  // namespace

void AddSyncRoutes(http::Router& router, identity::IdentityHttpContext& context, Sync& sync) {
  AddDeviceRoutes(router, context, sync);
  AddStaffRoutes(router, context, sync);
}

}  // namespace guichet::sync
