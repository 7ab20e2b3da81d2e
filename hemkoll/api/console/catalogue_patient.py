"""The patient app's strings (hemkoll.api.mitt), Swedish and English: ``key: (sv, en)``,
merged into the console's catalogue (``catalogue.ENTRIES``), whose rules they follow. Written
for a patient: plain words, no abbreviations, "you"."""

from __future__ import annotations

PATIENT_ENTRIES: dict[str, tuple[str, str]] = {
    "mitt_brand": ("Mina värden", "My values"),
    "mitt_nav_home": ("Översikt", "Overview"),
    "mitt_nav_contact": ("Kontakta mig", "Contact me"),
    "mitt_nav_messages": ("Meddelanden", "Messages"),
    "mitt_nav_questionnaires": ("Frågor", "Questions"),
    "mitt_nav_goals": ("Det som är viktigt för mig", "What matters to me"),
    "mitt_nav_access": ("Vem har läst", "Who has looked"),
    # Sign-in
    "mitt_sign_in_title": ("Logga in med din kod", "Sign in with your code"),
    "mitt_sign_in_hint": (
        "Din sjuksköterska har gett dig en kod på tio tecken. Koden fungerar en gång.",
        "Your nurse has given you a code of ten characters. The code works once.",
    ),
    "mitt_code_label": ("Kod", "Code"),
    "mitt_code_hint": (
        "Till exempel ABCDE-FGH23. Stora eller små bokstäver går bra.",
        "For example ABCDE-FGH23. Capital or small letters are both fine.",
    ),
    "mitt_sign_in_missing": ("Skriv in din kod.", "Type in your code."),
    "mitt_sign_in_refused": (
        "Koden fungerar inte: den är fel, redan använd eller för gammal. Be din "
        "sjuksköterska om en ny.",
        "The code does not work: it is wrong, already used or too old. Ask your nurse for a "
        "new one.",
    ),
    "mitt_sign_in_too_many": (
        "För många försök. Vänta en kvart och försök igen.",
        "Too many attempts. Wait a quarter of an hour and try again.",
    ),
    # Overview
    "mitt_home_title": ("Dina värden", "Your values"),
    "mitt_targets_title": ("Dina mål", "Your targets"),
    "mitt_no_targets": ("Inga mål är satta ännu.", "No targets are set yet."),
    "mitt_targets_hint": (
        "Målen är dina egna; din vårdcentral kan ändra dem tillsammans med dig.",
        "The targets are your own; your health centre can change them with you.",
    ),
    "mitt_usual": (
        "Din vanliga {metric} är ungefär {value} {unit}.",
        "Your usual {metric} is about {value} {unit}.",
    ),
    "mitt_target_change_rise": (
        "Hör av dig om din {metric} ökar mer än {amount} {unit} på {days} dagar.",
        "Call if your {metric} rises more than {amount} {unit} in {days} days.",
    ),
    "mitt_target_change_fall": (
        "Hör av dig om din {metric} minskar mer än {amount} {unit} på {days} dagar.",
        "Call if your {metric} falls more than {amount} {unit} in {days} days.",
    ),
    "mitt_target_between": (
        "Din {metric} bör ligga mellan {low} och {high} {unit}.",
        "Your {metric} should stay between {low} and {high} {unit}.",
    ),
    "mitt_target_above": (
        "Din {metric} bör ligga över {value} {unit}.",
        "Your {metric} should stay above {value} {unit}.",
    ),
    "mitt_target_below": (
        "Din {metric} bör ligga under {value} {unit}.",
        "Your {metric} should stay below {value} {unit}.",
    ),
    "mitt_target_symptom": (
        "Hör av dig om din {metric} är {score} eller mer (0 är ingen, 3 är svår).",
        "Call if your {metric} is {score} or more (0 is none, 3 is severe).",
    ),
    "mitt_alerts_title": ("Det vi har sett", "What we have noticed"),
    "mitt_no_alerts": (
        "Dina värden har inte gett några larm de senaste 90 dagarna.",
        "Your values have not raised any alerts in the last 90 days.",
    ),
    # What an open alert's severity promises (docs/patient-messages.md): red, contact now;
    # yellow, the same day it opened.
    "mitt_alert_open_red": (
        "Brådskande: din vårdcentral har fått larmet och ska kontakta dig nu. Om de inte har "
        "hört av sig, ring dem.",
        "Urgent: your health centre has the alert and is to contact you now. If they have not "
        "been in touch, call them.",
    ),
    "mitt_alert_open_red_phone": (
        "Brådskande: din vårdcentral har fått larmet och ska kontakta dig nu. Om de inte har "
        "hört av sig, ring dem på {phone}.",
        "Urgent: your health centre has the alert and is to contact you now. If they have not "
        "been in touch, call them on {phone}.",
    ),
    "mitt_alert_open_yellow": (
        "Din vårdcentral har fått larmet och ska kontakta dig samma dag.",
        "Your health centre has the alert and is to contact you the same day.",
    ),
    "mitt_alert_acknowledged": (
        "Din sjuksköterska har sett det och hör av sig till dig.",
        "Your nurse has seen it and will be in touch.",
    ),
    "mitt_alert_resolved": ("Klart: {outcome}.", "Done: {outcome}."),
    "mitt_outcome_contacted_patient": ("vi har pratat med dig", "we have talked with you"),
    "mitt_outcome_medication_adjusted": ("din medicin har justerats", "your medicine was adjusted"),
    "mitt_outcome_referred": ("du har fått en remiss", "you have been referred"),
    "mitt_outcome_no_action_needed": ("inget behövde göras", "nothing needed to be done"),
    "mitt_outcome_false_alarm": ("det var inget att oroa sig för", "it was nothing to worry about"),
    "mitt_outcome_reading_arrived": ("mätvärdet kom fram", "the reading arrived"),
    "mitt_values_title": ("Dina mätvärden", "Your readings"),
    "mitt_period_label": ("Period", "Period"),
    "mitt_period": ("{n} dagar", "{n} days"),
    # Contact
    "mitt_contact_title": ("Kontakta mig", "Please contact me"),
    "mitt_contact_hint": (
        "Be din vårdcentral att höra av sig. De ser din begäran under dagtid.",
        "Ask your health centre to get in touch. They see your request during the day.",
    ),
    # The numbers are the programme's (PatientAdvice: advice_line, emergency_number).
    "mitt_urgent_hint": (
        "Är det bråttom? Ring {line}, eller {emergency} vid fara för livet.",
        "Is it urgent? Call {line}, or {emergency} if a life is in danger.",
    ),
    "mitt_urgent_line": ("Är det bråttom? Ring {line}.", "Is it urgent? Call {line}."),
    "mitt_urgent_emergency": (
        "Är det bråttom? Ring din vårdcentral, eller {emergency} vid fara för livet.",
        "Is it urgent? Call your health centre, or {emergency} if a life is in danger.",
    ),
    "mitt_urgent_centre": (
        "Är det bråttom? Ring din vårdcentral.",
        "Is it urgent? Call your health centre.",
    ),
    "mitt_worry_label": ("Hur orolig är du?", "How worried are you?"),
    "mitt_worry_1": ("Lite orolig", "A little worried"),
    "mitt_worry_2": ("Ganska orolig", "Quite worried"),
    "mitt_worry_3": ("Mycket orolig", "Very worried"),
    "mitt_reason_label": ("Vad gäller det? (om du vill)", "What is it about? (if you wish)"),
    "mitt_contact_send": ("Be om kontakt", "Ask for contact"),
    "mitt_contact_sent": (
        "Tack. Din vårdcentral har fått din begäran.",
        "Thank you. Your health centre has your request.",
    ),
    "mitt_requests_title": ("Dina begäranden", "Your requests"),
    "mitt_no_requests": (
        "Du har inte bett om kontakt ännu.",
        "You have not asked for contact yet.",
    ),
    "mitt_request_received": (
        "Mottagen: din vårdcentral har fått den.",
        "Received: your health centre has it.",
    ),
    "mitt_request_seen": (
        "Sedd: din sjuksköterska har läst den och hör av sig.",
        "Seen: your nurse has read it and will be in touch.",
    ),
    "mitt_request_handled": ("Klar: din vårdcentral har tagit hand om den.", "Done: handled."),
    "mitt_error_worry": ("Välj hur orolig du är.", "Choose how worried you are."),
    "mitt_error_too_long": ("Texten är för lång.", "The text is too long."),
    # Messages
    "mitt_messages_title": ("Meddelanden", "Messages"),
    "mitt_new_message": (
        "Nytt meddelande till din vårdcentral",
        "New message to your health centre",
    ),
    "mitt_send": ("Skicka", "Send"),
    "mitt_reply": ("Svara", "Reply"),
    "mitt_thread": ("Samtal från", "Conversation from"),
    "mitt_you": ("Du", "You"),
    "mitt_no_messages": ("Inga meddelanden ännu.", "No messages yet."),
    "mitt_error_message_empty": ("Skriv ett meddelande.", "Write a message."),
    # Questionnaires
    "mitt_questionnaires_title": ("Frågor till dig", "Questions for you"),
    "mitt_due": ("Dags att svara.", "Time to answer."),
    "mitt_not_due": ("Besvarad, inget att göra nu.", "Answered, nothing to do now."),
    "mitt_last_answered": ("Senast besvarad {when}.", "Last answered {when}."),
    "mitt_send_answers": ("Skicka svaren", "Send the answers"),
    "mitt_error_answer": ("Välj ett av svaren.", "Choose one of the answers."),
    "mitt_follow_up_why": (
        "Du har svarat måttligt eller mycket. En fråga till innan svaren skickas.",
        "You answered moderately or severely. One more question before the answers are sent.",
    ),
    "mitt_answers_saved": ("Tack, dina svar har sparats.", "Thank you, your answers are saved."),
    "mitt_answers_told": ("Om dina svar:", "About your answers:"),
    # What matters to me
    "mitt_goals_title": ("Det som är viktigt för mig", "What matters to me"),
    "mitt_goals_hint": (
        "Skriv vad du vill kunna göra, och hur du vill bli kontaktad. Din vårdcentral ser det "
        "när de tittar på dina värden.",
        "Write what you want to be able to do, and how you want to be contacted. Your health "
        "centre sees it when they look at your values.",
    ),
    "mitt_kind_label": ("Vad är det?", "What is it?"),
    "mitt_kind_goal": ("Mål", "Goal"),
    "mitt_kind_preference": ("Önskemål", "Preference"),
    "mitt_goal_text": ("Med dina ord", "In your own words"),
    "mitt_add": ("Lägg till", "Add"),
    "mitt_remove": ("Ta bort", "Remove"),
    "mitt_error_kind": ("Välj mål eller önskemål.", "Choose goal or preference."),
    "mitt_error_goal_text": (
        "Skriv något, högst 300 tecken.",
        "Write something, at most 300 characters.",
    ),
    # Access log
    "mitt_access_title": ("Vem har läst mina uppgifter", "Who has looked at my data"),
    "mitt_access_hint": (
        "Varje gång någon i vården läser eller ändrar dina uppgifter här sparas det. Dina egna "
        "besök visas inte.",
        "Each time someone in your care reads or changes your data here, it is kept. Your own "
        "visits are not shown.",
    ),
    "mitt_access_when": ("När", "When"),
    "mitt_access_unit": ("Vårdenhet", "Care unit"),
    "mitt_access_role": ("Roll", "Role"),
    "mitt_access_what": ("Vad", "What"),
    "mitt_no_access": (
        "Ingen har läst dina uppgifter ännu.",
        "No one has looked at your data yet.",
    ),
    "mitt_object_readings": ("Mätvärden", "Readings"),
    "mitt_object_alert": ("Larm", "Alert"),
    "mitt_object_thresholds": ("Gränsvärden", "Thresholds"),
    "mitt_object_contact_log": ("Kontaktlogg", "Contact log"),
    "mitt_object_care_message": ("Meddelande", "Message"),
    "mitt_object_contact_request": ("Begäran om kontakt", "Contact request"),
    "mitt_object_patient": ("Dina uppgifter", "Your details"),
    "mitt_object_patient_goals": ("Det som är viktigt för dig", "What matters to you"),
    "mitt_object_patient_code": ("Inloggningskod", "Sign-in code"),
    "mitt_object_other": ("Övrigt", "Other"),
    # Staff side (console): the patient app's parts there.
    "patient_code_button": ("Skapa inloggningskod för patienten", "Create a sign-in code"),
    "patient_code_title": ("Inloggningskod", "Sign-in code"),
    "patient_code_text": (
        "Ge koden till patienten. Den gäller en gång, till och med {until}, på {url}.",
        "Give the code to the patient. It works once, until {until}, at {url}.",
    ),
    "patient_code_print": ("Skriv ut", "Print"),
    "contact_requests_title": ("Patienter som vill bli kontaktade", "Patients asking for contact"),
    "contact_request_worry": ("Oro", "Worry"),
    "contact_request_seen": ("Markera som sedd", "Mark as seen"),
    "contact_request_handled": ("Markera som klar", "Mark as handled"),
    "contact_request_state_received": ("Ny", "New"),
    "contact_request_state_seen": ("Sedd", "Seen"),
    "contact_request_state_handled": ("Klar", "Handled"),
    "unread_messages_title": ("Olästa meddelanden från patienter", "Unread messages from patients"),
    "care_messages_title": ("Meddelanden med patienten", "Messages with the patient"),
    "care_message_reply": ("Svar till patienten", "Reply to the patient"),
    "care_message_new": ("Nytt meddelande till patienten", "New message to the patient"),
    "care_message_send": ("Skicka", "Send"),
    "care_message_patient": ("Patienten", "The patient"),
    "goals_title": ("Det som är viktigt för patienten", "What matters to the patient"),
    "goals_none": ("Patienten har inte skrivit något.", "The patient has not written anything."),
    "goal_kind_goal": ("Mål", "Goal"),
    "goal_kind_preference": ("Önskemål", "Preference"),
    "questionnaire_latest_title": ("Senaste frågesvar", "Latest questionnaire answers"),
    "questionnaire_score": ("{title}: {score} ({when})", "{title}: {score} ({when})"),
}

PATIENT_PLURALS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "mitt_unread": (
        ("Du har {n} nytt meddelande.", "Du har {n} nya meddelanden."),
        ("You have {n} new message.", "You have {n} new messages."),
    ),
}
