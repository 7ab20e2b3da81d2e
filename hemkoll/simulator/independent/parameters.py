"""Every number the second cohort generator draws from, with where it comes from.

The second generator is written from a different model of heart failure at home than the first
(``hemkoll.simulator``), so that a rule set tuned on one is scored on assumptions it was not
fitted to. Where the first has a constant hazard, a convex weight rise over one to three weeks,
symptom noise the same for everyone and every device working, this one has: patients who differ
in how often they decompensate (gamma frailty), a logistic build-up of congestion that most
episodes complete within days and some within two, signals that respond to it unevenly per
episode, symptom answers whose noise grows with the patient's usual breathlessness (including
"at rest" answered on a usual day), benign weight bumps, measurement days that cluster and fade
over the year, evening weighings, holidays away from the devices, a lower dry weight after a
discharge, and device faults that give plausible but wrong values.

Sources are cited by first author and year (full references in docs/simulator.md); ``[A]`` means
read in an abstract only, ``[assumption]`` that no source was found. Kilograms, days, hours.
"""

from __future__ import annotations

from dataclasses import dataclass

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class IndependentParameters:
    """Defaults: a Swedish heart-failure telemonitoring cohort, NYHA II-III, after an admission."""

    timezone: str = "Europe/Stockholm"

    # --- episodes ----------------------------------------------------------------------------
    # Mean worsening-HF admissions per patient-year: 0.6, within the 0.5-1 of recently admitted
    # NYHA II-III cohorts (references.md; CHAMPION usual care 0.68 [A]); a little lower than the
    # first generator so the two do not share the figure.
    episode_rate_per_patient_year: float = 0.6
    # Patients differ in risk: each one's rate is the mean times a gamma frailty of mean 1 and
    # this shape (shape 1.5: a quarter of the patients have half the episodes) [assumption:
    # readmissions cluster in some patients, as registries report].
    frailty_shape: float = 1.5
    # No new onset within this many days of a discharge [assumption].
    refractory_days: int = 14
    # Build-up: congestion follows a logistic curve reaching 1 at onset; its midpoint lies
    # ``midpoint_days`` before onset and its scale (days per e-fold) is ``scale_days``
    # [assumption; Chaudhry 2007 [A] saw weight diverge in the final week; HeartLogic's index
    # rose a median 34 days before events (Boehmer 2017 [A]), so some build-ups are long].
    midpoint_days: tuple[float, float] = (2.0, 9.0)
    scale_days: tuple[float, float] = (0.8, 3.0)
    # Share of sudden episodes (infection, arrhythmia, missed medicines) that build up over one
    # to two days only [assumption].
    sudden_fraction: float = 0.2
    sudden_midpoint_days: tuple[float, float] = (0.5, 1.5)
    sudden_scale_days: tuple[float, float] = (0.3, 0.7)
    # Before the logistic rise, a slow phase: Chaudhry 2007 [A] saw "gradual weight gain
    # beginning approximately 30 days before hospitalization", the curves diverging more only in
    # the final week (the logistic part here). A linear ramp over the last ``BUILD_UP_DAYS``
    # carries a share of the episode's congestion, drawn per episode uniform on this range
    # [assumption: the study gives the shape, not the split]; sudden episodes have none (their
    # cause is sudden, and they keep the grid's hard cells hard).
    slow_phase_share: tuple[float, float] = (0.0, 0.5)
    # Share of episodes with little weight signal (the "silent" kind of the ground truth)
    # [assumption; weight rules find 20-44 % of events: FAST, Cuba Gyllensten 2016 [A],
    # Gudmundsson 2016 [A]].
    silent_fraction: float = 0.45
    # Gain of an episode with a weight signal: log-normal, median 1.3 kg, log-SD 0.6 (Zhang
    # 2009 [A]: +0.9 +- 2.1 kg over the 14 days before admission, a wide spread) [assumption].
    weight_gain_median_kg: float = 1.3
    weight_gain_log_sd: float = 0.6
    silent_gain_sd_kg: float = 0.25
    # Resting heart rate rise at onset, N(mean, SD), never negative [assumption, smaller and
    # wider than the first generator's; Moazeni 2023 [A]: heart rate the best single signal].
    heart_rate_rise: tuple[float, float] = (6.0, 5.0)
    # SpO2 drop at onset, uniform, percentage points [assumption].
    spo2_drop: tuple[float, float] = (0.0, 2.5)
    # Systolic change at onset, N(mean, SD): up in some (fluid), down in others (low output)
    # [assumption].
    systolic_change: tuple[float, float] = (-3.0, 8.0)
    # Rise of the latent symptom levels at onset, uniform ranges in answer steps [assumption].
    breathlessness_rise: tuple[float, float] = (0.3, 1.6)
    ankle_swelling_rise: tuple[float, float] = (0.0, 1.5)
    fatigue_rise: tuple[float, float] = (0.2, 1.2)
    # Share of episodes the patient does not feel, or does not report, before admission: their
    # symptom rises are scaled by ``unreported_symptom_scale`` [assumption].
    unreported_symptom_fraction: float = 0.3
    unreported_symptom_scale: float = 0.2
    # Stay in days, uniform [assumption: Swedish HF stays about a week].
    stay_days: tuple[int, int] = (4, 10)
    admission_hour: tuple[float, float] = (9.0, 23.0)
    # After a discharge: symptoms settle with this time constant, and the dry weight is set
    # lower than before the episode (diuretics adjusted in hospital) by a uniform amount
    # [assumption].
    symptom_recovery_days: float = 6.0
    discharge_weight_drop_kg: tuple[float, float] = (0.3, 2.0)

    # --- weight between episodes -----------------------------------------------------------
    weight_mean_kg: float = 80.0
    weight_sd_kg: float = 17.0
    weight_range_kg: tuple[float, float] = (42.0, 170.0)
    # Day-to-day noise: Student t with 4 degrees of freedom (clothes, a full bladder, the odd
    # misstep), per-patient scale log-normal around the median [assumption; references.md
    # guesses 0.2-0.7 kg for the SD].
    weight_noise_median_kg: float = 0.35
    weight_noise_log_sd: float = 0.35
    weight_noise_df: float = 4.0
    # Slow wandering: AR(1), stationary SD and time constant [assumption].
    weight_drift_sd_kg: float = 0.8
    weight_drift_time_constant_days: float = 60.0
    # Benign bumps (a salty meal, a party, constipation): Poisson per day, size exponential,
    # up in a day and gone with a time constant [assumption].
    bump_rate_per_day: float = 1.0 / 30.0
    bump_mean_kg: float = 0.8
    bump_decay_days: float = 2.0
    # Share of weighings in the evening, after meals and drinks, and what that adds
    # [assumption: about 0.5-1 kg diurnal rise in adults].
    evening_weighing_fraction: float = 0.08
    evening_weight_kg: float = 0.7
    # Scales reporting pounds, converted by the protocol's unit table [assumption].
    pound_scale_fraction: float = 0.05

    # --- other vital signs [assumption: typical treated HF values] --------------------------
    systolic: tuple[float, float] = (120.0, 17.0)
    systolic_noise_sd: float = 9.0
    diastolic: tuple[float, float] = (71.0, 10.0)
    diastolic_noise_sd: float = 6.0
    heart_rate: tuple[float, float] = (72.0, 11.0)
    # Atrial fibrillation in about a third of HF patients (ESC guideline figure), whose resting
    # rate varies much more from day to day [assumption for the SDs].
    atrial_fibrillation_fraction: float = 0.33
    heart_rate_noise_sd: tuple[float, float] = (4.0, 10.0)  # sinus rhythm, fibrillation
    spo2: tuple[float, float] = (95.5, 1.8)
    spo2_range: tuple[float, float] = (89.0, 99.0)
    spo2_noise_sd: float = 1.2

    # --- symptom answers (0 none ... 3 at rest) -----------------------------------------------
    # The patient's usual breathlessness answer: probabilities of 0, 1, 2 (NYHA II-III; about a
    # fifth breathless on light exertion) [assumption].
    usual_breathlessness: tuple[float, float, float] = (0.3, 0.5, 0.2)
    usual_ankle_swelling: tuple[float, float, float] = (0.5, 0.35, 0.15)
    usual_fatigue: tuple[float, float, float] = (0.2, 0.5, 0.3)
    # Noise of the latent answer: a base SD plus this much per step of the usual answer, so a
    # patient who is usually breathless answers less consistently [assumption].
    symptom_noise_sd: float = 0.2
    symptom_noise_per_step: float = 0.08
    # A patient whose usual breathlessness is 2 (light exertion) answers 3 (at rest) on this
    # share of ordinary days: the largest source of unexplained red alerts [assumption].
    at_rest_confusion: float = 0.02
    # The questionnaire's follow-up "Is this worse than usual for you?" (asked from an answer of
    # FOLLOW_UP_FROM_SCORE): she compares the day with her usual answer, and says "worse" when
    # a symptom she answered that high has risen at least ``follow_up_worse_steps`` above it
    # (an "at rest" misread from her usual "light exertion" has not); she gives the other
    # answer on ``follow_up_error_rate`` of the questionnaires [assumption].
    follow_up_worse_steps: float = 0.5
    follow_up_error_rate: float = 0.1

    # --- measurement days --------------------------------------------------------------------
    # Share of days with a morning routine at the start, per patient Beta(mean, concentration)
    # (FAST 76 %, MOBITEL 78 % over their follow-up), fading towards ``adherence_floor`` of it
    # with the time constant below (engagement falls over months in telemonitoring trials)
    # [assumption for the shape].
    adherence_start: float = 0.95
    adherence_concentration: float = 8.0
    adherence_fade_days: float = 240.0
    adherence_floor: float = 0.75
    # Missed days cluster: a missed day is followed by another with this much more chance than
    # the stationary rate says (a two-state Markov chain keeping the mean) [assumption].
    missed_day_persistence: float = 0.35
    # Weekend days are kept at this share of a weekday's rate [assumption].
    weekend_factor: float = 0.85
    # Holidays away from the devices: per patient-day rate and length [assumption].
    away_rate_per_day: float = 2.0 / 365.0
    away_days: tuple[int, int] = (5, 18)
    # In the last days before onset some patients feel too unwell to measure [assumption].
    unwell_days: int = 3
    unwell_factor: float = 0.75
    # Each device used on a routine day with this probability [assumption].
    device_use: float = 0.95
    habit_hour: tuple[float, float] = (8.0, 1.2)
    session_jitter_hours: float = 0.5
    evening_hour: tuple[float, float] = (18.0, 21.5)

    # --- device faults giving plausible but wrong values [assumption throughout] -------------
    # A scale moved onto a carpet, replaced or recalibrated: a step in every later weight,
    # per patient-day rate and N(0, SD) size in kg.
    scale_step_rate_per_day: float = 0.5 / 365.0
    scale_step_sd_kg: float = 1.2
    # A scale resending its previous value (a stuck display, a sync bug), per weighing.
    scale_repeat_rate: float = 0.01
    # Cold fingers or a slipped probe: SpO2 lower by a uniform amount, per reading.
    oximeter_low_rate: float = 0.02
    oximeter_low_points: tuple[float, float] = (3.0, 9.0)
    # The cuff counting an ectopic or missing beats: heart rate doubled or halved, per reading.
    pulse_miscount_rate: float = 0.008

    def __post_init__(self) -> None:
        shares = (
            self.silent_fraction,
            self.sudden_fraction,
            self.unreported_symptom_fraction,
            self.evening_weighing_fraction,
            self.pound_scale_fraction,
            self.atrial_fibrillation_fraction,
            self.at_rest_confusion,
            self.follow_up_error_rate,
            self.adherence_start,
            self.adherence_floor,
            self.missed_day_persistence,
            self.weekend_factor,
            self.unwell_factor,
            self.device_use,
            self.scale_repeat_rate,
            self.oximeter_low_rate,
            self.pulse_miscount_rate,
        )
        if not all(0.0 <= s <= 1.0 for s in shares):
            raise ValueError("shares and per-reading rates must lie in [0, 1]")
        for usual in (self.usual_breathlessness, self.usual_ankle_swelling, self.usual_fatigue):
            if abs(sum(usual) - 1.0) > 1e-9:
                raise ValueError("usual-answer probabilities must add up to 1")
        if self.stay_days[0] < 1 or self.stay_days[0] > self.stay_days[1]:
            raise ValueError("stay_days must be an increasing pair of positive days")
        if self.away_days[0] < 1 or self.away_days[0] > self.away_days[1]:
            raise ValueError("away_days must be an increasing pair of positive days")
        if not 0.0 <= self.slow_phase_share[0] <= self.slow_phase_share[1] < 1.0:
            raise ValueError("slow_phase_share must be an increasing pair of shares below 1")


INDEPENDENT_DEFAULTS = IndependentParameters()
