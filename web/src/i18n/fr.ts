// French is the reference catalogue: its keys define `Messages`, so every other catalogue must
// provide exactly the same keys or the build fails.
export const fr = {
  'app.name': 'Guichet',
  'app.tagline': 'Les services publics du quotidien',
  'layout.skip': 'Aller au contenu',
  'layout.nav': 'Navigation principale',
  'layout.language': 'Langue',
  'layout.footer': 'Guichet — plateforme des collectivités et établissements publics.',

  'nav.home': 'Accueil',
  'nav.status': 'État du service',

  'home.title': 'Bienvenue sur Guichet',
  'home.lead':
    'Une seule plateforme pour le porte-monnaie des étudiants, le pass des visiteurs et les services aux familles.',
  'home.services': 'Nos services',

  'service.wallet.name': 'Porte-monnaie étudiant',
  'service.wallet.summary':
    'Payez repas et services sur le campus avec votre carte ou votre téléphone, et suivez votre solde.',
  'service.pass.name': 'Pass touristique',
  'service.pass.summary':
    'Un pass nominatif pour visiter le territoire et profiter des réductions chez les partenaires.',
  'service.family.name': 'Portail famille',
  'service.family.summary':
    'Inscriptions à la cantine et au périscolaire, factures et paiements pour toute la famille.',
  'service.soon': 'Cet espace ouvre bientôt. Revenez prochainement.',
  'service.back': "Retour à l'accueil",

  'status.title': 'État du service',
  'status.loading': 'Chargement de l’état du service…',
  'status.refresh': 'Actualiser',
  'status.version': 'Version',
  'status.backend': 'Base de données',
  'status.schema': 'Version du schéma',
  'status.uptime': 'En service depuis',
  'status.jobs': 'Tâches de fond',
  'status.jobs.queued': 'En attente',
  'status.jobs.running': 'En cours',
  'status.jobs.succeeded': 'Réussies',
  'status.jobs.dead': 'En échec',
  'status.updated': 'Mis à jour à {time}',
  'status.error.title': 'L’état du service est indisponible',
  'status.error.network': 'Le serveur ne répond pas. Vérifiez votre connexion puis réessayez.',
  'status.error.invalid': 'Le serveur a envoyé une réponse inattendue.',
  'status.error.http': 'Le serveur a répondu avec le code {status}.',

  'notfound.title': 'Page introuvable',
  'notfound.body': 'L’adresse {path} ne correspond à aucune page.',
  'notfound.home': "Retour à l'accueil",
} as const;

export type MessageKey = keyof typeof fr;
export type Messages = Record<MessageKey, string>;
