// The wallet's message templates beyond the platform's own (wallet.movement, wallet.activation,
// wallet.low_balance are in platform/notify/templates.cpp): closure, federation and the
// inactivity notices (W4, W10). Built-in FR/EN texts; organisations may override them.
#include "modules/wallet/wallet_http.h"
#include "platform/notify/templates.h"

namespace guichet::wallet {
namespace {

using notify::TemplateText;

TemplateText Text(std::string subject, std::string text) {
  std::string html = "<p>";
  for (char c : text) {
    if (c == '\n') {
      html += "<br>";
    } else {
      html += c;
    }
  }
  html += "</p>";
  return {std::move(subject), std::move(text), std::move(html)};
}

}  // namespace

void AddTemplates(notify::TemplateCatalog& catalog) {
  const boost::json::value name = "Camille Martin";
  catalog.Add({"wallet.closure",
               "Confirmation of a wallet closed by its holder, with the tokens lost (W10)",
               "transactional",
               {{"display_name", "text", "the holder's name", name},
                {"tokens_lost", "lines", "token balances lost with the closure", boost::json::array{"3 repas"}}},
               {{"fr", Text("Votre porte-monnaie est fermé",
                            "Bonjour {{ display_name }},\n\nVotre porte-monnaie est fermé. Jetons perdus : "
                            "{{ tokens_lost }}\n")},
                {"en", Text("Your wallet is closed",
                            "Hello {{ display_name }},\n\nYour wallet is closed. Tokens lost: {{ tokens_lost }}\n")}}});
  catalog.Add({"wallet.closure_institution",
               "To the institution: a holder closed their wallet (W10)",
               "transactional",
               {{"display_name", "text", "the holder's name", name},
                {"university_id", "text", "the holder's university id", "UGA-20231001"}},
               {{"fr", Text("Fermeture d'un porte-monnaie",
                            "Le porte-monnaie de {{ display_name }} ({{ university_id }}) a été fermé par son "
                            "titulaire.\n")},
                {"en", Text("A wallet was closed",
                            "The wallet of {{ display_name }} ({{ university_id }}) was closed by its holder.\n")}}});
  catalog.Add({"wallet.federation",
               "Confirmation of an older wallet taken over: euros moved, tokens not moved (W4)",
               "transactional",
               {{"display_name", "text", "the holder's name", name},
                {"euros_moved_cents", "money", "the euro balance moved, in cents", 1250},
                {"tokens_not_moved", "lines", "token balances not moved", boost::json::array{"3 repas"}}},
               {{"fr", Text("Votre ancien porte-monnaie est rattaché",
                            "Bonjour {{ display_name }},\n\n{{ euros_moved_cents | money }} ont été transférés de votre "
                            "ancien porte-monnaie. Les jetons ne sont pas transférés : {{ tokens_not_moved }}\n")},
                {"en", Text("Your older wallet is attached",
                            "Hello {{ display_name }},\n\n{{ euros_moved_cents | money }} moved from your older wallet. "
                            "Tokens are not moved: {{ tokens_not_moved }}\n")}}});
  catalog.Add({"wallet.inactivity_fee_notice",
               "Notice of an inactivity fee, 18 days ahead (W10)",
               "transactional",
               {{"display_name", "text", "the holder's name", name},
                {"fee_cents", "money", "the fee, in cents", 300},
                {"notice_days", "number", "days before the fee", 18}},
               {{"fr", Text("Frais d'inactivité à venir",
                            "Bonjour {{ display_name }},\n\nVotre porte-monnaie n'a pas été utilisé depuis 18 mois. "
                            "Sans opération de votre part d'ici {{ notice_days }} jours, des frais de "
                            "{{ fee_cents | money }} seront prélevés.\n")},
                {"en", Text("Inactivity fee ahead",
                            "Hello {{ display_name }},\n\nYour wallet has not been used for 18 months. Unless you use "
                            "it within {{ notice_days }} days, a fee of {{ fee_cents | money }} will be charged.\n")}}});
  catalog.Add({"wallet.deletion_notice",
               "Notice of the deletion of an empty, inactive wallet, 18 days ahead (W10)",
               "transactional",
               {{"display_name", "text", "the holder's name", name},
                {"notice_days", "number", "days before the deletion", 18}},
               {{"fr", Text("Suppression de votre porte-monnaie",
                            "Bonjour {{ display_name }},\n\nVotre porte-monnaie est vide et inutilisé depuis 18 mois. "
                            "Sans connexion de votre part d'ici {{ notice_days }} jours, il sera supprimé.\n")},
                {"en", Text("Your wallet will be deleted",
                            "Hello {{ display_name }},\n\nYour wallet is empty and unused for 18 months. Unless you log "
                            "in within {{ notice_days }} days, it will be deleted.\n")}}});
  catalog.Add({"wallet.offline_awaiting_funds",
               "A payment made at a point of sale while offline awaits funds: sent at each try (W16)",
               "alerts",
               {{"display_name", "text", "the holder's name", name},
                {"amount_cents", "money", "the payment, in cents (or tokens)", 330},
                {"counter", "text", "the counter paid from", "EUR"},
                {"merchant", "text", "the merchant", "Crous Grenoble"},
                {"point", "text", "the point of sale", "Crous-UG-RU-UD-Caisse"},
                {"at", "datetime", "when the payment was made (epoch ms)", int64_t{1795000000000}},
                {"attempts", "number", "tries so far", 1}},
               {{"fr", Text("Paiement en attente de provision",
                            "Bonjour {{ display_name }},\n\nUn paiement de {{ amount_cents | money }} chez "
                            "{{ merchant }} ({{ point }}) le {{ at | datetime }} attend que votre porte-monnaie "
                            "soit approvisionné. Rechargez-le : il sera alors débité.\n")},
                {"en", Text("A payment awaits funds",
                            "Hello {{ display_name }},\n\nA payment of {{ amount_cents | money }} at {{ merchant }} "
                            "({{ point }}) on {{ at | datetime }} awaits funds on your wallet. Reload it: the "
                            "payment will then be taken.\n")}}});
}

}  // namespace guichet::wallet
