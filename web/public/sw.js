// Guichet's service worker: shows the push messages the server sends (web push, RFC 8030).
// The payload is {"title", "body", "message_id"}, already decrypted by the browser.
self.addEventListener('push', (event) => {
  let message = { title: 'Guichet', body: '' };
  try {
    if (event.data) message = { ...message, ...event.data.json() };
  } catch {
    if (event.data) message.body = event.data.text();
  }
  event.waitUntil(
    self.registration.showNotification(message.title || 'Guichet', {
      body: message.body,
      icon: '/favicon.svg',
      tag: message.message_id ? `guichet-${message.message_id}` : undefined,
      data: { url: '/' },
    }),
  );
});

// A click brings an open Guichet tab forward, or opens one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      return open ? open.focus() : self.clients.openWindow(event.notification.data?.url ?? '/');
    }),
  );
});
