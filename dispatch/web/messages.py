"""Messages the services and schemas write in English, listed so pybabel extracts them.

The pages show a service's message through the `tr` filter (dispatch.schemas.translate), which
translates it when the catalog has it word for word; messages that quote values stay in English.
"""

from __future__ import annotations

from dispatch.web.i18n import _l

SERVICE_MESSAGES = (
    # the inbox of replies (dispatch.replies)
    _l("No such record."), _l("Must not be before the start date."),
    _l("No such active label."), _l("No such active user."), _l("Nothing to change."),
    _l("Give either the replies or a filter."), _l("Choose at least one reply."),
    _l("At most 1000 replies at once."), _l("Some of these replies do not exist."),
    _l("More than 1000 replies match: narrow the filter."),
    _l("A label with this name exists."), _l("Give one value."),
    # report periods (dispatch.reports.scope) and documents
    _l("Give a date."), _l("Not a date: write it as dd/mm/yyyy."),
    _l("Give a date between 2000 and 2100."), _l("The end date is before the start date."),
    _l("A report covers at most two years: choose a shorter range."),
    _l("No such report document."),
    # plans and phases (dispatch.campaigns.plans); those with ": " are followed by the dates
    _l("Give the plan a title."), _l("Give the phase a name."), _l("Give the first day."),
    _l("Give the last day."), _l("Ends before the first day"), _l("A phase starts before it"),
    _l("A phase ends after it"), _l("Before the plan starts"), _l("After the plan ends"),
    _l("Overlaps another phase"), _l("Unknown phase"),
    _l("Campaigns belong to this phase: move them to another phase first."),
    # placeholders of a personalised text (dispatch.campaigns.placeholders)
    _l("A '}' alone (write '}}' for a brace), at character"),
    _l("A '{' that is not closed (write '{{' for a brace), at character"),
    _l("Not a placeholder (use {ho_ten}, {xa}, {huyen} or an imported column, in letters, "
       "digits and _), at character"),
    _l("A default longer than 200 characters, at character"),
    _l("Not a Vietnamese mobile number."),
    # what a campaign asks back (dispatch.replies.ask; those with a value are matched by
    # dispatch.schemas.translate.PATTERNS)
    _l("Choose none, free or survey."), _l("A survey needs its question."),
    _l("A survey needs at least two choices."),
    _l("Give the choice a key (1, 2, … or a word)."), _l("Give the choice a label."),
    _l("Give between 1 and %(max)s days."),
    _l("At most %(max)s choices: an SMS has little room."),
    _l("Two choices have the key “%(key)s”."),
    _l("“%(word)s” is an opt-out keyword: whoever answers it would be opted out."),
    _l("“%(word)s” already answers choice %(key)s."),
    # the test list and test sends (dispatch.campaigns.testlist, testsend)
    _l("Give a name."), _l("At most 120 characters."), _l("Already on the test list."),
    _l("Not on the test list."), _l("This number is already on the test list."),
    _l("This installation is already on the test list."),
    _l("No installation of the app has registered with this id."),
    _l("Give a phone number, an app installation, or both."),
    _l("The test list holds at most 20 members. Remove one first."),
    _l("The test list is empty. An admin adds staff numbers and devices to it."),
    _l("Only a campaign or a correction can be sent as a test."),
    _l("Test sends are for campaigns not yet approved."),
    _l("This member has no number or installation for the campaign's channels."),
    _l("No member of the test list has a number or installation for the campaign's "
       "channels."),
    # campaigns
    _l("Give a title."), _l("SMS needs a text."), _l("SMS needs a sender (brandname)."),
    _l("A channel strategy needs both channels (SMS and app)."),
    _l("Give the minutes a push may stay unopened."),
    _l("Give at least 5 minutes, and less than the campaign's validity."),
    _l("Push needs a title."), _l("Push needs a body."),
    _l("SMS needs at least one list or locality."),
    _l("Push needs at least one locality, or all_app_users."),
    _l("Reaches app users only: choose push or both."),
    _l("Give a time in the future, or leave empty to send on launch."),
    _l("The send time has passed; give a new one or leave it empty."),
    _l("The send window must end after it starts (same day)."),
    _l("Give a reason."), _l("Not the current snapshot."),
    _l("Only urgent campaigns may be exempt from per-recipient caps."),
    _l("The campaign was changed by someone else meanwhile; reload it."),
    _l("You wrote or edited this campaign: another person must approve it."),
    _l("You wrote or edited this campaign: another person must reject it."),
    _l("The content no longer matches what was approved; submit it again."),
    _l("The audience was frozen again since you reviewed it; review it again."),
    # corrections (dispatch.campaigns.corrections)
    _l("A test or an acknowledgement cannot be corrected."),
    _l("Only a campaign that was sent can be corrected."),
    _l("The original is no longer sending: there is nothing to cancel."),
    _l("You may not cancel campaigns."),
    _l("This campaign was approved before Loa froze audiences at submission: nobody approved "
       "an exact list of recipients. Cancel it and submit a copy for approval."),
    _l("Only the author may delete a draft."),
    _l("There are no messages in those statuses to retry."),
    _l("Retry failed and/or unknown messages only."),
    _l("This key is reserved by Firebase."),
    _l("Give a date and time, or leave it empty."),
    _l("Give a brandname (at most 11 letters, digits or . - _ & +)."),
    # accounts
    _l("Wrong password."), _l("Use at least 12 characters."), _l("The two passwords differ."),
    _l("Use at most 200 characters."),
    _l("Use visible characters, not only spaces or invisible ones."),
    _l("Do not put your username in your password."),
    _l("This password is too easy to guess: use a few uncommon words together."),
    _l("Choose a password you have not used here."),
    _l("Set up two-factor sign-in first."),
    # zxcvbn's reasons (dispatch.access.passwords shows them after the rule)
    _l("This is a top-10 common password."), _l("This is a top-100 common password."),
    _l("This is a very common password."), _l("This is similar to a commonly used password."),
    _l("A word by itself is easy to guess."),
    _l("Names and surnames by themselves are easy to guess."),
    _l("Common names and surnames are easy to guess."),
    _l("Straight rows of keys are easy to guess."),
    _l("Short keyboard patterns are easy to guess."),
    _l('Repeats like "aaa" are easy to guess.'),
    _l('Sequences like "abc" or "6543" are easy to guess.'), _l("Recent years are easy to guess."),
    _l("Dates are often easy to guess."),
    _l("Give the token a name."), _l("Give a number of days from 1 to 3650, or leave it empty."),
    _l("Taken."), _l("Give at least one role."),
    _l("You cannot remove your own admin role or deactivate yourself."),
    _l("Change your one-time password first."),
    # audiences
    _l("Say why the address is opted out."), _l("Say why the opt-out is lifted."),
    _l("Already opted out."), _l("Give the list a name."), _l("Give the installation id."),
    _l("empty"), _l("invalid number"), _l("not a mobile number"), _l("not a Vietnamese number"),
    _l("unknown locality"), _l("ambiguous locality: use its code"),
    _l("locality is no longer active"), _l("contains letters"),
    _l("contains a character that is not a digit, space, . - ( ) or a leading +"),
    _l("a quote opened on this line is not closed on it (a cell cannot span lines)"),
    _l("a cell is longer than the CSV reader allows"),
    _l("above the header row: not read as a contact"),
    _l("unknown column (prefix it with attr_ to keep it as an attribute)"),
    _l("unknown operator: use one of viettel, vinaphone, mobifone, vietnamobile, gmobile, "
       "itelecom, other"),
    _l("The file has a header but no data rows."),
    _l("Cancelled: nothing was imported."),
    _l("Cancelled before it started: nothing was imported."),
    _l("The uploaded file was lost before the import started: import it again."),
    _l("The list was deleted."),
    # settings
    _l("The window must start before it ends."), _l("Use 1-20 capital letters or digits."),
    _l("Use HH:MM, 24-hour local time."),
    # schema checks (marshmallow's own words)
    _l("Missing data for required field."), _l("Not a valid integer."), _l("Not a valid URL."),
    _l("Field may not be null."), _l("Shorter than minimum length 1."),
    _l("Give a URL or deep link (scheme:...)."), _l("Not a valid string."),
    # the field types and rules of every schema (the values matched by
    # dispatch.schemas.translate.PATTERNS)
    _l("Longer than maximum length %(max)s."), _l("Shorter than minimum length %(min)s."),
    _l("Length must be between %(min)s and %(max)s."),
    _l("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    _l("Must be one of: %(choices)s."), _l("Contains a control character (%(code)s)."),
    _l("Contains a line break (%(code)s)."), _l("Give a link starting with one of %(schemes)s"),
    _l("Contains a NUL character."), _l("Contains an invalid character (a lone UTF-16 surrogate)."),
    _l("Give a date between 2000 and 2100."), _l("Not a valid email address."),
    _l("Unknown field."), _l("Give at least one role."), _l("Not a valid date."),
    _l("Not a valid datetime."),
    # webhooks (dispatch.schemas.hooks.check_url)
    _l("At most 2000 characters."), _l("A URL has no spaces or control characters."),
    _l("Use an http:// or https:// URL."), _l("The URL has no host."),
    _l("No user name or password in the URL: Loa signs each call instead."),
    _l("Not a valid port."),
    # admin pages and the API's schemas (read by tests/web/test_refusal_words.py)
    _l("A locality cannot be its own parent."), _l("Give the key a name (the app it is for)."),
    _l("Must be at least 1."), _l("Use 8 to 128 letters, digits, '.', '_', ':' or '-'."),
    _l("An FCM registration token has only letters, digits, '_', ':' and '-'."),
    _l("Give an answer."), _l("Use a language tag such as 'vi' or 'vi-VN'."),
    _l("Use letters, digits, '.', '_' or '-'."), _l("until is before since."),
    _l("Use a-z, 0-9, '_' or '-'."),
    # pages
    _l("Your roles do not allow this."), _l("The CSRF token is missing."),
    _l("The CSRF session token is missing."), _l("The CSRF token is invalid."),
    _l("The CSRF tokens do not match."),
)
