// The reconciliation of reconciliation_calc.h: validation, matching on the point's
// transaction id, totals per side, and the XML and PDF reports.
#include "modules/wallet/reconciliation_calc.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "modules/wallet/report_format.h"
#include "platform/base/markup.h"
#include "platform/documents/pdf.h"

namespace guichet::wallet {
namespace {

constexpr std::string_view kOperations[] = {"debit", "load", "cash_reload", "cancel"};
constexpr std::string_view kStates[] = {"pending", "acknowledged", "refused",       "voided",
                                        "expired", "cancelled",    "awaiting_funds"};

bool OneOf(std::string_view value, const auto& names) {
  return std::find(std::begin(names), std::end(names), value) != std::end(names);
}

Error Invalid(std::string pointer, std::string message) {
  return {ErrorKind::kValidation,
          "reconciliation_input_invalid",
          "The reconciliation cannot be made: " + message,
          {{std::move(pointer), std::move(message)}}};
}

Status ValidateSide(const ReconciliationInput& input,
                    const std::vector<ReconciliationTransaction>& side, std::string_view name) {
  if (side.size() > kReconciliationItemsMax)
    return Invalid(fmt::format("/{}", name), "too many transactions");
  std::set<std::string_view> ids;
  for (size_t i = 0; i < side.size(); ++i) {
    const ReconciliationTransaction& t = side[i];
    const auto at = [&](std::string_view field) {
      return fmt::format("/{}/{}/{}", name, i, field);
    };
    if (t.point_txn_id.empty() || t.point_txn_id.size() > kPointTransactionIdLengthMax) {
      return Invalid(at("point_txn_id"), "a transaction id must have 1 to 64 characters");
    }
    if (!ids.insert(t.point_txn_id).second)
      return Invalid(at("point_txn_id"), "a transaction is listed twice");
    if (!OneOf(t.operation, kOperations)) return Invalid(at("operation"), "unknown operation");
    if (!OneOf(t.state, kStates)) return Invalid(at("state"), "unknown state");
    if (t.counter.empty()) return Invalid(at("counter"), "a transaction has no counter");
    if (t.amount <= 0) return Invalid(at("amount"), "an amount must be positive");
    if (t.at_ms < input.range_start_ms || t.at_ms >= input.range_end_ms) {
      return Invalid(at("at_ms"), "a transaction lies outside the range");
    }
  }
  return OkStatus();
}

void SortByTime(std::vector<ReconciliationTransaction>& list) {
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return std::tie(a.at_ms, a.point_txn_id) < std::tie(b.at_ms, b.point_txn_id);
  });
}

std::vector<ReconciliationTotal> Totals(const std::vector<ReconciliationTransaction>& side) {
  std::map<std::pair<std::string, std::string>, ReconciliationTotal> totals;
  for (const ReconciliationTransaction& t : side) {
    ReconciliationTotal& total = totals[{t.counter, t.operation}];
    total.counter = t.counter;
    total.operation = t.operation;
    total.count += 1;
    if (t.state == "acknowledged") {
      total.acknowledged_count += 1;
      total.acknowledged_amount += t.amount;
    }
  }
  std::vector<ReconciliationTotal> out;
  for (auto& [key, total] : totals) out.push_back(std::move(total));
  return out;
}

}  // namespace

