"""Every number the simulator draws from, with where it comes from.

Sources are cited by first author and year; the full references are in docs/simulator.md.
``[A]`` means the figure was read in an abstract only, ``[assumption]`` that no source was found
and the value is a judgement that the simulator's tests and docs make visible. Kilograms, days,
hours and seconds throughout; a "day-to-day" SD is the spread of one day's value around the
patient's own underlying level.
"""

from __future__ import annotations

from dataclasses import dataclass

DAYS_PER_YEAR = 365.25

# Relative weekday profile of body weight, Monday first (Orsama 2014 [A]: heaviest Sunday and
# Monday, falling from Tuesday, lowest late in the week, rising again from Saturday). The
# magnitudes are shaped to that description [assumption]; the profile is centred and scaled so
# that its peak-to-trough range is ``weekly_amplitude_fraction`` of the patient's weight.
WEEKDAY_WEIGHT_PROFILE: tuple[float, ...] = (1.0, 0.7, 0.15, -0.45, -1.0, -0.6, 0.6)


@dataclass(frozen=True)
class SimulationParameters:
    """Defaults describe a Swedish heart-failure telemonitoring cohort (NYHA II-III)."""

    timezone: str = "Europe/Stockholm"

    # --- body weight -----------------------------------------------------------------------
    # Adult HF cohorts weigh about 80 kg on average [assumption: typical of European HF trials].
    weight_mean_kg: float = 82.0
    weight_sd_kg: float = 16.0
    weight_min_kg: float = 45.0
    weight_max_kg: float = 160.0
    # Day-to-day noise SD: no source found; references.md guesses 0.2-0.7 kg [assumption]. Each
    # patient's SD is drawn log-normally around the median and clipped to that range.
    weight_noise_median_kg: float = 0.4
    weight_noise_log_sd: float = 0.3
    weight_noise_min_kg: float = 0.2
    weight_noise_max_kg: float = 0.7
    # Slow wandering of the underlying weight (AR(1)) [assumption]: stationary SD and the time
    # constant in days. Weekly and holiday effects come on top.
    weight_drift_sd_kg: float = 0.5
    weight_drift_time_constant_days: float = 30.0
    # Weekly rhythm: peak-to-trough as a fraction of body weight, per patient (Orsama 2014 [A]
    # found the rhythm; its size here is an [assumption] of about 0.3 kg for an 80 kg patient).
    weekly_amplitude_fraction_mean: float = 0.0035
    weekly_amplitude_fraction_sd: float = 0.0015
    # Scales display 100 g steps (typical bathroom/telemonitoring scale resolution) [assumption].
    weight_resolution_kg: float = 0.1
    weight_resolution_lb: float = 0.2
    # Share of patients whose scale reports pounds, to exercise unit conversion [assumption].
    pound_scale_fraction: float = 0.03

    # --- holidays --------------------------------------------------------------------------
    # Swedish midsummer: peak +1,225 g, IQR 475-2,013 g, back to baseline after about 20 days
    # (Gudmundsson 2011 [A]). Per patient: normal with that median and an SD matching the IQR
    # width (IQR = 1.349 SD). The rise from Midsummer Eve to the peak takes two days (the long
    # weekend) [assumption].
    midsummer_peak_kg: float = 1.225
    midsummer_peak_sd_kg: float = (2.013 - 0.475) / 1.349
    midsummer_rise_days: int = 2
    midsummer_return_days: int = 20
    # Christmas: weight about 0.5 % higher within 10 days after Christmas than 10 days before,
    # about half of it kept for months (Helander 2016, NEJM 375:1200, wireless scales in the US,
    # Germany and Japan; not a heart-failure cohort). The rise from 20 December to a peak on
    # 1 January and the 20-day return of the transient half are [assumption]; the kept half
    # fades over 180 days [assumption].
    christmas_peak_fraction: float = 0.005
    christmas_peak_fraction_sd: float = 0.004
    christmas_kept_share: float = 0.5
    christmas_return_days: int = 20
    christmas_kept_fade_days: int = 180

    # --- other vital signs [assumption: typical values for treated HF patients] -------------
    systolic_mean: float = 118.0
    systolic_sd: float = 16.0
    systolic_min: float = 85.0
    systolic_max: float = 170.0
    systolic_noise_sd: tuple[float, float] = (6.0, 10.0)
    diastolic_mean: float = 70.0
    diastolic_sd: float = 9.0
    diastolic_min: float = 50.0
    diastolic_max: float = 100.0
    diastolic_noise_sd: tuple[float, float] = (4.0, 6.0)
    # Correlation of the day's systolic and diastolic deviations [assumption].
    bp_noise_correlation: float = 0.6
    heart_rate_mean: float = 70.0
    heart_rate_sd: float = 10.0
    heart_rate_min: float = 50.0
    heart_rate_max: float = 100.0
    heart_rate_noise_sd: tuple[float, float] = (3.0, 6.0)
    spo2_mean: float = 96.0
    spo2_sd: float = 1.5
    spo2_min: float = 91.0
    spo2_max: float = 99.0
    spo2_noise_sd: float = 1.0
    # Symptom answers: a latent per-patient level, daily noise, rounded and clipped to 0-3.
    breathlessness_base: tuple[float, float] = (0.0, 1.2)
    ankle_swelling_base: tuple[float, float] = (0.0, 1.0)
    fatigue_base: tuple[float, float] = (0.3, 1.5)
    symptom_noise_sd: float = 0.45
    # The questionnaire's follow-up "Is this worse than usual for you?", asked when an answer is
    # at least FOLLOW_UP_FROM_SCORE (hemkoll.protocol.measurements): she answers "worse" when a
    # symptom she answered that high is at least this many steps above her usual latent level
    # (half a step: where her rounded answer starts to move), and gives the other answer on
    # this share of questionnaires (misreading the question, or judging the day badly)
    # [assumption].
    follow_up_worse_steps: float = 0.5
    follow_up_error_rate: float = 0.1

    # --- deterioration episodes ------------------------------------------------------------
    # Worsening-HF admissions per calendar patient-year: 0.68 in the usual-care arm of CHAMPION
    # (NYHA III with an admission in the previous year; Abraham 2016, Lancet 387:453, 18 months).
    episode_rate_per_patient_year: float = 0.68
    # No new episode within this many days after a discharge [assumption]; the hazard while at
    # risk is raised so that the calendar rate above holds.
    refractory_days: float = 30.0
    # Prodrome (gradual gain) of one to three weeks before onset; the gain is convex in time so
    # that most of it comes in the final week (Chaudhry 2007 [A]).
    prodrome_days: tuple[int, int] = (7, 21)
    # Before that steep prodrome, a slow phase: Chaudhry 2007 [A] (134 cases, 134 matched
    # controls): "gradual weight gain beginning approximately 30 days before hospitalization",
    # the curves diverging "more substantially" only in the final week. Modelled as a linear
    # ramp over the last ``slow_phase_days`` carrying a share of the episode's size (every
    # signal: weight, pulse, symptoms, SpO2 follow the same shape; HeartLogic's multi-sensor
    # index rose a median 34 days before events, Boehmer 2017 [A]). The share is drawn per
    # episode, uniform on ``slow_phase_share`` [assumption: Chaudhry gives the shape, not the
    # split; mean a quarter, some episodes with none], so the last 14 days still carry about
    # Zhang 2009's +0.9 kg (the calibration below).
    slow_phase_days: int = 30
    slow_phase_share: tuple[float, float] = (0.0, 0.5)
    # Share of episodes with little or no weight signal [assumption]: "many" have none (Zhang
    # 2009 [A]); weight rules detect only 20-44 % of events (Cuba Gyllensten 2016 [A], FAST
    # 22.5 %, Gudmundsson 2016 [A] 43.9 %).
    silent_fraction: float = 0.5
    # Gain of an episode with a weight signal over its prodrome: log-normal, median 1.6 kg (mean
    # 1.8 kg, upper quartile 2.2 kg). Calibrated [assumption] so that the mix with silent
    # episodes gives Zhang 2009's +0.9 kg mean gain over the 14 days before admission [A]
    # (the simulator gives about 1.0 kg); Gudmundsson 2016 [A] reports +2.3 kg within 30 days
    # before major events, which matches the upper quartile of the weight episodes here.
    weight_gain_median_kg: float = 1.6
    weight_gain_log_sd: float = 0.5
    # A silent episode still gains a little: |N(0, sd)| [assumption].
    silent_gain_sd_kg: float = 0.3
    # At onset: rise in resting heart rate (Moazeni 2023 [A] found heart rate the best single
    # signal; size [assumption]), symptom score increases, SpO2 drop [assumption].
    heart_rate_rise: tuple[float, float] = (10.0, 4.0)  # mean, SD in /min
    breathlessness_rise: tuple[float, float] = (1.0, 2.0)  # uniform range
    ankle_swelling_rise: tuple[float, float] = (0.5, 2.0)
    fatigue_rise: tuple[float, float] = (0.5, 1.5)
    spo2_drop: tuple[float, float] = (0.0, 3.0)
    # Admission: hours of the day the patient is admitted (after the morning measurements) and
    # length of stay in days (Swedish HF stays are about a week [assumption]).
    admission_hour: tuple[float, float] = (10.0, 22.0)
    stay_days: tuple[int, int] = (3, 9)
    # After onset the excess fluid is removed over days (time constant) and symptoms settle
    # more slowly [assumption].
    weight_recovery_days: float = 2.0
    symptom_recovery_days: float = 4.0

    # --- device behaviour ------------------------------------------------------------------
    # Days a patient is weighed at home: FAST 76 %, MOBITEL 78 % -> 0.77. The morning routine
    # happens on a Beta-distributed share of days per patient (concentration [assumption]);
    # each device is then used with ``device_use_given_session``.
    weighed_day_fraction: float = 0.77
    adherence_concentration: float = 10.0
    device_use_given_session: float = 0.96
    # Morning weighing: personal habit (local hour), day-to-day spread, later at weekends
    # [assumption].
    habit_hour: tuple[float, float] = (7.5, 1.0)  # mean, SD across patients
    habit_hour_range: tuple[float, float] = (5.0, 11.0)
    session_jitter_hours: float = 0.4
    weekend_delay_hours: float = 0.75
    session_hour_range: tuple[float, float] = (4.0, 13.0)
    # Minutes after weighing: blood pressure, then the oximeter, then the questionnaire.
    bp_after_scale_minutes: tuple[float, float] = (2.0, 8.0)
    oximeter_after_bp_minutes: tuple[float, float] = (1.0, 4.0)
    questionnaire_after_scale_minutes: tuple[float, float] = (0.0, 20.0)
    # Seconds from measurement to publication when online [assumption].
    publish_delay_seconds: tuple[float, float] = (1.0, 20.0)
    # Device clock error: seconds to a couple of minutes, per device [assumption].
    clock_error_sd_seconds: float = 45.0
    clock_error_max_seconds: float = 150.0
    # Home connectivity outages: per patient-day rate and length in days; the backlog goes
    # out on reconnection in batches of at most MAX_READINGS_PER_MESSAGE [assumption].
    offline_rate_per_day: float = 1.0 / 60.0
    offline_days: tuple[int, int] = (1, 10)
    # Seconds between the batches of one backlog upload [assumption].
    backlog_batch_spacing_seconds: float = 2.0
    # A message sent twice (no PUBACK or feedback in time, so the device resends) [assumption].
    duplicate_rate: float = 0.02
    duplicate_delay_seconds: tuple[float, float] = (5.0, 120.0)
    # Malformed payloads (firmware faults) [assumption]: share of messages, then the mix of
    # kinds: truncated (not JSON), a unit the protocol does not accept, an impossible value.
    malformed_rate: float = 0.003
    malformed_kind_weights: tuple[float, float, float] = (0.4, 0.3, 0.3)

    def __post_init__(self) -> None:
        shares = (
            self.silent_fraction,
            self.weighed_day_fraction,
            self.device_use_given_session,
            self.duplicate_rate,
            self.malformed_rate,
            self.pound_scale_fraction,
            self.christmas_kept_share,
        )
        if not all(0.0 <= share <= 1.0 for share in shares):
            raise ValueError("fractions and rates per message must lie in [0, 1]")
        if self.weighed_day_fraction > self.device_use_given_session:
            raise ValueError("weighed_day_fraction cannot exceed device_use_given_session")
        if self.episode_rate_per_patient_year * self.mean_refractory_years >= 1.0:
            raise ValueError("episode rate too high for the refractory period after each stay")
        if self.prodrome_days[0] < 1 or self.prodrome_days[0] > self.prodrome_days[1]:
            raise ValueError("prodrome_days must be an increasing pair of positive days")
        if not 0.0 <= self.slow_phase_share[0] <= self.slow_phase_share[1] < 1.0:
            raise ValueError("slow_phase_share must be an increasing pair of shares below 1")
        if self.slow_phase_days < 1:
            raise ValueError("slow_phase_days must be positive")
        if self.offline_days[0] < 1 or self.offline_days[0] > self.offline_days[1]:
            raise ValueError("offline_days must be an increasing pair of positive days")

    @property
    def session_probability_mean(self) -> float:
        """Mean share of days with a morning routine, so that weighed days come out right."""
        return self.weighed_day_fraction / self.device_use_given_session

    @property
    def mean_refractory_years(self) -> float:
        """Time not at risk after each onset: the stay plus the refractory period."""
        mean_stay = (self.stay_days[0] + self.stay_days[1]) / 2.0
        return (mean_stay + self.refractory_days) / DAYS_PER_YEAR

    @property
    def hazard_at_risk_per_year(self) -> float:
        """Hazard while at risk that gives ``episode_rate_per_patient_year`` per calendar year."""
        rate = self.episode_rate_per_patient_year
        return rate / (1.0 - rate * self.mean_refractory_years)


DEFAULT_PARAMETERS = SimulationParameters()
