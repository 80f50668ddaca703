# r2com, application web : français.
language-name = Français
chrono-locale = fr_FR
format-date-long = %A %-d %B %Y
format-month-year = %B %Y
format-time = %H:%M
format-date-time = %-d %B %Y, %H:%M

skip-to-content = Aller au contenu
nav-label = Principal
nav-library = Bibliothèque
nav-calendar = Calendrier
nav-consortium = Consortium
nav-staff = Équipe
nav-account = Mon compte
nav-logout = Se déconnecter
footer-note = r2com : le nœud de cette organisation. Les comptes et leur activité restent sur ce serveur.
back-home = Retour à l'accueil

error-forbidden-title = Non autorisé
error-forbidden = Votre compte ne permet pas de faire cela.
error-not-found-title = Introuvable
error-not-found = Il n'y a rien à cette adresse.
error-bad-request-title = Impossible de faire cela
error-internal-title = Une erreur s'est produite
error-logged-out = Vous n'êtes pas connecté (ou votre session a expiré). Connectez-vous puis réessayez.
error-cross-site = Ce formulaire n'a pas été envoyé depuis ce site : il a été refusé.
error-csrf = Ce formulaire a expiré ou n'a pas été envoyé depuis ce site. Rechargez la page et réessayez.
error-too-large = L'envoi est trop volumineux.
error-bad-form = Le formulaire était incomplet.

login-title = Connexion
login-name = Nom du compte
login-password = Mot de passe
login-submit = Se connecter
login-help = Pas encore de mot de passe ? Demandez un lien à l'administrateur r2com de votre organisation.
login-failed = Nom de compte ou mot de passe incorrect.
login-too-many = Trop de tentatives échouées. Attendez un quart d'heure, puis réessayez.
one-time-title = Connexion par lien à usage unique
one-time-intro = Ce lien vous connecte en tant que { $name }. Il ne fonctionne qu'une fois.
one-time-submit = Continuer
one-time-invalid = Ce lien a déjà servi ou a expiré. Demandez-en un nouveau.
welcome-title = Bienvenue sur r2com
welcome-intro = Choisissez un mot de passe pour le compte { $name }.
welcome-submit = Enregistrer le mot de passe et se connecter
password-new = Nouveau mot de passe
password-again = Le même mot de passe, à nouveau
password-help = Au moins 10 caractères. Une phrase dont vous vous souvenez fait un bon mot de passe.
password-too-short = Le mot de passe doit compter au moins { $min } caractères.
password-too-long = Le mot de passe est trop long.
password-mismatch = Les deux mots de passe ne sont pas identiques.

## Notices after a change
notice-added = Ajouté.
notice-saved = Enregistré.
notice-deleted = Supprimé.
notice-unchanged = Rien n'a été modifié.

## Forms
form-save = Enregistrer
form-cancel = Annuler
form-has-errors = Veuillez corriger les champs signalés ci-dessous.
form-conflict = Quelqu'un d'autre a modifié les mêmes lignes entre-temps. Son texte est affiché ci-dessus : intégrez-le au vôtre, puis enregistrez à nouveau.
form-their-text = Le champ « { $field } » actuel, tel que d'autres l'ont laissé
delete-confirm = Oui, supprimer
filter-any = Tous
filter-apply = Appliquer
filter-clear = Tout effacer
pager-label = Pages
pager-previous = ← Page précédente
pager-next = Page suivante →

## Record fields
field-title = Titre
field-summary = Résumé
field-body = Texte
field-body-help = Markdown : une ligne vide commence un paragraphe, # un titre, * un élément de liste, [texte](https://…) un lien.
field-themes = Thèmes
field-target-groups = Publics cibles
field-countries = Pays
field-languages = Langues
field-list-help = Séparez-en plusieurs par des virgules.
field-organisation = Organisation
field-evidence = Niveau de preuve
field-contact = E-mail de contact
field-status = Statut
field-created = Créé le
field-updated = Dernière modification
field-description = Description
field-format = Format
field-organiser = Organisateur
field-language = Langue
field-language-help = Code à deux lettres, par ex. en, fr, pt.
field-capacity = Places
field-capacity-help = Laissez vide s'il n'y a pas de limite.
field-location = Lieu
field-online-url = Adresse en ligne (https)
field-timezone = Fuseau horaire