Result<ReconciliationReport> Reconcile(const ReconciliationInput& input) {
  if (input.range_end_ms <= input.range_start_ms ||
      input.range_end_ms - input.range_start_ms > kReconciliationRangeMax_ms) {
    return Invalid("/range_end_ms", "the range must be non-empty and at most 31 days");
  }
  const bool id_ok =
      !input.report_id.empty() && input.report_id.size() <= kPointTransactionIdLengthMax &&
      std::all_of(input.report_id.begin(), input.report_id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (!id_ok)
    return Invalid("/report_id", "the report id must be 1 to 64 letters, digits, - _ or .");
  GUICHET_TRY_STATUS(ValidateSide(input, input.point_side, "point_side"));
  GUICHET_TRY_STATUS(ValidateSide(input, input.service_side, "service_side"));

  ReconciliationReport report;
  report.input = input;
  SortByTime(report.input.point_side);
  SortByTime(report.input.service_side);
  std::map<std::string_view, const ReconciliationTransaction*> service;
  for (const auto& t : report.input.service_side) service[t.point_txn_id] = &t;
  std::set<std::string_view> seen;
  for (const ReconciliationTransaction& at_point : report.input.point_side) {
    const auto found = service.find(at_point.point_txn_id);
    if (found == service.end()) {
      report.missing_at_service.push_back(at_point);
      continue;
    }
    seen.insert(at_point.point_txn_id);
    const ReconciliationTransaction& at_service = *found->second;
    ReconciliationPair pair{at_point, at_service, {}};
    if (at_point.operation != at_service.operation) pair.differences.push_back("operation");
    if (at_point.counter != at_service.counter) pair.differences.push_back("counter");
    if (at_point.amount != at_service.amount) pair.differences.push_back("amount");
    if (at_point.state != at_service.state) pair.differences.push_back("state");
    (pair.differences.empty() ? report.matched : report.differing).push_back(std::move(pair));
  }
  for (const ReconciliationTransaction& t : report.input.service_side) {
    if (!seen.contains(t.point_txn_id)) report.missing_at_point.push_back(t);
  }
  report.point_totals = Totals(report.input.point_side);
  report.service_totals = Totals(report.input.service_side);
  // Every transaction of each side is in exactly one list.
  GUICHET_ASSERT(report.matched.size() + report.differing.size() +
                     report.missing_at_service.size() ==
                 report.input.point_side.size());
  GUICHET_ASSERT(report.matched.size() + report.differing.size() + report.missing_at_point.size() ==
                 report.input.service_side.size());
  return report;
}

// --- XML -------------------------------------------------------------------------------------

namespace {

std::string TransactionXml(std::string_view element, const ReconciliationTransaction& t) {
  return fmt::format(
      "<{} pointTxnId=\"{}\" operation=\"{}\" counter=\"{}\" amount=\"{}\" state=\"{}\" "
      "at=\"{}\"/>\n",
      element, EscapeMarkup(t.point_txn_id), t.operation, EscapeMarkup(t.counter), t.amount,
      t.state, report::IsoUtc(t.at_ms));
}

std::string TotalsXml(std::string_view element, const std::vector<ReconciliationTotal>& totals,
                      size_t transactions) {
  std::string xml = fmt::format("<{} transactions=\"{}\">\n", element, transactions);
  for (const ReconciliationTotal& t : totals) {
    xml += fmt::format(
        "<Total counter=\"{}\" operation=\"{}\" acknowledgedCount=\"{}\" acknowledgedAmount=\"{}\" "
        "count=\"{}\"/>\n",
        EscapeMarkup(t.counter), t.operation, t.acknowledged_count, t.acknowledged_amount, t.count);
  }
  return xml + fmt::format("</{}>\n", element);
}

std::string ListXml(std::string_view element, const std::vector<ReconciliationTransaction>& list) {
  std::string xml = fmt::format("<{} count=\"{}\">\n", element, list.size());
  for (const auto& t : list) xml += TransactionXml("Transaction", t);
  return xml + fmt::format("</{}>\n", element);
}

}  // namespace

std::string ReconciliationXml(const ReconciliationReport& r, int64_t generated_at_ms) {
  std::string xml = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ReconciliationReport xmlns=\"urn:guichet:wallet:reconciliation-report:1\" id=\"{}\" "
      "generatedAt=\"{}\" reconciled=\"{}\">\n",
      EscapeMarkup(r.input.report_id), report::IsoUtc(generated_at_ms), r.reconciled());
  xml += fmt::format("<Point id=\"{}\" label=\"{}\" merchant=\"{}\"/>\n", r.input.point_id,
                     EscapeMarkup(r.input.point_label), EscapeMarkup(r.input.merchant_name));
  xml += fmt::format("<Range start=\"{}\" end=\"{}\"/>\n", report::IsoUtc(r.input.range_start_ms),
                     report::IsoUtc(r.input.range_end_ms));
  xml += TotalsXml("PointTotals", r.point_totals, r.input.point_side.size());
  xml += TotalsXml("ServiceTotals", r.service_totals, r.input.service_side.size());
  std::vector<ReconciliationTransaction> matched;
  for (const auto& pair : r.matched) matched.push_back(pair.service);
  xml += ListXml("Matched", matched);
  xml += fmt::format("<Differing count=\"{}\">\n", r.differing.size());
  for (const ReconciliationPair& pair : r.differing) {
    xml += "<Pair>\n";
    for (const std::string& field : pair.differences)
      xml += fmt::format("<Difference>{}</Difference>\n", field);
    xml += TransactionXml("AtPoint", pair.point) + TransactionXml("AtService", pair.service) +
           "</Pair>\n";
  }
  xml += "</Differing>\n";
  xml += ListXml("MissingAtService", r.missing_at_service);
  xml += ListXml("MissingAtPoint", r.missing_at_point);
  return xml + "</ReconciliationReport>\n";
}

