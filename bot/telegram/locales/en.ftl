# English texts for the customer's Telegram bot and every outbound message.
# Inserted names (the brand, a category, an offer title) stand where no grammar changes them:
# after a colon, in quotes, or as the subject.

# The business's name: BRAND_NAME replaces it (core/messaging/locales.ts).
-brand = our shop
brand-name = { -brand }

## Outbound messages (core/messaging/render.ts)
offer-hello = Hello, { $name }! A message from { -brand }.
offer-hello-anonymous = Hello! A message from { -brand }.
offer-since = It has been a while since your last order, and we miss you.
offer-since-days = It has been { $days } { $days ->
        [one] day
       *[other] days
    } since your last order, and we miss you.
offer-line = Here is something just for you: { $title }.
offer-line-category = You often shop in our "{ $category }" section, so here is something just for you: { $title }.
offer-recommend = Something new for you in our "{ $category }" section.
offer-expires = Valid until { $date }.
offer-btn-accept = Use the offer
offer-btn-decline = Not interested
offer-btn-stop = Stop offers
survey-nps-question = How likely are you to recommend us to a friend? Tap a number: 0 means not at all, 10 means definitely.
survey-servqual-invite = Would you help us improve? Ten quick questions about our service, 1 to 7 each, about two minutes. You can pause at any time.
survey-servqual-btn-start = Start
ticket-ack = Thank you. Your request is logged as { $reference }; a person from our team will answer here.
ticket-reply = Reply on { $reference }:
    { $text }
ticket-file = A file from our team on { $reference }.
csat-request = Your request { $reference } is resolved. How satisfied are you with the help you got? 1 is very unhappy, 5 is very happy.
notice-generic = { $text }

## Linking
start-welcome = Hello, { $name }! I'm the chat assistant of { -brand }. I'll send you personal offers and short surveys now and then. /help shows everything I can do.
start-unlinked = Hello! I'm the chat assistant of { -brand }. To connect your customer account, tap "Share my phone number" below, or open the personal link from { -brand }.
btn-share-phone = Share my phone number
link-ok = Done, this chat is now connected to your customer account. /help shows what I can do; /stop turns off offers and surveys at any time.
link-already = This chat is already connected to your account. /help shows what I can do.
link-used = This link has already been used. Share your phone number with the button below, or ask { -brand } for a new link.
link-expired = This link has expired. Share your phone number with the button below, or ask { -brand } for a new link.
link-unknown = I don't recognise this link. Please check it, or share your phone number instead.
phone-linked = Thank you, I found your account and connected this chat.
phone-not-found = I couldn't find a customer of { -brand } with this phone number. Please open the personal link from { -brand }.
phone-not-own = Please share your own contact with the button below.
unlinked = I don't know you yet. Share your phone number with the button below, or open the personal link from { -brand }.
link-move-asked = This customer account is already connected to another Telegram chat. I've asked that chat to confirm the move; you'll hear from me here as soon as it does.
link-move-confirm = Someone opened your personal { -brand } link from another Telegram account. Move your customer account to that chat? This chat would then be disconnected.
link-move-btn-yes = Yes, move it
link-move-btn-no = No, keep it here
link-move-done = Done: your account is now connected to the other chat, and this one is disconnected.
link-move-kept = Your account stays connected to this chat, and that link no longer works. If it wasn't you, tell { -brand }.
link-move-refused = The chat already connected to this account did not confirm, so nothing changed. Share your phone number with the button below, or ask { -brand } for a new link.
mydata-verify = To send you a copy of your data, I need to know this chat is yours: share your phone number with the button below (or open the personal link from { -brand }), then send /mydata again.
help =
    Here is what I can do:
    /complaint - tell us about a problem; a person will answer here
    /survey - a short survey about our service
    /language - change the language
    /stop - no more offers or surveys
    /start - turn offers and surveys back on
    /mydata - get a copy of the data we hold about you
    /forget - delete your personal data

## Consent and data rights
optout-done = Done: no more offers or surveys. You can still write to us at any time, and /start turns them back on.
optout-already = Offers and surveys are already off. /start turns them back on.
optin-confirm = Would you like to receive personal offers and short surveys again?
optin-btn-yes = Yes, turn them on
optin-btn-no = No, thanks
optin-done = Welcome back! Offers and surveys are on again. /stop turns them off.
optin-cancel = All right, nothing changes.
mydata-caption = Here is all the data { -brand } holds about you, as a JSON file.
mydata-risk-high = high
mydata-risk-medium = medium
mydata-risk-low = low
forget-confirm = This deletes your name, contacts and conversation history with us and disconnects this chat. Anonymous statistics remain. This cannot be undone. Continue?
forget-btn-yes = Yes, delete my data
forget-btn-no = Cancel
forget-done = Your personal data has been deleted and this chat is disconnected. Goodbye, and thank you.
forget-cancel = Nothing was deleted.

## Languages
language-choose = Choose your language:
language-set = The language is now English.

## Offers
offer-accepted = Your personal code: { $code }
    Show it at the checkout or enter it when you order online from { -brand }, before { $date }.
