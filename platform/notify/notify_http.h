// The HTTP API of message content (docs/notify-content-api.md has the overview; every route is
// in the OpenAPI document with its request and response):
//   GET    /api/v1/notify/template-codes                                   templates.manage
//   GET    /api/v1/organisations/{id}/notify/templates                     templates.manage
//   GET    /api/v1/organisations/{id}/notify/templates/{code}/{language}   templates.manage
//   PUT    /api/v1/organisations/{id}/notify/templates/{code}/{language}   templates.manage
//   DELETE /api/v1/organisations/{id}/notify/templates/{code}/{language}   templates.manage
//   POST   /api/v1/organisations/{id}/notify/templates/preview             templates.manage
//   GET    /api/v1/me/notify/preferences                                   any session
//   PUT    /api/v1/me/notify/preferences                                   any session
//   GET    /api/v1/notify/people/{type}/{id}/preferences                   notify.people.read
//   PUT    /api/v1/notify/people/{type}/{id}/preferences notify.preferences.manage GET
//   /api/v1/notify/people/{type}/{id}/messages                      notify.people.read GET
//   /api/v1/notify/people-without-consent                           notify.people.read GET
//   /api/v1/notify/unsubscribe?token=                               public POST
//   /api/v1/notify/unsubscribe?token=                               public (RFC 8058) GET
//   /api/v1/notify/opened/{token}                                   public (1×1 GIF) GET
//   /api/v1/notify/audiences                                        campaigns.manage GET
//   /api/v1/notify/campaigns                                        campaigns.manage POST
//   /api/v1/notify/campaigns                                        campaigns.manage GET
//   /api/v1/notify/campaigns/{id}                                   campaigns.manage PUT
//   /api/v1/notify/campaigns/{id}                                   campaigns.manage POST
//   /api/v1/notify/campaigns/{id}/schedule                          campaigns.manage POST
//   /api/v1/notify/campaigns/{id}/cancel                            campaigns.manage GET
//   /api/v1/notify/campaigns/{id}/stats                             campaigns.manage GET
//   /api/v1/notify/rules                                            campaigns.manage POST
//   /api/v1/notify/rules                                            campaigns.manage DELETE
//   /api/v1/notify/rules/{id}                                       campaigns.manage
#pragma once

#include "platform/http/router.h"
#include "platform/identity/identity_http.h"
#include "platform/notify/content.h"

namespace guichet::notify {

// `content` must outlive the router.
void AddContentRoutes(http::Router& router, identity::IdentityHttpContext& context,
                      Content& content);

// For modules that offer the same preferences behind their own sessions (wallet holders): the
// body parser of PUT …/preferences and the OpenAPI schemas of the preferences routes.
Result<PreferencesChange> ParsePreferencesChange(const http::Request& request);
boost::json::object PreferencesResponseSchema();
boost::json::object PreferencesRequestSchema();

}  // namespace guichet::notify