// --- PDF -------------------------------------------------------------------------------------

namespace {

using documents::Align;
using documents::PdfFlow;
using documents::TableColumn;
using documents::TableRow;

std::string OperationFr(std::string_view op) {
  if (op == "debit") return "débit";
  if (op == "cancel") return "annulation";
  if (op == "cash_reload") return "recharge espèces";
  return "chargement";
}

std::string StateFr(std::string_view state) {
  if (state == "acknowledged") return "acquittée";
  if (state == "pending") return "en attente";
  if (state == "refused") return "refusée";
  if (state == "voided") return "abandonnée";
  if (state == "expired") return "expirée";
  if (state == "cancelled") return "annulée";
  return "en attente de fonds";
}

std::string FieldFr(std::string_view field) {
  if (field == "operation") return "opération";
  if (field == "counter") return "compteur";
  if (field == "amount") return "montant";
  return "état";
}

const std::vector<TableColumn>& TransactionColumns() {
  static const std::vector<TableColumn> columns = {
      {"Date (Paris)", 95}, {"Transaction du point", 115},  {"Opération", 80},
      {"Compteur", 55},     {"Montant", 75, Align::kRight}, {"État", 91}};
  return columns;
}

TableRow TransactionRow(const ReconciliationTransaction& t) {
  return {{report::DateTimeParis(t.at_ms), t.point_txn_id, OperationFr(t.operation), t.counter,
           report::QuantityFr(t.counter, t.amount), StateFr(t.state)}};
}

void TransactionList(PdfFlow& flow, std::string_view title,
                     const std::vector<ReconciliationTransaction>& list) {
  flow.Heading(fmt::format("{} ({})", title, list.size()));
  if (list.empty()) {
    flow.Paragraph("Aucune.");
    return;
  }
  std::vector<TableRow> rows;
  for (const auto& t : list) rows.push_back(TransactionRow(t));
  flow.Table(TransactionColumns(), rows);
}

void TotalsTable(PdfFlow& flow, const ReconciliationReport& r) {
  // One row per counter and operation seen on either side.
  std::map<std::pair<std::string, std::string>, std::pair<ReconciliationTotal, ReconciliationTotal>>
      rows;
  for (const auto& t : r.point_totals) rows[{t.counter, t.operation}].first = t;
  for (const auto& t : r.service_totals) rows[{t.counter, t.operation}].second = t;
  std::vector<TableRow> table;
  for (const auto& [key, totals] : rows) {
    const auto& [point, service] = totals;
    const bool same = point.acknowledged_amount == service.acknowledged_amount &&
                      point.acknowledged_count == service.acknowledged_count &&
                      point.count == service.count;
    table.push_back(
        {{key.first, OperationFr(key.second),
          fmt::format("{} / {}", point.acknowledged_count, point.count),
          report::QuantityFr(key.first, point.acknowledged_amount),
          fmt::format("{} / {}", service.acknowledged_count, service.count),
          report::QuantityFr(key.first, service.acknowledged_amount), same ? "oui" : "non"},
         !same});
  }
  // "acq." = acknowledged (paid) transactions, then all transactions whatever their state.
  flow.Table({{"Compteur", 55},
              {"Opération", 85},
              {"Point acq./tot.", 85, Align::kRight},
              {"Point montant", 85, Align::kRight},
              {"Service acq./tot.", 85, Align::kRight},
              {"Service montant", 85, Align::kRight},
              {"Égal", 26, Align::kCenter}},
             table);
  flow.Paragraph(
      "acq./tot. : transactions acquittées / toutes, quel que soit leur état ; "
      "montant : somme des transactions acquittées, dans l’unité du compteur.");
}

}  // namespace

