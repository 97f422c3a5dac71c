// The identity API: login, sessions, second factor, password reset, staff and organisations,
// audit history. Every handler runs on the database pool (never on the event loop), through
// one gate that authenticates the session cookie, checks CSRF on state-changing requests,
// checks the route's right, and turns errors into problem+json.
#pragma once

#include <string>

#include "platform/http/router.h"
#include "platform/identity/identity.h"
#include "platform/storage/async_database.h"

namespace guichet::identity {

inline constexpr std::string_view kSessionCookie = "guichet_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";
// Route.right values that are not permissions.
inline constexpr std::string_view kPublic = "";
inline constexpr std::string_view kAnySession = "session";              // any logged-in person
inline constexpr std::string_view kPendingSession = "session.pending";  // between password and code

struct HttpOptions {
  bool cookie_secure = true;  // Secure attribute: browsers treat http://localhost as secure
};

struct IdentityHttpContext {
  Identity& identity;
  storage::AsyncDatabase& async;
  storage::Database& database;
  const Clock& clock;
  HttpOptions options;
};

// What a guarded handler is given once the request is admitted.
struct Gate {
  Caller caller;
  bool second_factor_pending = false;
  std::string session_token;  // empty for machine callers
};

using GuardedBody = std::function<Result<http::Response>(const http::RequestContext&, Gate&)>;

// Registers a route whose body runs on the database pool after the gate: the caller is
// authenticated (unless `right` is kPublic), CSRF and origin are checked on state-changing
// requests, the caller must hold `right` somewhere (or be a session for kAnySession), and any
// error becomes problem+json. Every module registers its routes through this.
void AddGuarded(http::Router& router, IdentityHttpContext& context, http::Verb verb, std::string path,
                std::string operation_id, std::string_view right, http::RouteDoc doc, GuardedBody body);

// AddGuarded whose gate and body run in one database transaction (Database::RunShared): the
// gate's writes — a signed device request's replay record, a session's touch — commit with the
// body's, one commit per request instead of two or more. Only for bodies that do database work
// of `context.database` and nothing else (no e-mail, no file, no other thread); should any step
// fail, the request runs again the ordinary way, each step its own transaction.
void AddGuardedShared(http::Router& router, IdentityHttpContext& context, http::Verb verb,
                      std::string path, std::string operation_id, std::string_view right,
                      http::RouteDoc doc, GuardedBody body);

void AddIdentityRoutes(http::Router& router, IdentityHttpContext& context);

// The identity permissions and the audit permission, for the catalog.
void DeclarePermissions(RightsCatalog& catalog);

}  // namespace guichet::identity
