// Routes of fraud detection: thin adapters over fraud.h.
#include "modules/wallet/fraud_http.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>

#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::JsonReader;
using http::RequestContext;
using http::Response;
using identity::Gate;

constexpr std::string_view kTag = "wallet";

Result<int64_t> OrganisationParam(const RequestContext& request) {
  auto text = http::QueryParameter(*request.request, "organisation_id");
  if (!text) {
    return Error::Invalid("invalid_parameter", "Name the organisation with ?organisation_id=.");
  }
  return http::PositiveId(*text, "organisation id");
}

Result<FraudRuleKind> KindParam(const RequestContext& request) {
  auto kind = ParseFraudRuleKind(request.Param("kind"));
  if (!kind) {
    return Error{ErrorKind::kNotFound, "fraud_rule_unknown",
                 "Rules are velocity, refusals, distance, amount and qr_replay.", {}};
  }
  return *kind;
}

object RuleSchema() {
  object props{{"enabled", object{{"type", "boolean"}}},
               {"count", object{{"type", "integer"}, {"minimum", 1}}},
               {"window_s", object{{"type", "integer"}, {"minimum", 1}}},
               {"amount_cents", object{{"type", "integer"}, {"minimum", 1}}},
               {"site_depth", object{{"type", "integer"}, {"minimum", 1}}},
               {"action", object{{"type", "string"}, {"enum", array{"alert", "oppose"}}}}};
  return object{{"type", "object"}, {"properties", std::move(props)}};
}

// The body of a rule: fields the kind does not use are refused; missing ones keep the rule in
// force there now (so changing only the action is one field).
Result<FraudRule> ParseRule(const RequestContext& request, FraudRule rule) {
  auto body = http::ParseJsonObjectBody(*request.request);
  if (!body.ok()) return std::move(body).error();
  JsonReader reader(*body);
  if (auto enabled = reader.OptionalBool("enabled")) rule.enabled = *enabled;
  const bool counted = rule.kind == FraudRuleKind::kVelocity ||
                       rule.kind == FraudRuleKind::kRefusals ||
                       rule.kind == FraudRuleKind::kQrReplay;
  if (counted) {
    if (auto count = reader.OptionalInteger("count", 1, kFraudCountMax)) rule.count = *count;
  }
  if (rule.kind != FraudRuleKind::kAmount) {
    if (auto window = reader.OptionalInteger("window_s", 1, kFraudWindowSMax))
      rule.window_s = *window;
  }
  if (rule.kind == FraudRuleKind::kAmount) {
    if (auto amount = reader.OptionalInteger("amount_cents", 1, kFraudAmountCentsMax))
      rule.amount_cents = *amount;
  }
  if (rule.kind == FraudRuleKind::kDistance) {
    if (auto depth = reader.OptionalInteger("site_depth", 1, kFraudSiteDepthMax))
      rule.site_depth = *depth;
  }
  if (auto action = reader.OptionalString("action", {1, 16})) {
    if (*action == "oppose") {
      rule.action = FraudAction::kOppose;
    } else if (*action == "alert") {
      rule.action = FraudAction::kAlert;
    } else {
      return Error{ErrorKind::kValidation,
                   "validation_failed",
                   "The action is alert or oppose.",
                   {{"/action", "alert or oppose"}}};
    }
  }
  GUICHET_TRY_STATUS(reader.Finish());  // refuses the fields this kind does not have
  return rule;
}

}  // namespace