std::string ReconciliationPdf(const ReconciliationReport& r, int64_t generated_at_ms) {
  const std::string title =
      fmt::format("Rapprochement {} — point {}", r.input.report_id, r.input.point_id);
  documents::PdfDocument document(
      {title, "Guichet", "Rapprochement point de vente / service", generated_at_ms});
  PdfFlow flow(document);
  flow.Title(fmt::format("Rapprochement {}", r.input.report_id));
  flow.Fields({{"Point de vente", fmt::format("{} — {}", r.input.point_id, r.input.point_label)},
               {"Commerçant", r.input.merchant_name},
               {"Période", fmt::format("du {} au {}", report::DateTimeParis(r.input.range_start_ms),
                                       report::DateTimeParis(r.input.range_end_ms))},
               {"Édité le", report::DateTimeParis(generated_at_ms)},
               {"Résultat", r.reconciled() ? "concordant" : "écarts à examiner"}});
  flow.Fields({{"Transactions du point", std::to_string(r.input.point_side.size())},
               {"Transactions du service", std::to_string(r.input.service_side.size())},
               {"Concordantes", std::to_string(r.matched.size())},
               {"Divergentes", std::to_string(r.differing.size())},
               {"Absentes du service", std::to_string(r.missing_at_service.size())},
               {"Absentes du point", std::to_string(r.missing_at_point.size())}});
  flow.Heading("Totaux des deux côtés");
  TotalsTable(flow, r);
  flow.Heading(fmt::format("Transactions divergentes ({})", r.differing.size()));
  if (r.differing.empty()) {
    flow.Paragraph("Aucune.");
  } else {
    std::vector<TableRow> rows;
    for (const ReconciliationPair& pair : r.differing) {
      std::string fields;
      for (const auto& field : pair.differences)
        fields += (fields.empty() ? "" : ", ") + FieldFr(field);
      TableRow point = TransactionRow(pair.point);
      point.cells[1] = "point : " + pair.point.point_txn_id;
      TableRow service = TransactionRow(pair.service);
      service.cells[1] = "service, écart : " + fields;
      point.rule_above = true;
      rows.push_back(std::move(point));
      rows.push_back(std::move(service));
    }
    flow.Table(TransactionColumns(), rows);
  }
  TransactionList(flow, "Absentes du service (connues du point seulement)", r.missing_at_service);
  TransactionList(flow, "Absentes du point (connues du service seulement)", r.missing_at_point);
  std::vector<ReconciliationTransaction> matched;
  for (const auto& pair : r.matched) matched.push_back(pair.service);
  TransactionList(flow, "Transactions concordantes", matched);
  document.Attach({fmt::format("reconciliation-{}.xml", r.input.report_id),
                   "Rapprochement (XML, docs/reconciliation-report.xsd)", "application/xml", "Data",
                   ReconciliationXml(r, generated_at_ms)});
  return document.Write();
}

}  // namespace guichet::wallet
