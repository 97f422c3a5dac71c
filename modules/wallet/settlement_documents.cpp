// The documents made from a settlement statement (settlement_calc.h): XML, PDF with the XML
// embedded, the accounting journal in CSV and the SEPA credit transfers. They only lay out
// figures the calculation made; none adds anything up on its own.
#include <fmt/format.h>

#include <cctype>
#include <map>
#include <utility>

#include "modules/wallet/report_format.h"
#include "modules/wallet/settlement_calc.h"
#include "platform/base/markup.h"
#include "platform/documents/pdf.h"

namespace guichet::wallet {
namespace {

using report::Decimal;
using report::EurosFr;

std::string AmountsAttributes(const SettlementAmounts& a) {
  return fmt::format(
      "debits=\"{}\" cancellations=\"{}\" commission=\"{}\" cashReloads=\"{}\" fees=\"{}\" "
      "net=\"{}\" transactions=\"{}\"",
      Decimal(a.debits_cents), Decimal(a.cancellations_cents), Decimal(a.commission_cents),
      Decimal(a.cash_reloads_cents), Decimal(a.fees_cents), Decimal(a.net_cents), a.transactions);
}

// The fee schedule line a fee comes from (per_run, per_debit, per_point_month), when it does.
std::string FeeKindAttribute(const SettlementFee& fee) {
  return fee.kind.empty() ? std::string() : fmt::format(" kind=\"{}\"", fee.kind);
}

std::string CounterXml(const SettlementCounterLine& c) {
  return fmt::format(
      "<Counter code=\"{}\" centsPerToken=\"{}\" debits=\"{}\" cancellations=\"{}\" loads=\"{}\" "
      "cashReloads=\"{}\"/>\n",
      EscapeMarkup(c.counter), c.cents_per_token, c.debits, c.cancellations, c.loads,
      c.cash_reloads);
}

std::string IsoDate(banking::Date day) { return banking::FormatDate(day); }

std::string Percent(int64_t basis_points) {
  return fmt::format("{},{:02d} %", basis_points / 100, basis_points % 100);
}

std::string PeriodFr(const SettlementStatement& s) {
  // The period is [start, end): its last day is the day of end − 1 ms.
  return fmt::format("du {} au {}", report::DateFr(banking::ParisDate(s.period_start_ms)),
                     report::DateFr(banking::ParisDate(s.period_end_ms - 1)));
}

std::string GroupedIban(std::string_view iban) {
  std::string out;
  for (size_t i = 0; i < iban.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.push_back(' ');
    out.push_back(iban[i]);
  }
  return out;
}

std::string OperationFr(SettlementOperation op) {
  switch (op) {
    case SettlementOperation::kDebit:
      return "débit";
    case SettlementOperation::kCancel:
      return "annulation";
    case SettlementOperation::kCashReload:
      return "recharge espèces";
    case SettlementOperation::kLoad:
      return "chargement";
  }
  return "";
}

using documents::Align;
using documents::PdfFlow;
using documents::TableColumn;
using documents::TableRow;

std::vector<std::string> AmountCells(const SettlementAmounts& a) {
  return {std::to_string(a.transactions),
          EurosFr(a.debits_cents),
          EurosFr(-a.cancellations_cents),
          EurosFr(-a.commission_cents),
          EurosFr(-a.cash_reloads_cents),
          EurosFr(-a.fees_cents),
          EurosFr(a.net_cents)};
}

// Content width is 511 pt: a label column, a count and six amount columns.
std::vector<TableColumn> AmountColumns(std::string first) {
  std::vector<TableColumn> columns = {{std::move(first), 101}, {"Nb", 30, Align::kRight}};
  for (const char* title : {"Débits", "Annulations", "Commission", "Espèces", "Frais", "Net"}) {
    columns.push_back({title, 63, Align::kRight});
  }
  return columns;
}

TableRow AmountRow(std::string label, const SettlementAmounts& a, bool total = false) {
  TableRow row{{std::move(label)}, total, total};
  for (std::string& cell : AmountCells(a)) row.cells.push_back(std::move(cell));
  return row;
}

void CountersTable(PdfFlow& flow, const std::vector<SettlementCounterLine>& counters) {
  if (counters.empty()) return;
  std::vector<TableColumn> columns = {{"Compteur", 91},
                                      {"Valeur unitaire", 80, Align::kRight},
                                      {"Débits", 85, Align::kRight},
                                      {"Annulations", 85, Align::kRight},
                                      {"Chargements", 85, Align::kRight},
                                      {"Espèces", 85, Align::kRight}};
  std::vector<TableRow> rows;
  for (const SettlementCounterLine& c : counters) {
    const bool euros = c.counter == kEuroCounter;
    rows.push_back(
        {{c.counter,
          euros                    ? "—"
          : c.cents_per_token == 0 ? "non valorisé"
                                   : EurosFr(c.cents_per_token),
          report::QuantityFr(c.counter, c.debits), report::QuantityFr(c.counter, c.cancellations),
          report::QuantityFr(c.counter, c.loads), report::QuantityFr(c.counter, c.cash_reloads)}});
  }
  flow.Table(columns, rows);
}

void FeesTable(PdfFlow& flow, const std::vector<SettlementFee>& fees) {
  if (fees.empty()) return;
  std::vector<TableRow> rows;
  int64_t total = 0;
  for (const SettlementFee& fee : fees) {
    rows.push_back({{fee.label, EurosFr(fee.amount_cents)}});
    total += fee.amount_cents;
  }
  rows.push_back({{"Total des frais", EurosFr(total)}, true, true});
  flow.Table({{"Frais", 411}, {"Montant", 100, Align::kRight}}, rows);
}

void PointSection(PdfFlow& flow, const SettlementPointStatement& point) {
  flow.Heading(fmt::format("Point de vente {} — {}", point.point.point_id, point.point.label));
  flow.Fields({{"Emplacement", point.point.location}, {"Type", point.point.type}});
  flow.Space(4);
  std::vector<TableRow> days;
  for (const SettlementDay& day : point.days)
    days.push_back(AmountRow(report::DateFr(day.day), day.amounts));
  if (!point.fees.empty()) {
    SettlementAmounts fees;
    for (const SettlementFee& fee : point.fees) fees.fees_cents += fee.amount_cents;
    fees.net_cents = -fees.fees_cents;
    days.push_back(AmountRow("Frais du point", fees));
  }
  days.push_back(AmountRow("Total du point", point.totals, true));
  flow.Table(AmountColumns("Jour"), days);
  FeesTable(flow, point.fees);
  CountersTable(flow, point.counters);
  std::vector<TableRow> items;
  for (const SettlementItem& item : point.items) {
    items.push_back(
        {{report::DateTimeParis(item.acknowledged_at_ms), std::to_string(item.transaction_id),
          OperationFr(item.operation), item.counter,
          report::QuantityFr(item.counter, item.operation == SettlementOperation::kCancel
                                               ? -item.amount
                                               : item.amount)}});
  }
  if (!items.empty()) {
    flow.Table({{"Acquittée le (heure de Paris)", 131},
                {"Transaction", 100, Align::kRight},
                {"Opération", 110},
                {"Compteur", 70},
                {"Montant", 100, Align::kRight}},
               items);
  }
}

void SummarySection(PdfFlow& flow, const SettlementStatement& s) {
  flow.Heading("Récapitulatif");
  const SettlementAmounts& t = s.totals;
  std::vector<TableRow> rows = {
      {{"Débits acquittés", EurosFr(t.debits_cents)}},
      {{"Annulations", EurosFr(-t.cancellations_cents)}},
      {{fmt::format("Commission ({} des débits nets)", Percent(s.commission_basis_points)),
        EurosFr(-t.commission_cents)}},
      {{"Recharges en espèces encaissées aux points", EurosFr(-t.cash_reloads_cents)}},
      {{"Frais", EurosFr(-t.fees_cents)}},
      {{"Solde de la période", EurosFr(t.net_cents)}, true, true},
      {{"Montant dû reporté du relevé précédent", EurosFr(-s.brought_forward_cents)}},
      {{"Net", EurosFr(s.net_cents)}, true, true},
      {{"Virement au commerçant", EurosFr(s.payable_cents)}, true},
      {{"Reste dû par le commerçant, reporté au relevé suivant", EurosFr(s.carried_forward_cents)}},
  };
  flow.Table({{"", 391}, {"Montant", 120, Align::kRight}}, rows);
  flow.Heading("Par point de vente");
  std::vector<TableRow> points;
  for (const SettlementPointStatement& p : s.points) {
    points.push_back(AmountRow(fmt::format("{} {}", p.point.point_id, p.point.label), p.totals));
  }
  if (!s.merchant_fees.empty()) {
    SettlementAmounts fees;
    for (const SettlementFee& fee : s.merchant_fees) fees.fees_cents += fee.amount_cents;
    fees.net_cents = -fees.fees_cents;
    points.push_back(AmountRow("Frais du commerçant", fees));
  }
  points.push_back(AmountRow("Total", t, true));
  flow.Table(AmountColumns("Point"), points);
  FeesTable(flow, s.merchant_fees);
  // Takings by point type (till, vending machine…), as merchants compare them (W12).
  std::map<std::string, SettlementAmounts> by_type;
  for (const SettlementPointStatement& p : s.points) {
    SettlementAmounts& sum = by_type[p.point.type];
    sum.debits_cents += p.totals.debits_cents;
    sum.cancellations_cents += p.totals.cancellations_cents;
    sum.commission_cents += p.totals.commission_cents;
    sum.cash_reloads_cents += p.totals.cash_reloads_cents;
    sum.fees_cents += p.totals.fees_cents;
    sum.net_cents += p.totals.net_cents;
    sum.transactions += p.totals.transactions;
  }
  if (by_type.size() > 1) {
    flow.Heading("Par type de point");
    std::vector<TableRow> types;
    for (const auto& [type, amounts] : by_type) types.push_back(AmountRow(type, amounts));
    flow.Table(AmountColumns("Type"), types);
  }
  flow.Heading("Par compteur");
  CountersTable(flow, s.counters);
  flow.Paragraph(
      "Les montants en jetons d’un compteur non valorisé sont listés sans être payés. "
      "La commission est calculée une fois sur le total des débits nets de la période "
      "(arrondi au centime le plus proche), puis répartie entre points et jours au plus "
      "fort reste.");
}

void Header(PdfFlow& flow, const SettlementStatement& s, int64_t generated_at_ms) {
  flow.Title(fmt::format("Relevé de règlement {}", s.statement_id));
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Commerçant", s.merchant.name},
      {"Période", PeriodFr(s)},
      {"IBAN", GroupedIban(s.merchant.iban)}};
  if (!s.merchant.bic.empty()) fields.push_back({"BIC", s.merchant.bic});
  fields.push_back({"Édité le", report::DateTimeParis(generated_at_ms)});
  flow.Fields(fields);
}

// "settlement-<id>.xml" with the characters a file name cannot hold (the SEPA set allows '/',
// ':', '?' and spaces) replaced by '-'.
std::string SettlementXmlFileName(std::string_view statement_id) {
  std::string name = "settlement-";
  for (char c : statement_id) {
    const bool safe =
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    name.push_back(safe ? c : '-');
  }
  return name + ".xml";
}

std::string Document(const SettlementStatement& s, int64_t generated_at_ms,
                     const SettlementPointStatement* only) {
  const std::string title =
      only ? fmt::format("Relevé {} — point {}", s.statement_id, only->point.point_id)
           : fmt::format("Relevé de règlement {} — {}", s.statement_id, s.merchant.name);
  documents::PdfDocument document({title, "Guichet", "Relevé de règlement", generated_at_ms});
  PdfFlow flow(document);
  Header(flow, s, generated_at_ms);
  if (only) {
    PointSection(flow, *only);
  } else {
    SummarySection(flow, s);
    for (const SettlementPointStatement& point : s.points) PointSection(flow, point);
  }
  document.Attach({SettlementXmlFileName(s.statement_id),
                   "Relevé de règlement (XML, docs/settlement-statement.xsd)", "application/xml",
                   "Data", SettlementStatementXml(s, generated_at_ms)});
  return document.Write();
}

// --- Journal -----------------------------------------------------------------------------

struct Journal {
  std::string csv = "entry;date;account;label;debit;credit;reference\n";
  int entry = 0;

