"""Every string of the console, Swedish and English side by side: ``key: (sv, en)``.

Placeholders are ``str.format`` fields (``{n}``, ``{patient}``, ...), the same in both; counts
have a singular and a plural form (``_PLURALS``, written with ``Formatter.count``). A test
checks that every key a template or module uses is here and that both languages name the same
placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hemkoll.api.console.catalogue_patient import PATIENT_ENTRIES, PATIENT_PLURALS

MONTHS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "sv": ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
        "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    }
)

_ENTRIES: dict[str, tuple[str, str]] = {
    "lang_code": ("sv", "en"),
    # Frame
    "skip_to_content": ("Hoppa till innehållet", "Skip to content"),
    "nav_label": ("Huvudmeny", "Main menu"),
    "nav_worklist": ("Arbetslista", "Worklist"),
    "nav_patients": ("Patienter", "Patients"),
    "nav_follow_up": ("Uppföljning", "Follow-up"),
    "sign_out": ("Logga ut", "Sign out"),
    "role_nurse": ("sjuksköterska", "nurse"),
    "role_clinician": ("läkare", "clinician"),
    "role_admin": ("administratör", "administrator"),
    # Sign-in
    "sign_in_title": ("Logga in", "Sign in"),
    "sign_in": ("Logga in", "Sign in"),
    "sign_in_hint": (
        "Klistra in din personliga API-nyckel (från din administratör, hemkoll token create).",
        "Paste your personal API token (from your administrator, hemkoll token create).",
    ),
    "token_label": ("API-nyckel", "API token"),
    "token_hint": (
        "Nyckeln sparas bara i en sessionskaka i den här webbläsaren; logga ut när du är klar.",
        "The token is kept only in a session cookie of this browser; sign out when you are done.",
    ),
    "sign_in_refused": (
        "Nyckeln känns inte igen, har gått ut eller har dragits tillbaka.",
        "The token is unknown, expired or revoked.",
    ),
    "sign_in_missing": ("Klistra in din API-nyckel.", "Paste your API token."),
    "sign_in_forbidden": (
        "Kontot får inte använda konsolen.",
        "This account may not use the console.",
    ),
    # The access-log review (administrators)
    "nav_access_review": ("Loggranskning", "Access-log review"),
    "review_title": ("Granskning av åtkomstloggen", "Access-log review"),
    "review_intro": (
        "Granska åtkomsterna till patienternas uppgifter systematiskt och stickprovsvis, och "
        "dokumentera granskningen (HSLF-FS 2016:40 kap. 4).",
        "Review the accesses to patients' data systematically and at random, and document "
        "the review (HSLF-FS 2016:40 ch. 4).",
    ),
    "review_recorded": ("Granskningen är sparad.", "The review is recorded."),
    "review_kind": ("Urval", "Selection"),
    "review_kind_random": ("Stickprov", "Random sample"),
    "review_kind_no_care_relationship": (
        "Åtkomst utan vårdrelation och utan öppet larm",
        "Access without a care relationship or an open alert",
    ),
    "review_kind_emergency": ("Nödåtkomst", "Emergency access"),
    "review_kind_user": ("En användares åtkomster", "One user's accesses"),
    "review_from": ("Från", "From"),
    "review_until": ("Till och med", "Until"),
    "review_staff": ("Användarens id", "User's id"),
    "review_show": ("Visa", "Show"),
    "review_col_at": ("Tid", "Time"),
    "review_col_started": ("Startad", "Started"),
    "review_col_staff": ("Användare", "User"),
    "review_col_unit": ("Vårdenhet", "Care unit"),
    "review_col_patient": ("Patient", "Patient"),
    "review_col_action": ("Åtgärd", "Action"),
    "review_col_basis": ("Grund", "Basis"),
    "review_col_reason": ("Skäl", "Reason"),
    "review_col_accesses": ("Åtkomster", "Accesses"),
    "review_col_reviewed": ("Granskad", "Reviewed"),
    "review_not_yet": ("Inte än", "Not yet"),
    "review_record": ("Dokumentera granskningen", "Record the review"),
    "review_finding": ("Resultat", "Finding"),
    "review_finding_no_remark": ("Utan anmärkning", "No remark"),
    "review_finding_remark": ("Anmärkning", "Remark"),
    "review_finding_misuse_suspected": ("Misstänkt obehörig åtkomst", "Misuse suspected"),
    "review_note": ("Anteckning (krävs vid anmärkning)", "Note (required with a remark)"),
    "review_save": ("Spara granskningen", "Record the review"),
    "review_past": ("Senaste granskningar", "Recent reviews"),
    "review_none": ("Inga granskningar än.", "No reviews yet."),
    # Sign-in with the region's identity provider (OpenID Connect)
    "sign_in_oidc_hint": (
        "Logga in med ditt SITHS-kort eller din e-legitimation hos regionens inloggningstjänst.",
        "Sign in with your SITHS card or e-ID at the region's identity provider.",
    ),
    "sign_in_oidc": ("Logga in via inloggningstjänsten", "Sign in with the identity provider"),
    "signed_in_title": ("Inloggad", "Signed in"),
    "signed_in_continue": ("Fortsätt till konsolen", "Continue to the console"),
    "oidc_refused_title": ("Inloggningen nekades", "Sign-in refused"),
    "oidc_refused_unknown_person": (
        "Du finns inte som användare i hemkoll. Be din administratör att lägga upp dig med "
        "ditt HSA-id.",
        "You are not a user of hemkoll. Ask your administrator to add you with your HSA id.",
    ),
    "oidc_refused_no_assignment": (
        "Du har inget medarbetaruppdrag vid din vårdenhet i hemkoll.",
        "You have no assignment (medarbetaruppdrag) at your care unit in hemkoll.",
    ),
    "oidc_refused_purpose": (
        "Ditt medarbetaruppdrag har inte syftet vård och behandling.",
        "Your assignment's purpose is not care and treatment (vård och behandling).",
    ),
    "oidc_refused_expired": (
        "Inloggningen tog för lång tid eller startades inte här. Försök igen.",
        "The sign-in took too long or was not started here. Try again.",
    ),
    "oidc_refused_provider": (
        "Inloggningstjänsten svarade inte som väntat. Försök igen om en stund.",
        "The identity provider did not answer as expected. Try again in a while.",
    ),
    "oidc_refused_recorded": (
        "Försöket har loggats.",
        "The attempt has been recorded.",
    ),
    "oidc_try_again": ("Försök igen", "Try again"),
    # Problems
    "problem_403": ("Inte tillåtet", "Not allowed"),
    "problem_403_hint": (
        "Din roll får inte göra detta, eller så kom förfrågan inte från konsolen.",
        "Your role may not do this, or the request did not come from the console.",
    ),
    "problem_404": ("Hittades inte", "Not found"),
    "problem_404_hint": (
        "Det finns inget sådant, eller så hör det till en annan vårdcentral.",
        "There is no such thing, or it belongs to another health centre.",
    ),
    "problem_409": ("Någon annan hann före", "Someone else got there first"),
    "problem_409_hint": (
        "Larmet har ändrats sedan sidan visades. Listan har uppdaterats.",
        "The alert changed since the page was shown. The list has been refreshed.",
    ),
    "problem_413": ("För mycket text", "Too much text"),
    "problem_413_hint": ("Korta ner texten och försök igen.", "Shorten the text and try again."),
    "problem_422": ("Något behöver rättas", "Something needs correcting"),
    "problem_422_hint": (
        "Kontrollera uppgifterna och försök igen.",
        "Check what you entered and try again.",
    ),
    "problem_other": ("Något gick fel", "Something went wrong"),
    "problem_other_hint": (
        "Försök igen om en stund. Felet är loggat.",
        "Try again in a moment. The error has been logged.",
    ),
    # Form errors: beside the field they are about. Ranges come from the rules' own bounds;
    # {low} and {high} are figures, the last with its unit ("300 slag/min").
    "form_has_errors": (
        "Något behöver rättas: se meddelandena vid fälten.",
        "Something needs correcting: see the messages beside the fields.",
    ),
    "error_value_between": (
        "Ange ett värde mellan {low} och {high}.",
        "Enter a value between {low} and {high}.",
    ),
    "error_whole_between": (
        "Ange ett heltal mellan {low} och {high}.",
        "Enter a whole number between {low} and {high}.",
    ),
    "error_value_above": ("Ange ett värde större än {low}.", "Enter a value greater than {low}."),
    "error_whole_above": (
        "Ange ett heltal större än {low}.",
        "Enter a whole number greater than {low}.",
    ),
    "error_value_at_least": ("Ange ett värde på minst {low}.", "Enter a value of at least {low}."),
    "error_whole_at_least": (
        "Ange ett heltal på minst {low}.",
        "Enter a whole number of at least {low}.",
    ),
    "error_value_below": ("Ange ett värde mindre än {high}.", "Enter a value less than {high}."),
    "error_whole_below": (
        "Ange ett heltal mindre än {high}.",
        "Enter a whole number less than {high}.",
    ),
    "error_value_at_most": ("Ange ett värde på högst {high}.", "Enter a value of at most {high}."),
    "error_whole_at_most": (
        "Ange ett heltal på högst {high}.",
        "Enter a whole number of at most {high}.",
    ),
    "error_value": ("Ange ett tal.", "Enter a number."),
    "error_whole": ("Ange ett heltal.", "Enter a whole number."),
    "error_band_order": (
        "Den övre gränsen måste vara högre än den nedre ({low}).",
        "The upper limit must be above the lower limit ({low}).",
    ),
    "error_band_order_low": (
        "Den nedre gränsen måste vara lägre än den övre ({high}).",
        "The lower limit must be below the upper limit ({high}).",
    ),
    "error_red_low_above_yellow": (
        "Röd nedre gräns får inte vara högre än gul nedre gräns ({yellow}).",
        "The red lower limit must not be above the yellow lower limit ({yellow}).",
    ),
    "error_yellow_low_below_red": (
        "Gul nedre gräns får inte vara lägre än röd nedre gräns ({red}).",
        "The yellow lower limit must not be below the red lower limit ({red}).",
    ),
    "error_red_high_below_yellow": (
        "Röd övre gräns får inte vara lägre än gul övre gräns ({yellow}).",
        "The red upper limit must not be below the yellow upper limit ({yellow}).",
    ),
    "error_yellow_high_above_red": (
        "Gul övre gräns får inte vara högre än röd övre gräns ({red}).",
        "The yellow upper limit must not be above the red upper limit ({red}).",
    ),
    "error_red_below_yellow": (
        "Röd nivå får inte vara lägre än gul ({yellow}).",
        "The red level must not be below the yellow level ({yellow}).",
    ),
    "error_yellow_above_red": (
        "Gul nivå får inte vara högre än röd ({red}).",
        "The yellow level must not be above the red level ({red}).",
    ),
    "error_recovery_above_yellow": (
        "Återhämtningsnivån måste vara lägre än öppningsnivån ({opening}).",
        "The recovery level must be below the opening level ({opening}).",
    ),
    "error_opening_below_recovery": (
        "Öppningsnivån måste vara högre än återhämtningsnivån ({recovery}).",
        "The opening level must be above the recovery level ({recovery}).",
    ),
    "error_needs_level": (
        "Ange minst en nivå, gul eller röd.",
        "Enter at least one level, yellow or red.",
    ),
    "error_unexpected": (
        "Ändringen gick inte att göra med de här värdena. Kontrollera dem och försök igen; "
        "felet är loggat.",
        "The change could not be made with these values. Check them and try again; the error "
        "has been logged.",
    ),
    "error_reason_required": ("Skriv varför regeln ändras.", "Write why the rule is changed."),
    "error_outcome_required": ("Välj ett utfall.", "Choose an outcome."),
    "error_date": (
        "Ange ett datum, till exempel {example}.",
        "Enter a date, for example {example}.",
    ),
    "error_period_order": (
        "Perioden måste börja samma dag som den slutar eller tidigare.",
        "The period must start on or before the day it ends.",
    ),
    "error_period_too_early": ("Välj ett senare datum.", "Choose a later date."),
    "back_to_start": ("Till startsidan", "Back to the start page"),
    # Emergency access from a patient page that answers "not found" (docs/access.md).
    "emergency_title": ("Nödåtkomst", "Emergency access"),
    "emergency_explain": (
        "Behöver du patientens uppgifter nu och saknar behörighet? Ange varför. Åtkomsten gäller "
        "i fyra timmar, bara för dig, och granskas i efterhand.",
        "Do you need the patient's data now and have no access? Say why. The access lasts four "
        "hours, for you alone, and is reviewed afterwards.",
    ),
    "emergency_reason": ("Skäl (minst 10 tecken)", "Reason (at least 10 characters)"),
    "emergency_submit": ("Begär nödåtkomst", "Request emergency access"),
    # Worklist
    "worklist_title": ("Arbetslista", "Worklist"),
    "worklist_hint": (
        "Öppna och kvitterade larm: röda först, sedan äldst först.",
        "Open and acknowledged alerts: red first, then oldest first.",
    ),
    "updated_at": ("uppdaterad", "updated"),
    "worklist_empty": ("Inga öppna larm. Bra!", "No open alerts."),
    "severity_red": ("Röd", "Red"),
    "severity_yellow": ("Gul", "Yellow"),
    "opened": ("öppnat", "opened"),
    "ago": ("för {age} sedan", "{age} ago"),
    "just_now": ("nyss", "just now"),
    "measured": ("mätt", "measured"),
    "deadline_passed": ("fristen gick ut", "deadline passed"),
    "arrived_late": ("sen ankomst", "arrived late"),
    "arrived_late_title": (
        "Mätningen var mer än ett dygn gammal när larmet öppnades: inte en ny händelse.",
        "The reading was more than a day old when the alert opened: not news.",
    ),
    "outcome_reading_arrived": (
        "Avslutat av reglerna: mätningar från perioden kom fram",
        "Resolved by the rules: readings from the period arrived",
    ),
    "state_open": ("Öppet", "Open"),
    "state_acknowledged": ("Kvitterat", "Acknowledged"),
    "state_resolved": ("Avslutat", "Resolved"),
    "assigned_to": ("tilldelat {name}", "assigned to {name}"),
    "you": ("dig", "you"),
    "someone": ("någon", "someone"),
    "escalated": ("eskalerat", "escalated"),
    # An escalated alert's hand-over between the health centre and the home care (issue 16).
    "handover_acknowledged": ("Kvitterat av {name} ({unit})", "Acknowledged by {name} ({unit})"),
    "handover_commented": ("{name} ({unit}) skrev", "{name} ({unit}) wrote"),
    "handover_note": ("Överlämningsanteckning (valfri)", "Hand-over note (optional)"),
    "outcome_contacted_patient": ("Kontakt med patienten", "Contacted the patient"),
    "outcome_medication_adjusted": ("Läkemedel justerat", "Medication adjusted"),
    "outcome_referred": ("Remitterad", "Referred"),
    "outcome_no_action_needed": ("Ingen åtgärd behövdes", "No action needed"),
    "outcome_false_alarm": ("Falsklarm", "False alarm"),
    "acknowledge": ("Kvittera", "Acknowledge"),
    "assign_to_me": ("Ta larmet", "Assign to me"),
    "release": ("Släpp larmet", "Unassign"),
    "resolve": ("Avsluta…", "Resolve…"),
    "outcome": ("Utfall", "Outcome"),
    "choose": ("Välj…", "Choose…"),
    "note_optional": ("Anteckning (frivillig)", "Note (optional)"),
    "resolve_confirm": ("Avsluta larmet", "Resolve the alert"),
    "done_acknowledge": (
        "Larmet för {patient} är kvitterat.",
        "The alert for {patient} is acknowledged.",
    ),
    "done_assign": (
        "Tilldelningen av larmet för {patient} är ändrad.",
        "The alert for {patient} is reassigned.",
    ),
    "done_resolve": ("Larmet för {patient} är avslutat.", "The alert for {patient} is resolved."),
    # Patients
    "patients_title": ("Patienter", "Patients"),
    "patient_reference": ("Patient", "Patient"),
    "enrolled": ("Inskriven", "Enrolled"),
    "monitoring": ("Mätning", "Monitoring"),
    "monitoring_on": ("pågår", "on"),
    "paused_since": ("pausad sedan {when}", "paused since {when}"),
    "unresolved_red": ("Röda larm", "Red alerts"),
    "unresolved_yellow": ("Gula larm", "Yellow alerts"),
    "thresholds": ("Gränsvärden", "Thresholds"),
    "thresholds_of": ("Gränsvärden för {patient}", "Thresholds of {patient}"),
    "no_patients": ("Inga patienter är inskrivna.", "No patients are enrolled."),
    # One patient
    "patient": ("Patient", "Patient"),
    "discharged": ("utskriven", "discharged"),
    "thresholds_link": ("Gränsvärden och ändringar", "Thresholds and changes"),
    "why_alert": ("Varför larmet gick", "Why the alert fired"),
    "period": ("Period", "Period"),
    "charts_hint": (
        "Linjen är dagens medelvärde, det skuggade bandet dagens lägsta till högsta värde. "
        "Grå staplar är dagar utan mätning; streckade linjer är patientens gränsvärden; "
        "ringar under diagrammet är larm.",
        "The line is the day's mean, the shaded band the day's lowest to highest value. Grey "
        "bars are days without a reading; dashed lines are the patient's thresholds; circles "
        "beneath the chart are alerts.",
    ),
    "no_alerts": ("Inga larm under perioden.", "No alerts in the period."),
    "evidence_figures": ("Underlag i siffror", "The figures behind it"),
    # Other rules' findings that joined the alert (one alert per deterioration).
    "joined_heading": (
        "Även sett under samma försämring",
        "Also seen in the same deterioration",
    ),
    "joined_raised": ("höjt till {severity}", "raised to {severity}"),
    "evidence_of": ("Underlag för larmet: {rule}", "What the alert is based on: {rule}"),
    # Evidence (hemkoll.api.console.evidence): row labels, then the words inside values
    "ev_technical": ("Tekniska detaljer", "Technical details"),
    "ev_metric": ("Mätning", "Measurement"),
    "ev_value": ("Mätvärde", "Value"),
    "ev_morning_value": ("Morgonvärde", "Morning value"),
    "ev_limit": ("Gräns", "Limit"),
    "ev_range": ("Tillåtet område", "Accepted range"),
    "ev_run_readings": ("Mätningar i rad utanför", "Readings outside in a row"),
    "ev_run_time": ("Tid utanför", "Time outside"),
    "ev_readings": ("Mätt", "Measured"),
    "ev_reference_rise": ("Lägsta morgonvärde före", "Lowest morning value before"),
    "ev_reference_fall": ("Högsta morgonvärde före", "Highest morning value before"),
    "ev_change": ("Förändring", "Change"),
    "ev_window": ("Jämfört med föregående", "Compared with the previous"),
    "ev_baseline_mean": ("Baslinje (medelvärde)", "Baseline (mean)"),
    "ev_baseline_days": ("Dagar i baslinjen", "Days in the baseline"),
    "ev_baseline_sd": ("Vanlig variation (SD)", "Usual variation (SD)"),
    "ev_deviation": ("Avvikelse", "Deviation"),
    "ev_score": ("Avvikelse i SD", "Deviation in SD"),
    "ev_average": ("Medelvärde {days} dygn", "{days}-day average"),
    "ev_difference": ("Skillnad", "Difference"),
    "ev_days_with_value": ("Dagar med mätning", "Days with a reading"),
    "ev_last_reading": ("Senaste mätning", "Last reading"),
    "ev_last_value": ("Senaste värde", "Last value"),
    "ev_after": ("Larmar efter", "Alerts after"),
    "ev_deadline": ("Tidsgräns", "Deadline"),
    "ev_next_reading": ("Nästa mätning", "Next reading"),
    "ev_first_that_day": ("Första mätning den dagen", "First reading that day"),
    "ev_answer": ("Svar", "Answer"),
    "ev_yellow_from": ("Gul från", "Yellow from"),
    "ev_red_from": ("Röd från", "Red from"),
    "ev_worsening": ("Försämring som larmar", "Worsening that alerts"),
    "ev_window_lowest": ("Lägsta svar innan", "Lowest answer before"),
    "ev_usual_answer": ("Vanligt svar ({days} dygn före)", "Usual answer ({days} days before)"),
    "ev_worse_than_usual": (
        "Värre än vanligt, enligt henne (följdfrågan)",
        "Worse than usual, she says (the follow-up)",
    ),
    "ev_not_answered": ("inte besvarad", "not answered"),
    "ev_mode": ("Villkor", "Condition"),
    "ev_window_hours": ("Tidsfönster", "Window"),
    "ev_components": ("Delar som larmade", "Parts that fired"),
    "ev_index_score": ("Försämringsindex", "Deterioration index"),
    "ev_index_of": ("{score} (larm från {limit})", "{score} (alert from {limit})"),
    "ev_index_recovery": ("Stängs under", "Closes below"),
    "ev_index_signals": ("Signaler som rört sig", "Signals that moved"),
    "ev_steps": ("{value}\u00a0steg", "{value}\u00a0steps"),
    "ev_index_signal": (
        "{metric}: {deviation} mot det vanliga, {z} gånger vanlig variation, {points} poäng",
        "{metric}: {deviation} against her usual, {z} times the usual variation, {points} points",
    ),
    "ev_above": ("över {value}", "above {value}"),
    "ev_below": ("under {value}", "below {value}"),
    "ev_at_least": ("minst {value}", "at least {value}"),
    "ev_at_most": ("högst {value}", "at most {value}"),
    "ev_rise_by": ("ökning med minst {value}", "a rise of at least {value}"),
    "ev_fall_by": ("minskning med minst {value}", "a fall of at least {value}"),
    "ev_days_of": ("{n} av {of} dygn", "{n} of {of} days"),
    "ev_sd_floor": ("räknas som {value}", "counted as {value}"),
    "ev_mode_all": ("alla reglerna", "all of the rules"),
    "ev_mode_any": ("någon av reglerna", "any of the rules"),
    "ev_none_yet": ("ingen ännu", "none yet"),
    "ev_none": ("ingen", "none"),
    "ev_yes": ("ja", "yes"),
    "ev_no": ("nej", "no"),
    # Charts
    "no_reading": ("ingen mätning", "no reading"),
    "legend_mean": ("medelvärde per dag", "daily mean"),
    "legend_limits": ("gränsvärden", "thresholds"),
    "show_table": ("Visa {title} som tabell", "Show {title} as a table"),
    "chart_desc": (
        "{title}, {period}: mätt {measured} av {period}; {marked}.",
        "{title}, {period}: measured on {measured} of {period}; {marked}.",
    ),
    "table_of": ("{title}, tabell", "{title}, table"),
    "chart_range": ("Värden från {low} till {high} {unit}.", "Values from {low} to {high} {unit}."),
    "day": ("Dag", "Day"),
    "chart_weight": ("Vikt", "Weight"),
    "chart_blood_pressure": ("Blodtryck", "Blood pressure"),
    "chart_heart_rate": ("Puls", "Heart rate"),
    "chart_spo2": ("Syremättnad (SpO2)", "Oxygen saturation (SpO2)"),
    "chart_breathlessness": (
        "Andfåddhet (0 ingen \u2013 3 svår)",
        "Breathlessness (0 none \u2013 3 severe)",
    ),
    "chart_ankle_swelling": (
        "Svullna anklar (0 inga \u2013 3 svåra)",
        "Ankle swelling (0 none \u2013 3 severe)",
    ),
    "chart_fatigue": ("Trötthet (0 ingen \u2013 3 svår)", "Fatigue (0 none \u2013 3 severe)"),
    "chart_self_rated_health": (
        "Självskattad hälsa (1 mycket dålig \u2013 5 mycket bra)",
        "Self-rated health (1 very poor \u2013 5 very good)",
    ),
    "symptoms_heading": ("Symtom", "Symptoms"),
    "marker_label": (
        "Mätt {measured} (larmet öppnades {opened}): {severity}, {rule}",
        "Measured {measured} (the alert opened {opened}): {severity}, {rule}",
    ),
    "track_fired": ("Larmade", "Did fire"),
    "track_current": ("Nuvarande", "Current rules"),
    "track_proposed": ("Förslag", "Proposed"),
    "proposed": ("förslag", "proposed"),
    "limit_low": ("{severity} under {value}", "{severity} below {value}"),
    "limit_high": ("{severity} över {value}", "{severity} above {value}"),
    "limit_score": ("{severity} från {value}", "{severity} from {value}"),
    # The deterioration index's chart on the patient page and in a backtest of its levels.
    "index_chart": ("Försämringsindex (poäng)", "Deterioration index (score)"),
    "index_score": ("Poäng", "Score"),
    "legend_index": ("dagens högsta", "the day's highest"),
    "index_off": (
        "Av för patienten: indexet visas men larmar inte.",
        "Off for her: the index is shown but does not alert.",
    ),
    "index_hint": (
        "Dagens högsta poäng. Larm öppnas vid öppningsnivån och stängs under återhämtningsnivån; "
        "markerna visar dagarna indexet var öppet (backtest av hennes regel).",
        "The day's highest score. An alert opens at the opening level and closes below the "
        "recovery level; the markers show the days the index was open (a backtest of her rule).",
    ),
    "index_no_baseline": (
        "Inget index än: det behöver minst {min_days} dagars mätningar i en period av "
        "{baseline_days} dagar som slutar {guard_days} dagar före dagen det räknas för.",
        "No index yet: it needs at least {min_days} days of readings within {baseline_days} "
        "days ending {guard_days} days before the day it is for.",
    ),
    "index_opening": ("Öppnar vid {value}", "Opens at {value}"),
    "index_recovery_line": ("Stängs under {value}", "Closes below {value}"),
    "index_red": ("Röd vid {value}", "Red at {value}"),
    "track_index_open": ("Öppet", "Open"),
    "index_open_marker": ("{day}: indexet öppet, {score}", "{day}: index open, {score}"),
    # Metrics and rules
    "metric_body_weight": ("Vikt", "Weight"),
    # Units that read better in words than in UCUM (the others are as rules_view.unit writes).
    "unit_heart_rate": ("slag/min", "beats/min"),
    "metric_systolic_bp": ("Systoliskt blodtryck", "Systolic blood pressure"),
    "metric_diastolic_bp": ("Diastoliskt blodtryck", "Diastolic blood pressure"),
    "metric_heart_rate": ("Puls", "Heart rate"),
    "metric_spo2": ("Syremättnad", "Oxygen saturation"),
    "metric_body_temperature": ("Kroppstemperatur", "Body temperature"),
    "metric_symptom_breathlessness": ("Andfåddhet", "Breathlessness"),
    "metric_symptom_ankle_swelling": ("Svullna anklar", "Ankle swelling"),
    "metric_symptom_fatigue": ("Trötthet", "Fatigue"),
    "metric_self_rated_health": ("Självskattad hälsa", "Self-rated health"),
    "metric_worse_than_usual": ("Värre än vanligt (följdfråga)", "Worse than usual (follow-up)"),
    "kind_threshold": ("{metric}: gränsvärden", "{metric}: limits"),
    "kind_change_rise": ("{metric}: ökning på {days} d", "{metric}: rise over {days} d"),
    "kind_change_fall": ("{metric}: minskning på {days} d", "{metric}: fall over {days} d"),
    "kind_baseline_rise": ("{metric}: över personlig nivå", "{metric}: above personal baseline"),
    "kind_baseline_fall": ("{metric}: under personlig nivå", "{metric}: below personal baseline"),
    "kind_trend_rise": ("{metric}: stigande trend", "{metric}: rising trend"),
    "kind_trend_fall": ("{metric}: sjunkande trend", "{metric}: falling trend"),
    "kind_missing": ("{metric}: mätning saknas", "{metric}: reading missing"),
    "kind_symptom": ("{metric}: symtompoäng", "{metric}: symptom score"),
    # An index by its windows: the programme has two (three days and a week, each against the
    # patient's own weeks before), which a nurse must tell apart on the worklist.
    "kind_index": (
        "Försämringsindex: {short} d mot egna {baseline} d",
        "Deterioration index: {short} d against own {baseline} d",
    ),
    "index_recovery": ("stängs under {recovery}", "closes below {recovery}"),
    "or": (" eller ", " or "),
    "in_a_row": ("({n} i rad)", "({n} in a row)"),
    "sd": ("SD", "SD"),
    "worse_by": ("gul vid försämring med {points}", "yellow when worse by {points}"),
    "unless_not_worse": ("inte vid ”inte värre än vanligt”", "not on “not worse than usual”"),
    "missing_after": ("efter {hours} tim", "after {hours} h"),
    "missing_by": ("ingen mätning kl. {time}", "no reading by {time}"),
    "unknown_rule": ("en regel som inte finns längre", "a rule no longer there"),
    # What a rule does (rules_view.rule_description): {metric} in lower case, {days} ... counts.
    "desc_threshold": (
        "Larmar när ett mätvärde för {metric} ligger utanför gränserna.",
        "Alerts when a reading of {metric} is outside the limits.",
    ),
    "desc_change_rise": (
        "Jämför dagens första värde för {metric} med det lägsta under {days} före; larmar vid "
        "en ökning.",
        "Compares the day's first {metric} reading with the lowest of {days} before; alerts on "
        "a rise.",
    ),
    "desc_change_fall": (
        "Jämför dagens första värde för {metric} med det högsta under {days} före; larmar vid "
        "en minskning.",
        "Compares the day's first {metric} reading with the highest of {days} before; alerts "
        "on a fall.",
    ),
    "desc_baseline_rise": (
        "Jämför {metric} med patientens egen nivå under {days} före och dess vanliga variation; "
        "larmar när värdet ligger ovanför.",
        "Compares {metric} with the patient's own level over {days} before and its usual "
        "variation; alerts when the value lies above it.",
    ),
    "desc_baseline_fall": (
        "Jämför {metric} med patientens egen nivå under {days} före och dess vanliga variation; "
        "larmar när värdet ligger under.",
        "Compares {metric} with the patient's own level over {days} before and its usual "
        "variation; alerts when the value lies below it.",
    ),
    "desc_trend_rise": (
        "Jämför medelvärdet för {metric} under {short} med medelvärdet under {long}; larmar "
        "när det stiger.",
        "Compares the average {metric} over {short} with the average over {long}; alerts when "
        "it rises.",
    ),
    "desc_trend_fall": (
        "Jämför medelvärdet för {metric} under {short} med medelvärdet under {long}; larmar "
        "när det sjunker.",
        "Compares the average {metric} over {short} with the average over {long}; alerts when "
        "it falls.",
    ),
    "desc_symptom": (
        "Larmar på patientens svar om {metric} (0 inga \u2013 3 svåra).",
        "Alerts on the patient's answer about {metric} (0 none \u2013 3 severe).",
    ),
    "desc_symptom_worse": (
        "Också när svaret blivit sämre än de senaste dagarnas.",
        "Also when the answer has become worse than in the last few days.",
    ),
    "desc_symptom_follow_up": (
        "Inte när hon svarar på följdfrågan att det inte är värre än vanligt för henne.",
        "Not when she answers the follow-up that it is not worse than usual for her.",
    ),
    "desc_missing_after": (
        "Larmar när ingen mätning av {metric} har kommit på {hours}.",
        "Alerts when no {metric} reading has come for {hours}.",
    ),
    "desc_missing_by": (
        "Larmar när ingen mätning av {metric} har kommit kl. {time} en dag.",
        "Alerts when no {metric} reading has come by {time} on a day.",
    ),
    "desc_index": (
        "Väger samman hur {metrics} avviker från patientens egen vanliga nivå till ett index; "
        "larmar när det når gränsen och stänger först under återhämtningsgränsen.",
        "Combines how {metrics} differ from the patient's own usual values into one score; "
        "alerts when it reaches its limit and closes only below the recovery level.",
    ),
    "desc_combination": (
        "Larmar när {mode} larmar inom {hours}: {rules}.",
        "Alerts when {mode} fire within {hours}: {rules}.",
    ),
    "all_of": ("alla av {rules}", "all of {rules}"),
    "any_of": ("någon av {rules}", "any of {rules}"),
    # Thresholds
    "thresholds_title": ("Gränsvärden för {patient}", "Thresholds of {patient}"),
    "back_to_patient": ("Tillbaka till {patient}", "Back to {patient}"),
    "saved_version": (
        "Ändringen är sparad (version {version}).",
        "The change is saved (version {version}).",
    ),
    "effective_rules": ("Gällande regler", "Rules in force"),
    "effective_rules_hint": (
        "Programmet, med vårdcentralens och patientens egna ändringar.",
        "The programme, with the health centre's and the patient's own changes.",
    ),
    "rule": ("Regel", "Rule"),
    "levels": ("Nivåer", "Levels"),
    "status": ("Status", "Status"),
    "rule_does": ("Vad regeln gör", "What the rule does"),
    "own_reason": (
        "Skäl till patientens ändring: {note}",
        "Reason for the patient's change: {note}",
    ),
    "centre_reason": (
        "Vårdcentralens skäl till ändringen: {note}",
        "The health centre's reason for the change: {note}",
    ),
    "edit": ("Ändra", "Edit"),
    "rule_on": ("på", "on"),
    "rule_off": ("av", "off"),
    "individual": ("individuell", "individual"),
    "edit_rule": ("Ändra {rule}", "Edit {rule}"),
    "rule_enabled": ("Regeln är på", "The rule is on"),
    "field_yellow_low": ("Gul, nedre gräns ({unit})", "Yellow, lower limit ({unit})"),
    "field_yellow_high": ("Gul, övre gräns ({unit})", "Yellow, upper limit ({unit})"),
    "field_red_low": ("Röd, nedre gräns ({unit})", "Red, lower limit ({unit})"),
    "field_red_high": ("Röd, övre gräns ({unit})", "Red, upper limit ({unit})"),
    "field_window_days": ("Antal dagar", "Days"),
    "field_yellow": ("Gul vid ({unit})", "Yellow at ({unit})"),
    "field_red": ("Röd vid ({unit})", "Red at ({unit})"),
    "field_yellow_sd": ("Gul vid (SD)", "Yellow at (SD)"),
    "field_red_sd": ("Röd vid (SD)", "Red at (SD)"),
    "field_yellow_score": ("Gul från poäng", "Yellow from score"),
    "field_red_score": ("Röd från poäng", "Red from score"),
    "field_after_hours": ("Efter timmar utan mätning", "After hours without a reading"),
    "field_opening": ("Öppnar vid poäng", "Opens at score"),
    "field_recovery": ("Stängs under poäng", "Closes below score"),
    "fields_hint": (
        "Tomt fält: den nivån används inte. Decimalkomma eller decimalpunkt går bra.",
        "An empty field: that level is not used. A decimal comma or point both work.",
    ),
    "backtest": ("Förhandsgranskning", "Preview"),
    "history": ("Ändringar", "Changes"),
    "version": ("Version", "Version"),
    "changed_at": ("När", "When"),
    "changed_by": ("Vem", "Who"),
    "reason": ("Varför", "Why"),
    "rules_changed": ("Regler", "Rules"),
    "no_history": (
        "Patientens regler har inte ändrats.",
        "The patient's rules have not been changed.",
    ),
    # Backtest
    "backtest_heading": ("Förhandsgranskning: {rule}", "Preview: {rule}"),
    "backtest_summary": (
        "{period} ({readings}): {fired}, nuvarande regler ger {current} och förslaget hade "
        "gett {proposed}.",
        "{period} ({readings}): {fired}, the current rules give {current} and the proposal "
        "would have given {proposed}.",
    ),
    "backtest_ready": (
        "Förhandsgranskningen är klar: {current} med nuvarande regler, {proposed} med förslaget.",
        "The preview is ready: {current} with the current rules, {proposed} with the proposal.",
    ),
    "backtest_rule_summary": (
        "{rule}: larmade {fired}, nuvarande {current}, förslag {proposed} på {proposed_days}.",
        "{rule}: did fire {fired}, current rules {current}, proposed {proposed} on "
        "{proposed_days}.",
    ),
    "backtest_nurse": (
        "Räknat som sjuksköterskan hade fått larmen: varje larm avslutat {after} efter att det "
        "öppnades, och ett tillstånd som består larmar igen nästa dag.",
        "Counted as the nurse would have got them: each alert resolved {after} after it opened, "
        "and a condition that lasts alerts again the next day.",
    ),
    "backtest_table": (
        "Larm per dag och regel (ändrade rader markerade)",
        "Alerts per day and rule (changed rows marked)",
    ),
    "backtest_none": (
        "Inga larm under perioden, varken nu eller med förslaget.",
        "No alerts in the period, now or with the proposal.",
    ),
    "reason_label": ("Skäl till ändringen", "Reason for the change"),
    "reason_hint": (
        "Sparas med ändringen och visas i historiken.",
        "Saved with the change and shown in its history.",
    ),
    "save_change": ("Spara ändringen", "Save the change"),
    # Follow-up
    "follow_up_title": ("Programuppföljning", "Programme follow-up"),
    "follow_up_hint": (
        "Siffrorna regionen följer upp, för dagar i vårdcentralens tidszon till och med i dag.",
        "The figures the region follows up, over days in the health centre's time zone up to "
        "and including today.",
    ),
    "date_placeholder": ("ÅÅÅÅ-MM-DD", "YYYY-MM-DD"),
    "period_hint": (
        "Datum skrivs år-månad-dag, till exempel 2026-11-30.",
        "Dates are written year-month-day, for example 2026-11-30.",
    ),
    "health_centre": ("Vårdcentral", "Health centre"),
    "period_from": ("Från", "From"),
    "period_until": ("Till och med", "Until (included)"),
    "show": ("Visa", "Show"),
    "period_not_started": ("Perioden har inte börjat än.", "The period has not started yet."),
    "counted_days": ("{first} \u2013 {last} ({days}).", "{first} \u2013 {last} ({days})."),
    "fu_patients": ("Patienter", "Patients"),
    "fu_monitored": ("Följda under perioden", "Monitored in the period"),
    "fu_at_end": ("Inskrivna vid periodens slut", "Enrolled at the end"),
    "fu_enrolled": ("Nya under perioden", "Enrolled in the period"),
    "fu_discharged": ("Utskrivna under perioden", "Discharged in the period"),
    "fu_adherence": ("Följsamhet", "Adherence"),
    "fu_adherence_share": ("Dagar med vikt", "Days with a weight"),
    "fu_weighed_days": ("Vägda dagar / patientdagar", "Weighed days / patient-days"),
    "fu_patient_months": ("Patientmånader", "Patient-months"),
    "fu_adherence_until": (
        "Följsamhet och patientdagar till och med {day}: i dag är inte slut än.",
        "Adherence and patient-days up to and including {day}: today is not over yet.",
    ),
    "fu_adherence_none": (
        "Följsamhet och patientdagar räknas när dagen är slut.",
        "Adherence and patient-days are counted once the day is over.",
    ),
    "fu_response": ("Larm och svarstider", "Alerts and response times"),
    "fu_alerts": ("Larm", "Alerts"),
    "fu_median_ack": ("Mediantid till kvittering", "Median time to acknowledge"),
    "fu_median_resolve": ("Mediantid till avslut", "Median time to resolve"),
    "fu_not_acknowledged": ("Ännu inte kvitterade", "Not yet acknowledged"),
    "fu_not_resolved": ("Ännu inte avslutade", "Not yet resolved"),
    "fu_response_hint": (
        "Larm öppnade under perioden. Larm som ännu inte kvitterats eller avslutats räknas "
        "inte in i medianerna.",
        "Alerts opened in the period. Alerts not yet acknowledged or resolved are left out of "
        "the medians.",
    ),
    "fu_by_rule": ("Larm per regel", "Alerts per rule"),
    "fu_per_patient_month": ("Per patientmånad", "Per patient-month"),
    "fu_no_alerts": ("Inga larm under perioden.", "No alerts in the period."),
    "fu_outcomes": ("Utfall", "Outcomes"),
    "fu_no_outcomes": ("Inga avslutade larm från perioden.", "No resolved alerts from the period."),
    "fu_definitions": (
        "Patientdag: en dag patienten var inskriven (från inskrivningsdagen till dagen före "
        "utskrivning). Patientmånad: 30,4375 patientdagar. Larm räknas till och med i dag; "
        "patientdagar och följsamhet bara för dagar som är slut.",
        "Patient-day: a day the patient was enrolled (from the day of enrolment to the day "
        "before discharge). Patient-month: 30.4375 patient-days. Alerts count up to and "
        "including today; patient-days and adherence only for days that are over.",
    ),
    "no_centre": ("Det finns ingen vårdcentral att visa.", "There is no health centre to show."),
    "fu_endpoints": ("Aviseringar till vårdcentralen", "Notifications to the health centre"),
    "fu_endpoints_hint": (
        "Hur vårdcentralens mottagare av larm svarar, just nu (inte för perioden).",
        "How the health centre's receivers of alerts answer, now (not for the period).",
    ),
    "fu_endpoints_none": (
        "Inga aviseringar har skickats ännu.",
        "No notifications have been sent yet.",
    ),
    "fu_endpoint": ("Mottagare", "Receiver"),
    "fu_endpoint_state": ("Läge", "State"),
    "fu_endpoint_last_delivered": ("Senast levererad", "Last delivered"),
    "fu_endpoint_never": ("aldrig", "never"),
    "fu_endpoint_ok": ("Levererar", "Delivering"),
    "fu_endpoint_failing": (
        "Misslyckas sedan {since} ({age}, {attempts} i rad)",
        "Failing since {since} ({age}, {attempts} in a row)",
    ),
    "fu_endpoint_last_error": ("senaste fel", "last error"),
    "channel_care_team": ("Larm (vårdcentralens system)", "Alerts (the centre's system)"),
    "channel_escalation": ("Eskalering", "Escalation"),
}

# Counts: ``key: ((sv one, sv other), (en one, en other))``, the count being ``{n}``; one form
# for exactly 1, the other for every other count (both languages: "0 larm", "0 alerts").
# Written with ``Formatter.count(key, n)``. Each becomes two entries: ``key`` (the other form)
# and ``key + ONE``.
ONE = "_one"
_PLURALS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "n_alerts": (("{n} larm", "{n} larm"), ("{n} alert", "{n} alerts")),
    "n_days": (("{n} dag", "{n} dagar"), ("{n} day", "{n} days")),
    "n_readings": (("{n} mätvärde", "{n} mätvärden"), ("{n} reading", "{n} readings")),
    "n_attempts": (("{n} försök", "{n} försök"), ("{n} attempt", "{n} attempts")),
    "worklist_count": (("{n} larm", "{n} larm"), ("{n} alert", "{n} alerts")),
    "refreshes_every": (
        ("uppdateras varje sekund", "uppdateras var {n}:e sekund"),
        ("refreshes every second", "refreshes every {n} seconds"),
    ),
    "worklist_cut": (
        (
            "Listan visar det första larmet; det finns fler.",
            "Listan visar de {n} första larmen; det finns fler.",
        ),
        (
            "The list shows the first alert; there are more.",
            "The list shows the first {n} alerts; there are more.",
        ),
    ),
    "error_too_long": (
        ("Skriv högst {n} tecken.", "Skriv högst {n} tecken."),
        ("Write at most {n} character.", "Write at most {n} characters."),
    ),
    "error_period_too_long": (
        ("En period är högst {n} dag.", "En period är högst {n} dagar."),
        ("A period is at most {n} day.", "A period is at most {n} days."),
    ),
    "readings_heading": (
        ("Mätvärden, senaste dagen", "Mätvärden, senaste {n} dagarna"),
        ("Readings, last day", "Readings, last {n} days"),
    ),
    "alerts_heading": (
        ("Larm, senaste dagen och alla olösta", "Larm, senaste {n} dagarna och alla olösta"),
        ("Alerts, last day and all unresolved", "Alerts, last {n} days and all unresolved"),
    ),
    "legend_missing": (
        ("{n} dag utan mätning", "{n} dagar utan mätning"),
        ("{n} day without a reading", "{n} days without a reading"),
    ),
    "alerts_marked": (
        ("{n} larm markerat", "{n} larm markerade"),
        ("{n} alert marked", "{n} alerts marked"),
    ),
    "alerts_fired": (("{n} larm gick", "{n} larm gick"), ("{n} alert fired", "{n} alerts fired")),
    "last_n_days": (("Senaste dagen", "Senaste {n} dagarna"), ("Last day", "Last {n} days")),
    "edit_hint": (
        (
            "Ändra värdena och förhandsgranska: du ser vad regeln hade larmat om under den "
            "senaste dagen innan du sparar.",
            "Ändra värdena och förhandsgranska: du ser vad regeln hade larmat om under de "
            "senaste {n} dagarna innan du sparar.",
        ),
        (
            "Change the values and preview: you see what the rule would have flagged over the "
            "last day before you save.",
            "Change the values and preview: you see what the rule would have flagged over the "
            "last {n} days before you save.",
        ),
    ),
    "preview": (
        ("Förhandsgranska ({n} dag)", "Förhandsgranska ({n} dagar)"),
        ("Preview ({n} day)", "Preview ({n} days)"),
    ),
    "n_hours": (("{n} timme", "{n} timmar"), ("{n} hour", "{n} hours")),
    "the_n_days": (("dagen", "de {n} dagarna"), ("the day", "the {n} days")),
    "the_last_n_days": (
        ("den senaste dagen", "de senaste {n} dagarna"),
        ("the last day", "the last {n} days"),
    ),
    # The evidence's (hemkoll.api.console.evidence) counts of days and points.
    "ev_days": (("{n} dygn", "{n} dygn"), ("{n} day", "{n} days")),
    "ev_points": (("{n} steg", "{n} steg"), ("{n} point", "{n} points")),
}
# patient list and worklist filters (issue 19)
_ENTRIES.update(
    {
        # Worklist filters
        "filter_label": ("Filtrera arbetslistan", "Filter the worklist"),
        "filter_assigned": ("Tilldelning", "Assigned"),
        "filter_all": ("Alla", "All"),
        "filter_mine": ("Mina", "Mine"),
        "filter_unassigned": ("Ej tilldelade", "Unassigned"),
        "filter_severity": ("Allvarlighetsgrad", "Severity"),
        "filter_rule": ("Regel", "Rule"),
        "filter_all_rules": ("Alla regler", "All rules"),
        "filter_kinds": ("Slag av regel", "Kinds of rule"),
        "filter_rules": ("Regler", "Rules"),
        "filter_apply": ("Filtrera", "Filter"),
        "filter_clear": ("Visa alla", "Show all"),
        "filter_kind_missing": ("Påminnelser: mätning saknas", "Reminders: reading missing"),
        "filter_kind_threshold": ("Gränsvärden", "Limits"),
        "filter_kind_change": ("Förändring på några dagar", "Change over a few days"),
        "filter_kind_baseline": ("Personlig nivå", "Personal baseline"),
        "filter_kind_trend": ("Trender", "Trends"),
        "filter_kind_index": ("Försämringsindex", "Deterioration index"),
        "filter_kind_symptom": ("Symtom", "Symptoms"),
        "filter_kind_combination": ("Kombinationer", "Combinations"),
        "worklist_none_filtered": (
            "Inga larm med de här filtren.",
            "No alerts with these filters.",
        ),
        "no_reminders_left": (
            "Inga öppna påminnelser kvar för {patient}: de är redan kvitterade eller avslutade.",
            "No open reminders left for {patient}: they are already acknowledged or resolved.",
        ),
        "back_to_worklist": ("Till arbetslistan", "Back to the worklist"),
        # Patient list
        "patient_search_label": ("Sök patient", "Find a patient"),
        "patient_search": ("Sök på patientreferens", "Search by patient reference"),
        "search": ("Sök", "Search"),
        "search_clear": ("Visa alla patienter", "Show all patients"),
        "patients_matching": ("referensen innehåller ”{search}”", "reference contains “{search}”"),
        "no_patient_matches": (
            "Ingen patient har en referens som innehåller ”{search}”.",
            "No patient has a reference containing “{search}”.",
        ),
        "sort_ascending": ("sortera stigande", "sort ascending"),
        "sort_descending": ("sortera fallande", "sort descending"),
        "latest_weight": ("Senaste vikt", "Latest weight"),
        "weight_above_usual": ("{change} kg över vanlig", "{change} kg above usual"),
        "weight_below_usual": ("{change} kg under vanlig", "{change} kg below usual"),
        "weight_as_usual": ("som vanligt", "as usual"),
        "no_usual_weight": ("ingen vanlig vikt än", "no usual weight yet"),
        "latest_bp": ("Senaste blodtryck", "Latest blood pressure"),
        "last_reading": ("Senaste mätning", "Last reading"),
        "today": ("i dag", "today"),
        "adherence": ("Följsamhet", "Adherence"),
        "not_yet": ("inte än", "not yet"),
        "open_alerts": ("Olösta larm", "Unresolved alerts"),
        "no_open_alerts": ("inga", "none"),
        "assigned_nurse": ("Ansvarig", "Assigned to"),
        "you_nurse": ("du", "you"),
        "nobody": ("ingen", "nobody"),
    }
)
_PLURALS.update(
    {
        "worklist_shown": (
            ("{n} visas med filtren", "{n} visas med filtren"),
            ("{n} shown by the filters", "{n} shown by the filters"),
        ),
        "ack_reminders": (
            ("Kvittera påminnelse ({n})", "Kvittera påminnelser ({n})"),
            ("Acknowledge reminder ({n})", "Acknowledge reminders ({n})"),
        ),
        "done_reminders": (
            (
                "{n} påminnelse för {patient} är kvitterad.",
                "{n} påminnelser för {patient} är kvitterade.",
            ),
            (
                "{n} reminder for {patient} is acknowledged.",
                "{n} reminders for {patient} are acknowledged.",
            ),
        ),
        "n_patients": (("{n} patient", "{n} patienter"), ("{n} patient", "{n} patients")),
        "patients_cut": (
            (
                "Listan visar den första patienten; det finns fler.",
                "Listan visar de {n} första patienterna; det finns fler.",
            ),
            (
                "The list shows the first patient; there are more.",
                "The list shows the first {n} patients; there are more.",
            ),
        ),
        "adherence_hint": (
            (
                "följsamhet: dagar med vikt, senaste hela dagen",
                "följsamhet: dagar med vikt av de senaste {n} hela dagarna",
            ),
            (
                "adherence: days with a weight, the last whole day",
                "adherence: days with a weight of the last {n} whole days",
            ),
        ),
        "n_days_ago": (
            ("för {n} dag sedan", "för {n} dagar sedan"),
            ("{n} day ago", "{n} days ago"),
        ),
        "weighed_of": (
            ("{weighed} av {n} dag", "{weighed} av {n} dagar"),
            ("{weighed} of {n} day", "{weighed} of {n} days"),
        ),
        "n_red": (("{n} röd", "{n} röda"), ("{n} red", "{n} red")),
        "n_yellow": (("{n} gul", "{n} gula"), ("{n} yellow", "{n} yellow")),
    }
)
# contact log and summary (issue 19)
_ENTRIES.update(
    {
        "contact_log": ("Kontaktlogg", "Contact log"),
        "contact_log_hint": (
            "Samtal, besök, anteckningar och överlämningar om patienten, nyast först. En post "
            "ändras aldrig: rätta genom att skriva en ny.",
            "Calls, visits, notes and hand-overs about the patient, newest first. An entry is "
            "never changed: correct it by writing a new one.",
        ),
        "contact_add": ("Ny post i kontaktloggen", "New entry in the contact log"),
        "contact_kind": ("Typ", "Kind"),
        "contact_kind_call_out": ("Samtal till patienten", "Call to the patient"),
        "contact_kind_call_in": ("Samtal från patienten", "Call from the patient"),
        "contact_kind_visit": ("Besök", "Visit"),
        "contact_kind_note": ("Anteckning", "Note"),
        "contact_kind_hand_over": ("Överlämning", "Hand-over"),
        "contact_date": ("Datum", "Date"),
        "contact_time": ("Klockslag", "Time"),
        "contact_when_hint": (
            "När det hände, i patientens tid ({tz}): datum som 2026-11-30, klockslag som 09:30.",
            "When it happened, in the patient's time ({tz}): the date as 2026-11-30, the time "
            "as 09:30.",
        ),
        "contact_text": ("Vad som hände", "What happened"),
        "contact_save": ("Spara i kontaktloggen", "Save in the contact log"),
        "contact_saved": ("Sparat i kontaktloggen.", "Saved in the contact log."),
        "contact_none": ("Inga poster ännu.", "No entries yet."),
        "contact_about_alert": ("Om larmet: {rule}", "About the alert: {rule}"),
        "contact_written": ("skrivet {when}", "written {when}"),
        "contact_correction": ("Rättar en tidigare post.", "Corrects an earlier entry."),
        "contact_corrected": ("Rättad i en senare post.", "Corrected in a later entry."),
        "error_contact_kind": ("Välj typ av kontakt.", "Choose the kind of contact."),
        "error_contact_time": (
            "Ange klockslaget som TT:MM, till exempel 09:30.",
            "Enter the time as HH:MM, for example 09:30.",
        ),
        "error_contact_future": (
            "Den tiden har inte varit än: ange när det hände.",
            "That time has not come yet: enter when it happened.",
        ),
        "error_contact_text": ("Skriv vad som hände.", "Write what happened."),
        "summary_link": ("Sammanfattning för journalen", "Summary for the patient record"),
        "summary_title": ("Sammanfattning {patient}", "Summary {patient}"),
        "summary_dates_hint": (
            "Datum skrivs år-månad-dag, till exempel 2026-11-30. Utan datum: de senaste 30 "
            "dagarna med i dag.",
            "Dates are written year-month-day, for example 2026-11-30. Without dates: the last "
            "30 days with today.",
        ),
        "summary_print": ("Skriv ut / spara som PDF", "Print / save as PDF"),
        "summary_print_hint": (
            "Utskriften ryms på en A4-sida, utan konsolens meny. Vill du ha en PDF till journalen "
            "väljer du ”Spara som PDF” som skrivare i webbläsarens utskriftsdialog (Ctrl+P).",
            "The printout fits one A4 page, without the console's menu. For a PDF for the "
            "patient record, choose “Save as PDF” as the printer in the browser's print dialog "
            "(Ctrl+P).",
        ),
        "summary_period": ("Period", "Period"),
        "summary_printed": ("Utskriven", "Printed"),
        "summary_readings": ("Mätvärden", "Readings"),
        "summary_col_metric": ("Mått", "Measure"),
        "summary_col_count": ("Antal", "Readings"),
        "summary_col_median": ("Median", "Median"),
        "summary_col_range": ("Lägst\u2013högst", "Lowest\u2013highest"),
        "summary_col_latest": ("Senaste", "Latest"),
        "summary_no_readings": ("Inga mätvärden under perioden.", "No readings in the period."),
        "summary_no_adherence": (
            "Perioden har inga hela dagar att räkna vägningar på.",
            "The period has no whole days to count weighings on.",
        ),
        "summary_alerts": ("Larm", "Alerts"),
        "summary_col_rule": ("Regel", "Rule"),
        "summary_col_severity": ("Nivå", "Level"),
        "summary_col_measured": ("Mätt", "Measured"),
        "summary_col_opened": ("Öppnat", "Opened"),
        "summary_col_resolved": ("Avslutat", "Resolved"),
        "summary_col_outcome": ("Utfall", "Outcome"),
        "summary_no_alerts": ("Inga larm under perioden.", "No alerts in the period."),
        "summary_col_when": ("När", "When"),
        "summary_col_who": ("Vem", "Who"),
        "summary_no_contacts": (
            "Inga poster i kontaktloggen under perioden.",
            "No contact log entries in the period.",
        ),
        "summary_thresholds": (
            "Patientens egna gränser (skiljer sig från programmets)",
            "The patient's own thresholds (differ from the programme's)",
        ),
        "summary_col_now": ("Gäller nu", "Now"),
        "summary_col_programme": ("Programmets", "The programme's"),
        "summary_no_thresholds": (
            "Programmets gränser gäller.",
            "The programme's thresholds apply.",
        ),
        "summary_rule_off": ("Avstängd", "Off"),
        "summary_rule_new": ("Finns inte i programmet", "Not in the programme"),
    }
)
_PLURALS.update(
    {
        "contact_cut": (
            ("Visar den senaste posten.", "Visar de {n} senaste posterna."),
            ("Showing the latest entry.", "Showing the latest {n} entries."),
        ),
        "summary_days": (
            ("{first} \u2013 {last} ({n} dag)", "{first} \u2013 {last} ({n} dagar)"),
            ("{first} \u2013 {last} ({n} day)", "{first} \u2013 {last} ({n} days)"),
        ),
        "summary_adherence": (
            (
                "Vägd {weighed} av {n} hel dag i perioden ({share}).",
                "Vägd {weighed} av {n} hela dagar i perioden ({share}).",
            ),
            (
                "Weighed on {weighed} of {n} whole day in the period ({share}).",
                "Weighed on {weighed} of {n} whole days in the period ({share}).",
            ),
        ),
    }
)
# backtest period (issue 20)
_ENTRIES.update(
    {
        "backtest_period": ("Period för förhandsgranskningen", "Period of the preview"),
        "backtest_between": ("{first} \u2013 {last}", "{first} \u2013 {last}"),
        "error_period_future": (
            "Välj dagens datum eller ett tidigare.",
            "Choose today's date or an earlier one.",
        ),
    }
)
_PLURALS.update(
    {
        "backtest_period_hint": (
            (
                "Datum skrivs år-månad-dag. Tomma fält: den senaste dagen.",
                "Datum skrivs år-månad-dag. Tomma fält: de senaste {n} dagarna.",
            ),
            (
                "Dates are written year-month-day. Empty fields: the last day.",
                "Dates are written year-month-day. Empty fields: the last {n} days.",
            ),
        ),
    }
)
# The patient app's strings (catalogue_patient.py), each key in one place only.
for _key, _entry in PATIENT_ENTRIES.items():
    if _key in _ENTRIES:
        raise ValueError(f"catalogue: {_key} is both the console's and the patient app's")
    _ENTRIES[_key] = _entry
_PLURALS.update(PATIENT_PLURALS)
for _key, ((_sv_one, _sv_other), (_en_one, _en_other)) in _PLURALS.items():
    if _key in _ENTRIES or _key + ONE in _ENTRIES:
        raise ValueError(f"catalogue: {_key} is both a string and a count")
    _ENTRIES[_key] = (_sv_other, _en_other)
    _ENTRIES[_key + ONE] = (_sv_one, _en_one)

PLURALS: frozenset[str] = frozenset(_PLURALS)
ENTRIES: Mapping[str, tuple[str, str]] = MappingProxyType(_ENTRIES)