status-draft = Brouillon
status-published = Publiée
status-archived = Archivée
evidence-peer-reviewed = Évaluée par les pairs
evidence-evaluated = Évaluée
evidence-promising = Prometteuse
evidence-anecdotal = Empirique
evidence-not-yet-evaluated = Pas encore évaluée
format-workshop = Atelier
format-webinar = Webinaire
format-course = Formation
format-study-visit = Visite d'étude
format-conference = Conférence
format-peer-exchange = Échange entre pairs
event-status-scheduled = Prévu
event-status-postponed = Reporté
event-status-cancelled = Annulé

## Library
library-title = Bibliothèque de pratiques
library-search = Rechercher
library-search-help = Les accents et les majuscules ne comptent pas.
library-count = { $count } pratiques · page { $page }
search-count = { $count } trouvées · page { $page }
search-no-words = Tapez au moins un mot à rechercher.
practice-add = Ajouter une pratique
practice-edit = Modifier
practice-delete = Supprimer
practice-delete-question = Supprimer la pratique « { $title } » sur tous les nœuds du consortium ? Son historique est conservé.
practice-files = Fichiers
practice-file-held = présent sur ce nœud
practice-file-fetched = récupéré auprès d’un membre quand vous le téléchargez
practice-file-unavailable = Ce fichier n’est pas encore sur ce nœud, et le nœud n’est pas connecté aux membres qui l’ont.
practice-updated = modifiée le { $when }
back-to-library = Retour à la bibliothèque

## Audit (local only)
audit-title = Modifications faites depuis ce nœud
audit-help = Visible uniquement par cette organisation : quel compte a fait chaque modification ici.
audit-when = Quand
audit-who = Compte
audit-what = Modification
audit-add = ajout
audit-edit = modification
audit-remove = suppression

## Calendar
calendar-zone = Les heures sont affichées dans le fuseau { $zone }.
calendar-change-zone = Changer
calendar-nav = Pages du calendrier
calendar-previous = ← Plus tôt
calendar-next = Plus tard →
calendar-this-month = Ce mois-ci
calendar-month-view = Vue du mois
calendar-organiser-time = heure de l'organisateur { $time }
agenda-title = Agenda
agenda-range = Du { $from } au { $to }
agenda-empty = Aucune séance pendant cette période.
event-add = Ajouter un événement
event-edit = Modifier
event-delete = Supprimer
event-delete-question = Supprimer l'événement « { $title } » (toutes ses séances) sur tous les nœuds du consortium ?
event-when = Quand
event-organiser-when = Dans le fuseau de l'organisateur
event-repeats = Répétition
event-next-sessions = Prochaines séances
event-unlimited = Sans limite
event-online = en ligne
event-date = Date
event-time = Début
event-hours = Heures
event-minutes = Minutes
event-fold-earlier = Si cette heure existe deux fois (retour à l'heure d'hiver), je parle de la première.
event-bad-date = Écrivez une date comme 2026-03-10.
event-bad-time = Écrivez une heure comme 14:30.
event-bad-duration = Indiquez une durée supérieure à zéro.
event-bad-number = Écrivez un nombre entier, au moins 1.
event-bad-repeat = Choisissez comment l'événement se répète.
back-to-calendar = Retour au calendrier
repeat-frequency = Se répète
repeat-none = Ne se répète pas
repeat-daily-choice = Chaque jour
repeat-weekly-choice = Chaque semaine
repeat-monthly-choice = Chaque mois
repeat-yearly-choice = Chaque année
repeat-interval = Tous les combien (jours, semaines, …)
repeat-weekdays = Ces jours-là (répétition hebdomadaire)
repeat-ends = Fin
repeat-ends-never = Jamais
repeat-ends-count = Après ce nombre de séances
repeat-ends-until = À cette date
repeat-custom = Règle personnalisée : { $rule }
repeat-daily = { $n ->
    [one] Chaque jour
   *[other] Tous les { $n } jours
}
repeat-weekly = { $n ->
    [one] Chaque semaine
   *[other] Toutes les { $n } semaines
}
repeat-monthly = { $n ->
    [one] Chaque mois
   *[other] Tous les { $n } mois
}
repeat-yearly = { $n ->
    [one] Chaque année
   *[other] Tous les { $n } ans
}
repeat-on = le { $days }
repeat-count = { $n ->
    [one] une fois
   *[other] { $n } fois
}
repeat-until = jusqu'au { $date }

