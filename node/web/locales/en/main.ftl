# r2com web app: English (the fallback language).
# To add a language, copy this folder to one named by its code (sq, it, sv,
# bg, hu, ...) and translate the text after each "=". `chrono-locale` names
# the locale of month and day names (e.g. sq_AL, it_IT, sv_SE, bg_BG, hu_HU);
# the format-* patterns use chrono's strftime codes.
language-name = English
chrono-locale = en_GB
format-date-long = %A %-d %B %Y
format-month-year = %B %Y
format-time = %H:%M
format-date-time = %-d %B %Y, %H:%M

skip-to-content = Skip to content
nav-label = Main
nav-library = Library
nav-calendar = Calendar
nav-consortium = Consortium
nav-staff = Staff
nav-account = My account
nav-logout = Log out
footer-note = r2com: this organisation's node. Accounts and their activity stay on this server.
back-home = Back to the start page

error-forbidden-title = Not allowed
error-forbidden = Your account may not do this.
error-not-found-title = Not found
error-not-found = There is nothing at this address.
error-bad-request-title = This could not be done
error-internal-title = Something went wrong
error-logged-out = You are not logged in (or your session has ended). Log in and try again.
error-cross-site = This form was not sent from this site, so it was refused.
error-csrf = This form has expired or was not sent from this site. Reload the page and try again.
error-too-large = What was sent is too large.
error-bad-form = The form was incomplete.

login-title = Log in
login-name = Account name
login-password = Password
login-submit = Log in
login-help = No password yet? Ask your organisation's r2com administrator for a link.
login-failed = Wrong account name or password.
login-too-many = Too many failed attempts. Wait a quarter of an hour, then try again.
one-time-title = Log in with a one-time link
one-time-intro = This link logs you in as { $name }. It works once.
one-time-submit = Continue
one-time-invalid = This link has been used already or has expired. Ask for a new one.
welcome-title = Welcome to r2com
welcome-intro = Choose a password for the account { $name }.
welcome-submit = Save the password and log in
password-new = New password
password-again = The same password again
password-help = At least 10 characters. A sentence you can remember is a good password.
password-too-short = The password needs at least { $min } characters.
password-too-long = The password is too long.
password-mismatch = The two passwords are not the same.

## Notices after a change
notice-added = Added.
notice-saved = Saved.
notice-deleted = Deleted.
notice-unchanged = Nothing was changed.

## Forms
form-save = Save
form-cancel = Cancel
form-has-errors = Please correct the fields marked below.
form-conflict = Someone else changed the same lines meanwhile. Their text is shown above: merge it into yours, then save again.
form-their-text = The current { $field }, as others left it
delete-confirm = Yes, delete
filter-any = Any
filter-apply = Apply
filter-clear = Clear all
pager-label = Pages
pager-previous = ← Previous page
pager-next = Next page →

## Record fields
field-title = Title
field-summary = Summary
field-body = Text
field-body-help = Markdown: a blank line starts a new paragraph, # a heading, * a list item, [text](https://…) a link.
field-themes = Themes
field-target-groups = Target groups
field-countries = Countries
field-languages = Languages
field-list-help = Separate several with commas.
field-organisation = Organisation
field-evidence = Evidence
field-contact = Contact e-mail
field-status = Status
field-created = Created
field-updated = Last changed
field-description = Description
field-format = Format
field-organiser = Organiser
field-language = Language
field-language-help = Two-letter code, e.g. en, fr, pt.
field-capacity = Places
field-capacity-help = Leave empty for no limit.
field-location = Place
field-online-url = Online address (https)
field-timezone = Time zone

status-draft = Draft
status-published = Published
status-archived = Archived
evidence-peer-reviewed = Peer-reviewed
evidence-evaluated = Evaluated
evidence-promising = Promising
evidence-anecdotal = Anecdotal
evidence-not-yet-evaluated = Not yet evaluated
format-workshop = Workshop
format-webinar = Webinar
format-course = Course
format-study-visit = Study visit
format-conference = Conference
format-peer-exchange = Peer exchange
event-status-scheduled = Scheduled
event-status-postponed = Postponed
event-status-cancelled = Cancelled

## Library
library-title = Library of practices
library-search = Search
library-search-help = Accents and capitals do not matter.
library-count = { $count } practices · page { $page }
search-count = { $count } found · page { $page }
search-no-words = Type at least one word to search for.
practice-add = Add a practice
practice-edit = Edit
practice-delete = Delete
practice-delete-question = Delete the practice “{ $title }” on every node of the consortium? Its history is kept.
practice-files = Files
practice-file-held = held on this node
practice-file-fetched = fetched from a member when you download it
practice-file-unavailable = This file is not on this node yet, and the node is not connected to the members that hold it.
practice-updated = changed { $when }
back-to-library = Back to the library

## Audit (local only)
audit-title = Changes made from this node
audit-help = Visible only to this organisation: which account made each change here.
audit-when = When
audit-who = Account
audit-what = Change
audit-add = added
audit-edit = edited
audit-remove = deleted