  static std::string Field(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    return out + "\"";
  }
  // One balanced entry: `amount` from `debit_account` to `credit_account`; a negative amount
  // swaps the sides, zero writes nothing.
  void Entry(banking::Date day, std::string_view debit_account, std::string_view credit_account,
             int64_t amount, std::string_view label, std::string_view reference) {
    if (amount == 0) return;
    if (amount < 0) {
      std::swap(debit_account, credit_account);
      amount = -amount;
    }
    ++entry;
    const std::string date = banking::FormatDate(day);
    csv += fmt::format("{};{};{};{};{};;{}\n", entry, date, debit_account, Field(label),
                       Decimal(amount), Field(reference));
    csv += fmt::format("{};{};{};{};;{};{}\n", entry, date, credit_account, Field(label),
                       Decimal(amount), Field(reference));
  }
};

}  // namespace

std::string FormatEurosFr(int64_t cents) { return EurosFr(cents); }

std::string SettlementStatementXml(const SettlementStatement& s, int64_t generated_at_ms) {
  std::string xml = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<SettlementStatement xmlns=\"urn:guichet:wallet:settlement-statement:1\" id=\"{}\" "
      "generatedAt=\"{}\">\n",
      EscapeMarkup(s.statement_id), report::IsoUtc(generated_at_ms));
  xml += fmt::format("<Merchant organisationId=\"{}\"><Name>{}</Name><Iban>{}</Iban>",
                     s.merchant.organisation_id, EscapeMarkup(s.merchant.name), s.merchant.iban);
  if (!s.merchant.bic.empty()) xml += fmt::format("<Bic>{}</Bic>", s.merchant.bic);
  if (!s.merchant.email.empty())
    xml += fmt::format("<Email>{}</Email>", EscapeMarkup(s.merchant.email));
  xml += "</Merchant>\n";
  xml += fmt::format("<Period start=\"{}\" end=\"{}\"/>\n", report::IsoUtc(s.period_start_ms),
                     report::IsoUtc(s.period_end_ms));
  xml +=
      fmt::format("<CommissionBasisPoints>{}</CommissionBasisPoints>\n", s.commission_basis_points);
  xml += fmt::format("<Totals {}/>\n", AmountsAttributes(s.totals));
  xml += fmt::format(
      "<BroughtForward>{}</BroughtForward>\n<Net>{}</Net>\n<Payable>{}</Payable>\n"
      "<CarriedForward>{}</CarriedForward>\n",
      Decimal(s.brought_forward_cents), Decimal(s.net_cents), Decimal(s.payable_cents),
      Decimal(s.carried_forward_cents));
  for (const SettlementCounterLine& c : s.counters) xml += CounterXml(c);
  for (const SettlementFee& fee : s.merchant_fees) {
    xml += fmt::format("<MerchantFee amount=\"{}\"{}>{}</MerchantFee>\n",
                       Decimal(fee.amount_cents), FeeKindAttribute(fee), EscapeMarkup(fee.label));
  }
  for (const SettlementPointStatement& p : s.points) {
    xml += fmt::format("<Point id=\"{}\" label=\"{}\" location=\"{}\" type=\"{}\">\n",
                       p.point.point_id, EscapeMarkup(p.point.label),
                       EscapeMarkup(p.point.location), EscapeMarkup(p.point.type));
    xml += fmt::format("<Totals {}/>\n", AmountsAttributes(p.totals));
    for (const SettlementDay& day : p.days) {
      xml +=
          fmt::format("<Day {} date=\"{}\"/>\n", AmountsAttributes(day.amounts), IsoDate(day.day));
    }
    for (const SettlementFee& fee : p.fees) {
      xml += fmt::format("<Fee amount=\"{}\"{}>{}</Fee>\n", Decimal(fee.amount_cents),
                         FeeKindAttribute(fee), EscapeMarkup(fee.label));
    }
    for (const SettlementCounterLine& c : p.counters) xml += CounterXml(c);
    for (const SettlementItem& item : p.items) {
      xml += fmt::format(
          "<Item transactionId=\"{}\" operation=\"{}\" counter=\"{}\" amount=\"{}\" "
          "acknowledgedAt=\"{}\"/>\n",
          item.transaction_id, SettlementOperationName(item.operation), EscapeMarkup(item.counter),
          item.amount, report::IsoUtc(item.acknowledged_at_ms));
    }
    xml += "</Point>\n";
  }
  return xml + "</SettlementStatement>\n";
}