## My account
account-title = Mon compte
account-settings = Langue et fuseau horaire
account-language = Langue
account-language-browser = Selon mon navigateur
account-zone = Fuseau horaire
account-zone-help = Le calendrier affiche chaque séance à son heure dans ce fuseau.
account-bad-zone = « { $zone } » n'est pas un fuseau horaire.
account-feed = S'abonner au calendrier
account-feed-help = Les logiciels d'agenda (Thunderbird, Outlook, téléphones) peuvent suivre le calendrier des formations à une adresse secrète qui vous est propre.
account-feed-make = Créer mon adresse d'abonnement
account-feed-secret = Gardez cette adresse pour vous : quiconque la connaît peut lire le calendrier. Créez-en une nouvelle si elle a circulé ; l'ancienne cesse alors de fonctionner.
account-feed-renew = Créer une nouvelle adresse
account-feed-revoke = Désactiver l'adresse
account-feed-made = Votre nouvelle adresse d'abonnement est prête.
account-feed-revoked = Votre adresse d'abonnement ne fonctionne plus.
account-copy = Copier
account-copied = Copié
account-password = Mot de passe
account-current-password = Mot de passe actuel
account-password-save = Changer le mot de passe
account-password-changed = Votre mot de passe a été changé.
account-wrong-password = Le mot de passe actuel est incorrect.

## Staff (admins)
staff-title = Comptes de l'équipe
staff-name = Nom du compte
staff-name-help = Lettres minuscules, chiffres, points, tirets et tirets bas.
staff-role = Rôle
staff-role-of = Rôle de { $name }
staff-password = Mot de passe
staff-has-password = défini
staff-no-password = pas encore
staff-created = Créé le
staff-actions = Actions
staff-change-role = Changer
staff-new-link = Nouveau lien de mot de passe
staff-remove = Supprimer
staff-remove-question = Supprimer le compte { $name } ? Ses sessions prennent fin et son adresse d'abonnement cesse de fonctionner.
staff-add = Ajouter un compte
staff-exists = Un compte nommé { $name } existe déjà.
staff-no-such = Il n'y a pas de compte nommé { $name }.
staff-not-yourself = Vous ne pouvez ni supprimer votre propre compte, ni vous retirer le rôle d'administrateur.
staff-link-for = Donnez ce lien à { $name } (il fonctionne une fois, pendant 7 jours) pour choisir un mot de passe :
staff-link-help = Envoyez-le par un canal que cette personne est seule à lire. L'opérateur peut aussi lancer : r2com user add NOM --role RÔLE
staff-cli-help = L'opérateur du nœud peut faire de même avec les commandes r2com user.
role-reader = Lecteur (lit la bibliothèque et le calendrier)
role-editor = Rédacteur (ajoute et modifie aussi)
role-admin = Administrateur (gère aussi les comptes)

## Consortium (admins)
consortium-title = Consortium
consortium-none = Ce nœud ne fait pas encore partie d'un consortium.
consortium-name = Nom
consortium-id = Identifiant
consortium-this-node = Ce nœud
consortium-members = Membres
consortium-country = Pays
consortium-nodes = Nœuds
consortium-added = Membre depuis
consortium-role-admin = Administrateur
consortium-role-member = Membre
consortium-revoked = Révoqué le { $when } : { $reason }
consortium-sync = Nœuds et synchronisation
consortium-no-network = Le réseau ne fonctionne pas.
consortium-no-peers = Pas encore d'autres nœuds membres.
consortium-node = Nœud
consortium-connection = Connexion
consortium-state = État
consortium-last-sync = Dernière synchronisation
consortium-traffic = Envoyé / reçu
consortium-not-connected = non connecté
consortium-direct = connecté directement
consortium-relayed = connecté par un relais (synchronisation seulement, pas de fichiers)
consortium-never-synced = pas encore synchronisé
consortium-in-sync = synchronisé
consortium-behind = en retard : il manque { $we } modifications à ce nœud, { $they } à l'autre
consortium-key-revoked = révoqué
consortium-cli-help = Les invitations, promotions et révocations se font par l'opérateur avec la ligne de commande r2com.

practice-written-in = Rédigée en
practice-translations = Dans d’autres langues
history-title = Historique
history-help = Chaque modification de cette pratique, par l’organisation dont le nœud l’a signée, de la plus récente à la plus ancienne.
history-when = Quand
history-organisation = Organisation
history-what = Modification
history-created = créée
history-edited = modifiée
history-deleted = supprimée
history-restored = rétablie
history-unknown = clé inconnue { $key }…
history-bad-signature = sa signature ne se vérifie pas
history-more = { $count } modifications plus anciennes ne sont pas listées : `r2com history { $id }` les montre.