## Calendar
calendar-zone = Times are shown in { $zone }.
calendar-change-zone = Change
calendar-nav = Calendar pages
calendar-previous = ← Earlier
calendar-next = Later →
calendar-this-month = This month
calendar-month-view = Month view
calendar-organiser-time = organiser's time { $time }
agenda-title = Agenda
agenda-range = From { $from } to { $to }
agenda-empty = No sessions in this period.
event-add = Add an event
event-edit = Edit
event-delete = Delete
event-delete-question = Delete the event “{ $title }” (all its sessions) on every node of the consortium?
event-when = When
event-organiser-when = In the organiser's time zone
event-repeats = Repeats
event-next-sessions = Next sessions
event-unlimited = No limit
event-online = online
event-date = Date
event-time = Starts at
event-hours = Hours
event-minutes = Minutes
event-fold-earlier = If this time happens twice (clocks go back), I mean the first one.
event-bad-date = Write a date like 2026-03-10.
event-bad-time = Write a time like 14:30.
event-bad-duration = Give a duration longer than zero.
event-bad-number = Write a whole number, 1 or more.
event-bad-repeat = Choose how the event repeats.
back-to-calendar = Back to the calendar
repeat-frequency = Repeats
repeat-none = Does not repeat
repeat-daily-choice = Daily
repeat-weekly-choice = Weekly
repeat-monthly-choice = Monthly
repeat-yearly-choice = Yearly
repeat-interval = Every how many (days, weeks, …)
repeat-weekdays = On these days (weekly)
repeat-ends = Ends
repeat-ends-never = Never
repeat-ends-count = After this many sessions
repeat-ends-until = On this date
repeat-custom = Custom rule: { $rule }
repeat-daily = { $n ->
    [one] Every day
   *[other] Every { $n } days
}
repeat-weekly = { $n ->
    [one] Every week
   *[other] Every { $n } weeks
}
repeat-monthly = { $n ->
    [one] Every month
   *[other] Every { $n } months
}
repeat-yearly = { $n ->
    [one] Every year
   *[other] Every { $n } years
}
repeat-on = on { $days }
repeat-count = { $n ->
    [one] once
   *[other] { $n } times
}
repeat-until = until { $date }

## My account
account-title = My account
account-settings = Language and time zone
account-language = Language
account-language-browser = As my browser prefers
account-zone = Time zone
account-zone-help = The calendar shows every session at its time in this zone.
account-bad-zone = “{ $zone }” is not a time zone.
account-feed = Subscribe to the calendar
account-feed-help = Calendar programs (Thunderbird, Outlook, phones) can follow the training calendar at a secret address of your own.
account-feed-make = Make my subscribe address
account-feed-secret = Keep this address to yourself: anyone who has it can read the calendar. Make a new one if it got out; the old one then stops working.
account-feed-renew = Make a new address
account-feed-revoke = Stop the address
account-feed-made = Your new subscribe address is ready.
account-feed-revoked = Your subscribe address no longer works.
account-copy = Copy
account-copied = Copied
account-password = Password
account-current-password = Current password
account-password-save = Change the password
account-password-changed = Your password has been changed.
account-wrong-password = The current password is wrong.

## Staff (admins)
staff-title = Staff accounts
staff-name = Account name
staff-name-help = Lower-case letters, digits, dots, dashes and underscores.
staff-role = Role
staff-role-of = Role of { $name }
staff-password = Password
staff-has-password = set
staff-no-password = not yet
staff-created = Created
staff-actions = Actions
staff-change-role = Change
staff-new-link = New password link
staff-remove = Remove
staff-remove-question = Remove the account { $name }? Its sessions end and its subscribe address stops working.
staff-add = Add an account
staff-exists = An account named { $name } exists already.
staff-no-such = There is no account named { $name }.
staff-not-yourself = You cannot remove your own account or take away your own admin role.
staff-link-for = Give this link to { $name } (it works once, for 7 days) to choose a password:
staff-link-help = Send it by a channel only they read. The operator can also run: r2com user add NAME --role ROLE
staff-cli-help = The node's operator can do the same with the r2com user commands.
role-reader = Reader (reads the library and the calendar)
role-editor = Editor (also adds and edits)
role-admin = Administrator (also manages accounts)

## Consortium (admins)
consortium-title = Consortium
consortium-none = This node is not in a consortium yet.
consortium-name = Name
consortium-id = Identifier
consortium-this-node = This node
consortium-members = Members
consortium-country = Country
consortium-nodes = Nodes
consortium-added = Member since
consortium-role-admin = Administrator
consortium-role-member = Member
consortium-revoked = Revoked { $when }: { $reason }
consortium-sync = Nodes and synchronisation
consortium-no-network = The network is not running.
consortium-no-peers = No other member nodes yet.
consortium-node = Node
consortium-connection = Connection
consortium-state = State
consortium-last-sync = Last synchronised
consortium-traffic = Sent / received
consortium-not-connected = not connected
consortium-direct = connected directly
consortium-relayed = connected through a relay (sync only, no files)
consortium-never-synced = not synchronised yet
consortium-in-sync = in sync
consortium-behind = behind: this node lacks { $we } changes, it lacks { $they }
consortium-key-revoked = revoked
consortium-cli-help = Invitations, promotions and revocations are done by the operator with the r2com CLI.

practice-written-in = Written in
practice-translations = In other languages
history-title = History
history-help = Every change to this practice, by the organisation whose node signed it, newest first.
history-when = When
history-organisation = Organisation
history-what = Change
history-created = created
history-edited = edited
history-deleted = deleted
history-restored = restored
history-unknown = unknown key { $key }…
history-bad-signature = its signature does not verify
history-more = { $count } earlier changes are not listed: `r2com history { $id }` shows them.
