// The offline-sync API: feeds and batch upload for devices, reports and giving up waiting
// events for staff; and, behind the diagnostics setting, a small test module (feeds, event kinds
// and routes to feed them) that the API tests and the bench drive.
#pragma once

#include "platform/http/router.h"
#include "platform/identity/identity_http.h"
#include "platform/sync/sync.h"

namespace guichet::sync {

void AddSyncRoutes(http::Router& router, identity::IdentityHttpContext& context, Sync& sync);

// Test module (diagnostics = true only): feeds "diagnostics.items" and "diagnostics.balances",
// event kinds "diagnostics.note" (always applied), "diagnostics.debit" ({"a": account,
// "n": amount}: waits for funds) and "diagnostics.fail" (an internal error: a crash stand-in).
inline constexpr std::string_view kDiagnosticsDebitKind = "diagnostics.debit";
void AddDiagnosticsFeeds(Feeds& feeds, Handlers& handlers);
void AddSyncDiagnosticsRoutes(http::Router& router, identity::IdentityHttpContext& context,
                              Sync& sync);

}  // namespace guichet::sync
