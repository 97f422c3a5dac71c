// Thin adapters over OfflineReports (offline.h).
#include "modules/wallet/offline_http.h"

#include <boost/json/array.hpp>

#include "platform/http/json.h"
#include "platform/http/problem.h"
#include "platform/http/request.h"

namespace guichet::wallet {
namespace {

using boost::json::array;
using boost::json::object;
using http::HttpStatus;
using http::RequestContext;
using http::Response;
using identity::Gate;

constexpr std::string_view kTag = "wallet";

}  // namespace

void AddOfflineRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      OfflineReports& reports) {
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/points/{id}/offline-report",
      "getPointOfflineReport", right::kPointsRead,
      {.summary = "What the point's device uploaded offline: events by state, latest batches, and "
                  "the payments awaiting funds (amount, holder, support, attempts, next try)",
       .tag = std::string(kTag),
       .errors = {{404, "point_not_found"}}},
      [&reports](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "point id");
        if (!id.ok()) return std::move(id).error();
        auto report = reports.PointReport(gate.caller, *id);
        if (!report.ok()) return std::move(report).error();
        return http::JsonResponse(HttpStatus::ok, PointOfflineReportJson(*report));
      });
  identity::AddGuarded(
      router, context, http::Verb::get, "/api/v1/wallet/merchants/{id}/awaiting-funds",
      "listMerchantAwaitingFunds", right::kPointsRead,
      {.summary = "The merchant's offline payments awaiting the holder's funds, oldest first",
       .tag = std::string(kTag),
       .errors = {{404, "merchant_not_found"}}},
      [&reports](const RequestContext& request, Gate& gate) -> Result<Response> {
        auto id = http::PositiveId(request.Param("id"), "merchant id");
        if (!id.ok()) return std::move(id).error();
        auto list = reports.AwaitingFunds(gate.caller, *id);
        if (!list.ok()) return std::move(list).error();
        array items;
        for (const AwaitingPayment& payment : *list) items.push_back(AwaitingPaymentJson(payment));
        return http::JsonResponse(HttpStatus::ok, object{{"payments", std::move(items)}});
      });
}

}  // namespace guichet::wallet
