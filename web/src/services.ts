import type { MessageKey } from './i18n';

export type ServiceId = 'wallet' | 'pass' | 'family';

export interface Service {
  id: ServiceId;
  path: string;
  name: MessageKey;
  summary: MessageKey;
}

export const services: readonly Service[] = (['wallet', 'pass', 'family'] as const).map((id) => ({
  id,
  path: `/${id}`,
  name: `service.${id}.name`,
  summary: `service.${id}.summary`,
}));