offer-declined = Noted, thank you. We won't send you offers for a while.
offer-expired = Sorry, this offer has expired.
offer-already = You have already answered this offer.
offer-expired-note = This offer has expired.
offer-not-yours = This offer belongs to someone else.
offer-unavailable = This offer is no longer available.

## Buttons in general
callback-stale = This button is no longer active.
callback-invalid = I don't recognise this button.

## NPS
nps-followup-detractor = We're sorry to hear that. What went wrong? Please tell us in one message.
nps-followup-passive = Thank you! What would make it a 10 for you?
nps-followup-promoter = Thank you, that makes our day! What do you like most about us?
nps-thanks = Thank you for your feedback!
nps-ticket = We've passed this to our team as { $reference }; a person will get back to you here within { $hours } { $hours ->
        [one] hour
       *[other] hours
    }.

## SERVQUAL
servqual-progress = Question { $step } of { $total }
servqual-scale = 1 = strongly disagree, 7 = strongly agree
servqual-expect-tangibles = An excellent shop has modern equipment and tidy, appealing stores and materials.
servqual-perceive-tangibles = In my experience, { -brand } has modern equipment and tidy, appealing stores and materials.
servqual-expect-reliability = An excellent shop does what it promises, when it promises.
servqual-perceive-reliability = In my experience, { -brand } does what it promises, when it promises.
servqual-expect-responsiveness = Staff at an excellent shop are always willing to help and answer quickly.
servqual-perceive-responsiveness = In my experience, the staff of { -brand } are always willing to help and answer quickly.
servqual-expect-assurance = You feel safe and confident dealing with an excellent shop.
servqual-perceive-assurance = In my experience, dealing with { -brand } feels safe and reliable.
servqual-expect-empathy = An excellent shop gives customers individual attention.
servqual-perceive-empathy = In my experience, { -brand } gives customers individual attention.
servqual-done = That's all, thank you! Your answers help us improve.
servqual-not-now = Surveys are turned off for you. /start turns them back on.

## Complaints and tickets
complaint-prompt = Please describe what happened in one message; a person from our team will answer here.
complaint-added = Added to your request { $reference }.
csat-thanks = Thank you for your rating!

## Bad input
unsupported-media = I can only read text messages. Please write to me in words.
too-long = That message is too long for me. Please keep it under { $max } characters.
unknown-command = I don't know that command. /help shows what I can do.
greeting = Hello! /help shows what I can do.

## The conversation (core/conversation)
request-ack = Thank you. Your request is logged as { $reference }; a person from our team will answer here within { $hours } { $hours ->
        [one] hour
       *[other] hours
    }.
smalltalk-greeting = Hello! How can I help? /help shows what I can do.
smalltalk-thanks = You're welcome! Write any time.
smalltalk-emoji = 🙂
media-outside = Thank you for the file. If something went wrong, tell me about it in words (or send the photo again with a caption), and a person from our team will look at it.
servqual-btn-skip = Skip
servqual-btn-stop = Stop survey
servqual-stopped = The survey is stopped; thank you for the answers so far. /survey starts it again.
consent-ask = One question: would you like to receive personal offers and short surveys from { -brand } here? You can change your mind at any time with /stop or /start.

## Command menu (setMyCommands at start-up)
menu-start = Connect your account, or turn offers back on
menu-help = What I can do
menu-complaint = Tell us about a problem
menu-survey = A short survey about our service
menu-language = Change the language
menu-stop = No more offers or surveys
menu-mydata = A copy of the data we hold about you
menu-forget = Delete your personal data

## Churn reasons (worded from their codes by core/analytics/reasons.ts)
reason-overdue = no purchase for { $daysSince } days
reason-overdue-usual = no purchase for { $daysSince } days; usually every { $usualGapDays }
reason-no-purchase-yet = no purchase since joining { $tenureDays } days ago
reason-few-purchases = { $purchases ->
    [0] no purchases so far
    [1] only one purchase so far
    [2] only two purchases so far
   *[other] only { $purchases } purchases so far
}
reason-spending-down = spending down { $percent }% on the previous quarter
reason-small-orders = small orders (average { $averageOrder })
reason-detractor = detractor (NPS { $nps })
reason-low-csat = low satisfaction rating (CSAT { $csat } of 5)
reason-complaints-recent = { $last90 ->
    [1] one complaint in the last 90 days
    [2] two complaints in the last 90 days
    [3] three complaints in the last 90 days
   *[other] { $last90 } complaints in the last 90 days
}
reason-complaints-total = { $total ->
    [1] one complaint on record
    [2] two complaints on record
    [3] three complaints on record
   *[other] { $total } complaints on record
}
reason-declined-offers = { $declined ->
    [1] declined one offer
    [2] declined two offers
    [3] declined three offers
   *[other] declined { $declined } offers
}
reason-new-customer = customer for only { $tenureDays } days
reason-attribute-level = { $attribute } is { $value }
reason-attribute-number = { $attribute } { $value }