void AddFraudRoutes(http::Router& router, identity::IdentityHttpContext& context, Fraud& fraud) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/fraud/rules", "listFraudRules",
      right::kFraudRead,
      {.summary = "The fraud rules in force at an organisation (?organisation_id=), one per kind, "
                  "each with where it is set (null: the built-in default)",
       .tag = std::string(kTag),
       .errors = {{400, "invalid_parameter"}, {404, "organisation_not_found"}}},
      [&fraud](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto org = OrganisationParam(request);
        if (!org.ok()) return std::move(org).error();
        auto rules = fraud.Rules(gate.caller, *org);
        if (!rules.ok()) return std::move(rules).error();
        array items;
        for (const FraudRule& rule : *rules) items.push_back(FraudRuleJson(rule));
        return http::JsonResponse(HttpStatus::ok, object{{"rules", std::move(items)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::put, "/api/v1/wallet/fraud/rules/{kind}", "setFraudRule",
      right::kFraudManage,
      {.summary = "Set the organisation's own rule of a kind (?organisation_id=); fields left out "
                  "keep the value in force there; it overrides the rules above",
       .tag = std::string(kTag),
       .request_schema = RuleSchema(),
       .errors = {{400, "invalid_parameter"},
                  {404, "organisation_not_found, fraud_rule_unknown"},
                  {422, "validation_failed"}}},
      [&fraud](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto kind = KindParam(request);
        if (!kind.ok()) return std::move(kind).error();
        auto org = OrganisationParam(request);
        if (!org.ok()) return std::move(org).error();
        auto current = fraud.Rules(gate.caller, *org);
        if (!current.ok()) return std::move(current).error();
        auto rule = ParseRule(request, (*current)[static_cast<size_t>(*kind)]);
        if (!rule.ok()) return std::move(rule).error();
        auto stored = fraud.SetRule(gate.caller, *org, *rule);
        if (!stored.ok()) return std::move(stored).error();
        return http::JsonResponse(HttpStatus::ok, FraudRuleJson(*stored));
      });
  identity::AddGuarded(
      router, context, http::Verb::delete_, "/api/v1/wallet/fraud/rules/{kind}", "clearFraudRule",
      right::kFraudManage,
      {.summary = "Remove the organisation's own rule of a kind: the one above applies again",
       .tag = std::string(kTag),
       .success_status = 204,
       .errors = {{400, "invalid_parameter"},
                  {404, "organisation_not_found, fraud_rule_unknown, fraud_rule_not_set"}}},
      [&fraud](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto kind = KindParam(request);
        if (!kind.ok()) return std::move(kind).error();
        auto org = OrganisationParam(request);
        if (!org.ok()) return std::move(org).error();
        GUICHET_TRY_STATUS(fraud.ClearRule(gate.caller, *org, *kind));
        return Response(HttpStatus::no_content, 11);
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/fraud/alerts", "listFraudAlerts",
      right::kFraudRead,
      {.summary = "Fraud alerts over the caller's organisations, newest first (?state=open|closed|"
                  "all, default open; ?limit=, at most 500)",
       .tag = std::string(kTag),
       .errors = {{422, "validation_failed"}}},
      [&fraud](const RequestContext& request, Gate& gate) -> Result<Response> {
        const std::string state = http::QueryParameter(*request.request, "state").value_or("open");
        int64_t limit = 100;
        if (auto text = http::QueryParameter(*request.request, "limit")) {
          auto parsed = http::PositiveId(*text, "limit");
          if (!parsed.ok()) return std::move(parsed).error();
          limit = *parsed;
        }
        auto alerts = fraud.Alerts(gate.caller, state, limit);
        if (!alerts.ok()) return std::move(alerts).error();
        array items;
        for (const FraudAlert& alert : *alerts) items.push_back(FraudAlertJson(alert));
        return http::JsonResponse(HttpStatus::ok, object{{"alerts", std::move(items)}});
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/fraud/alerts/{id}", "getFraudAlert",
      right::kFraudRead,
      {.summary = "One fraud alert with what its rule saw",
       .tag = std::string(kTag),
       .errors = {{404, "fraud_alert_not_found"}}},
      [&fraud](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "alert id");
        if (!id.ok()) return std::move(id).error();
        auto alert = fraud.GetAlert(gate.caller, *id);
        if (!alert.ok()) return std::move(alert).error();
        return http::JsonResponse(HttpStatus::ok, FraudAlertJson(*alert));
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/fraud/alerts/{id}/closure",
      "closeFraudAlert", right::kFraudManage,
      {.summary = "Close an alert with a note on what was found (an opposed support stays "
                  "opposed: reactivate it on its own)",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"},
                                {"properties", object{{"note", object{{"type", "string"}}}}},
                                {"required", array{"note"}}},
       .errors = {{404, "fraud_alert_not_found"},
                  {409, "fraud_alert_closed"},
                  {422, "validation_failed"}}},
      [&fraud](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "alert id");
        if (!id.ok()) return std::move(id).error();
        auto body = http::ParseJsonObjectBody(*request.request);
        if (!body.ok()) return std::move(body).error();
        JsonReader reader(*body);
        const std::string note = reader.RequiredString("note", {1, kFraudNoteLengthMax});
        GUICHET_TRY_STATUS(reader.Finish());
        auto alert = fraud.CloseAlert(gate.caller, *id, note);
        if (!alert.ok()) return std::move(alert).error();
        return http::JsonResponse(HttpStatus::ok, FraudAlertJson(*alert));
      });
  identity::AddGuarded(
      router, context, http::Verb::post, "/api/v1/wallet/fraud/scan", "scanFraud",
      right::kFraudManage,
      {.summary = "Evaluate the rules now over what points did since the last scan (the job "
                  "does it every wallet_fraud_scan_interval_s); alerts appear in the list",
       .tag = std::string(kTag),
       .request_schema = object{{"type", "object"}},
       .success_status = 204},
      [&fraud](const RequestContext&, Gate&) -> Result<Response> {
        auto report = fraud.Scan();
        if (!report.ok()) return std::move(report).error();
        return Response(HttpStatus::no_content, 11);
      });
}

}  // namespace guichet::wallet
