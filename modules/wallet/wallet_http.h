// The wallet's API: holder accounts for staff and machine clients (creation, upload, search,
// profile, history, oppositions), the national admin's counters and thresholds, activation and
// the holder's own routes behind a holder session (cookie guichet_holder + X-CSRF-Token).
#pragma once

#include "modules/wallet/upload.h"
#include "modules/wallet/wallet.h"
#include "platform/identity/identity_http.h"
#include "platform/notify/content.h"

namespace guichet::jobs {
class Runner;
}
namespace guichet::privacy {
class Privacy;
}
namespace guichet::notify {
class ContactDirectory;
class TemplateCatalog;
}

namespace guichet::wallet {

// Jobs: "wallet.upload" (one per uploaded file), "wallet.activation_resend" (hourly: the
// weekly reminder to holders who have not activated yet) and "wallet.inactivity" (daily).
inline constexpr int64_t kActivationResendEveryMs = int64_t{3600} * 1000;
// "wallet.inactivity" (W10): daily notices, inactivity fees and deletions after notice.
inline constexpr int64_t kInactivityEveryMs = int64_t{24} * 3600 * 1000;
void RegisterJobs(jobs::Runner& runner, Wallet& wallet, Uploads& uploads);

// The holder as a person of the privacy registries (person type "wallet.holder"): an export
// section, an erasure step that keeps the ledger's history, and the processing activity.
void RegisterPrivacy(privacy::Privacy& privacy);

// The holder in the messages module's contact directory (person type "wallet.holder").
void RegisterContacts(notify::ContactDirectory& directory);
// Templates of the wallet's own messages (closure, federation, inactivity notices).
void AddTemplates(notify::TemplateCatalog& catalog);

inline constexpr std::string_view kHolderCookie = "guichet_holder";
// The x-guichet-right of the holder's own routes: a holder session, which no staff profile holds.
inline constexpr std::string_view kHolderSessionRight = "wallet.holder_session";

// A route behind the holder session, for the wallet's other route files (pos_http.cpp): the
// same gate as the holder's own routes; the body gets the holder's id.
using HolderSessionBody = std::function<Result<http::Response>(const http::RequestContext&, int64_t holder_id)>;
void AddHolderSessionRoute(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                           http::Verb verb, std::string path, std::string operation_id, http::RouteDoc doc,
                           HolderSessionBody body);

void AddWalletRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                     Uploads& uploads);

// The holder's message preferences behind the holder session (GET/PUT
// /api/v1/wallet/me/message-preferences, POST /api/v1/wallet/me/message-consents): the same
// preferences and consents as staff's, for the person ("wallet.holder", holder id), through
// messages' own use cases.
void AddHolderPreferenceRoutes(http::Router& router, identity::IdentityHttpContext& context, Wallet& wallet,
                               notify::Content& content);

}  // namespace guichet::wallet
