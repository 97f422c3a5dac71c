import type { Messages } from './fr';

export const en: Messages = {
  'app.name': 'Guichet',
  'app.tagline': 'Everyday public services',
  'layout.skip': 'Skip to content',
  'layout.nav': 'Main navigation',
  'layout.language': 'Language',
  'layout.footer': 'Guichet — the platform of local authorities and public bodies.',

  'nav.home': 'Home',
  'nav.status': 'Service status',

  'home.title': 'Welcome to Guichet',
  'home.lead':
    'One platform for the student wallet, the visitor pass and services for families.',
  'home.services': 'Our services',

  'service.wallet.name': 'Student wallet',
  'service.wallet.summary':
    'Pay for meals and campus services with your card or phone, and keep track of your balance.',
  'service.pass.name': 'Tourist pass',
  'service.pass.summary':
    'A personal pass to visit the area and enjoy discounts from partner businesses.',
  'service.family.name': 'Family portal',
  'service.family.summary':
    'School canteen and after-school bookings, invoices and payments for the whole family.',
  'service.soon': 'This area opens soon. Please come back later.',
  'service.back': 'Back to home',

  'status.title': 'Service status',
  'status.loading': 'Loading the service status…',
  'status.refresh': 'Refresh',
  'status.version': 'Version',
  'status.backend': 'Database',
  'status.schema': 'Schema version',
  'status.uptime': 'Up for',
  'status.jobs': 'Background jobs',
  'status.jobs.queued': 'Queued',
  'status.jobs.running': 'Running',
  'status.jobs.succeeded': 'Succeeded',
  'status.jobs.dead': 'Failed',
  'status.updated': 'Updated at {time}',
  'status.error.title': 'The service status is unavailable',
  'status.error.network': 'The server does not answer. Check your connection and try again.',
  'status.error.invalid': 'The server sent an unexpected answer.',
  'status.error.http': 'The server answered with status {status}.',

  'notfound.title': 'Page not found',
  'notfound.body': 'The address {path} does not match any page.',
  'notfound.home': 'Back to home',
};