std::string SettlementStatementPdf(const SettlementStatement& statement, int64_t generated_at_ms) {
  return Document(statement, generated_at_ms, nullptr);
}

Result<std::string> SettlementPointPdf(const SettlementStatement& statement, int64_t point_id,
                                       int64_t generated_at_ms) {
  for (const SettlementPointStatement& point : statement.points) {
    if (point.point.point_id == point_id) return Document(statement, generated_at_ms, &point);
  }
  return Error::NotFound("settlement_point_not_found", "This point is not on the statement.");
}

std::string SettlementJournalCsv(const SettlementStatement& s) {
  Journal journal;
  const std::string merchant =
      fmt::format("{}{}", kAccountMerchantPrefix, s.merchant.organisation_id);
  const banking::Date last_day = banking::ParisDate(s.period_end_ms - 1);
  for (const SettlementPointStatement& point : s.points) {
    // Items summed per day, operation and counter: one entry each.
    std::map<std::tuple<banking::Date, SettlementOperation, std::string>, int64_t> sums;
    for (const SettlementItem& item : point.items) {
      sums[{banking::ParisDate(item.acknowledged_at_ms), item.operation, item.counter}] +=
          item.amount;
    }
    for (const auto& [key, amount] : sums) {
      const auto& [day, op, counter] = key;
      const SettlementCounterLine* line = nullptr;
      for (const auto& c : point.counters)
        if (c.counter == counter) line = &c;
      GUICHET_ASSERT(line != nullptr);
      const int64_t cents = amount * line->cents_per_token;
      const std::string funds = counter == kEuroCounter
                                    ? std::string(kAccountHolderFunds)
                                    : fmt::format("{}-{}", kAccountTokenFunds, counter);
      const std::string reference = fmt::format("{}/P{}", s.statement_id, point.point.point_id);
      const std::string what =
          fmt::format("{} point {} {}", OperationFr(op), point.point.point_id, counter);
      if (op == SettlementOperation::kDebit)
        journal.Entry(day, funds, merchant, cents, what, reference);
      if (op == SettlementOperation::kCancel)
        journal.Entry(day, merchant, funds, cents, what, reference);
      if (op == SettlementOperation::kCashReload)
        journal.Entry(day, merchant, funds, cents, what, reference);
    }
    const std::string reference = fmt::format("{}/P{}", s.statement_id, point.point.point_id);
    journal.Entry(last_day, merchant, kAccountCommission, point.totals.commission_cents,
                  fmt::format("commission point {}", point.point.point_id), reference);
    for (const SettlementFee& fee : point.fees) {
      journal.Entry(last_day, merchant, kAccountFees, fee.amount_cents, fee.label, reference);
    }
  }
  for (const SettlementFee& fee : s.merchant_fees) {
    journal.Entry(last_day, merchant, kAccountFees, fee.amount_cents, fee.label, s.statement_id);
  }
  journal.Entry(last_day, merchant, kAccountMerchantDue, s.brought_forward_cents,
                "solde dû reporté du relevé précédent", s.statement_id);
  journal.Entry(last_day, merchant, kAccountBank, s.payable_cents, "virement de règlement",
                s.statement_id);
  journal.Entry(last_day, kAccountMerchantDue, merchant, s.carried_forward_cents,
                "solde dû par le commerçant, reporté", s.statement_id);
  return journal.csv;
}

std::optional<banking::CreditTransfer> SettlementCreditTransfer(const SettlementStatement& s) {
  if (s.payable_cents <= 0) return std::nullopt;
  return banking::CreditTransfer{
      s.statement_id,  s.payable_cents,
      s.merchant.name, s.merchant.iban,
      s.merchant.bic,  fmt::format("Reglement Guichet {} {}", s.statement_id, PeriodFr(s))};
}

Result<std::string> SettlementTransferFile(const std::vector<SettlementStatement>& statements,
                                           const banking::InstitutionAccount& debtor,
                                           const std::string& message_id, int64_t created_at_ms,
                                           banking::Date execution_date) {
  banking::CreditTransferFile file;
  file.message_id = message_id;
  file.created_at_ms = created_at_ms;
  file.initiating_party = debtor.name;
  file.debtor = debtor;
  file.requested_execution_date = execution_date;
  for (const SettlementStatement& statement : statements) {
    if (auto transfer = SettlementCreditTransfer(statement))
      file.transfers.push_back(std::move(*transfer));
  }
  if (file.transfers.empty()) {
    return Error{ErrorKind::kValidation,
                 "settlement_nothing_to_pay",
                 "No statement has anything to pay.",
                 {}};
  }
  return banking::WriteCreditTransferFile(file);
}

}  // namespace guichet::wallet
