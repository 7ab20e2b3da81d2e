"""Heart-failure home-monitoring programme: default rules and where each number comes from.

Severity: yellow = "contact the patient today", red = "contact the patient now".

Sources (full references in /work/shared/references.md; [A] = read in an abstract only):
- ESC heart-failure guideline: contact the care team or adjust diuretics on an unexpected
  weight gain of more than 2 kg in 3 days.
- BEAT-HF (Black et al., Trials 2014;15:124), urgent: systolic BP < 80 or > 170 mmHg without
  symptoms (< 90 or > 160 with symptoms); heart rate < 40 or > 110 /min without symptoms
  (< 50 or > 100 with symptoms); weight > 3 lb (1.36 kg) in a day or > 6 lb (2.72 kg) in a week
  with symptoms.
- TELBIL (Martín-Lesende et al., BMC Health Serv Res 2011;11:56): systolic < 100 or > 160,
  diastolic < 60 or > 95 mmHg; heart rate < 50 or > 100 /min; SpO2 < 95 % (to be lowered in lung
  disease); weight + 1 kg in 3 days.
- Rules of thumb perform poorly (sensitivity 20-46 %: Zhang 2009 TEN-HMS [A], Cuba Gyllensten
  2016 [A], Ledwidge 2013 [A], FAST 2009), personal baselines better (Ledwidge 2013: personal
  moving average 82 % [A]; LINK-HF, Stehlik 2020 [A]). The programme therefore combines the
  guideline rules with a personal-baseline rule and with symptoms (BEAT-HF escalates weight and
  heart-rate deviations when symptoms are present).

Version 2 (detection report, bench/detection.py; [T] = tuned on the simulator, hemkoll.simulator
with seeds 1-3, synthetic data, not patients): version 1 enabled every guideline rule and gave
about 60 alerts per patient-year on the simulator (12 per patient with all rules merged), most of
them unexplained, against a programme goal of at most 1.5 (references.md: HeartLogic 1.47). The
single guideline rules cost 2-17 unexplained alerts per patient-year each for 5-45 % of episodes
(the ESC 2 kg/3 days rule: 13 % at 2.0), in line with FAST and Ledwidge 2013. Version 2 alerts
on trends (MACD, Zhang 2009 [A], Cuba Gyllensten 2016 [A]) of morning weight, breathlessness and
ankle swelling and keeps only the urgent (red) BEAT-HF limits as safety alerts; the guideline
rules stay in the rule set, disabled, with their sources, so a centre or clinician enables them
by override. On held-out simulator seeds: 88 % of episodes at 3.5 unexplained alerts per
patient-year, median lead 3.3 days (bench/detection.py; synthetic data).

Version 3 (issue "alerts a nurse can trust", docs/detection.md): the two personalised
deterioration indexes (``deterioration_index``, three days against her own three weeks, and
``deterioration_drift``, a week against her own four weeks before, for the slow phase of a
build-up, Chaudhry 2007 [A]) replace the three trends, which stay in the rule set, disabled;
the safety rules stay. On the robustness grid (12 cells, two generators, seeds never tuned on)
it halves the worst cell's unexplained alerts (10.6 -> 4.6 per patient-year) at the same worst
sensitivity (43 %); the goal (70 %, 1.5, 7 days) is not met. Its levels were chosen on the
tuning cells only (hemkoll.detection.grid.TUNING_CELLS).

Gating: BP, heart rate and SpO2 bands need two consecutive readings outside them, so a single
mis-measurement at home (cuff placement, cold fingers) does not page a nurse; the programme's
nurses can set ``consecutive`` to 1 per patient. Weight rules use the first reading of each
local day (morning weight).
"""

from __future__ import annotations

from datetime import time

from hemkoll.protocol.measurements import KG_PER_POUND
from hemkoll.rules.config import (
    Band,
    BaselineRule,
    ChangeRule,
    CombinationRule,
    IndexRule,
    IndexSignal,
    MissingRule,
    PatientAdvice,
    RuleSet,
    SymptomRule,
    ThresholdRule,
    TrendRule,
)

# BEAT-HF and the TEN-HMS rule of thumb: 3 lb in one day.
WEIGHT_GAIN_1D_KG = round(3 * KG_PER_POUND, 2)  # 1.36 kg
# ESC guideline: more than 2 kg in 3 days (the engine fires at >= the amount).
WEIGHT_GAIN_3D_KG = 2.0
# BEAT-HF: more than 6 lb in a week.
WEIGHT_GAIN_7D_KG = round(6 * KG_PER_POUND, 2)  # 2.72 kg
# Personal baseline: 14 days (a fortnight covers two weekly weight rhythms, Orsama 2014 [A]);
# at least 7 weighed days (about the 76-78 % adherence seen in FAST and MOBITEL).
BASELINE_DAYS = 14
BASELINE_MIN_DAYS = 7
# Three standard deviations: the usual statistical-process-control limit (Shewhart); a
# convention, not from a heart-failure study.
BASELINE_YELLOW_SD = 3.0
# Never fire below 1 kg, the smallest weight change any programme above acts on (TELBIL).
BASELINE_MIN_DEVIATION_KG = 1.0
# Day-to-day weight noise is 0.2-0.7 kg by guess [U] (no source found); the floor keeps a very
# stable fortnight from turning 0.5 kg into "5 times the usual variation".
BASELINE_SD_FLOOR_KG = 0.3
# Symptom trends: a 5-day against a 28-day average of the daily answers [T] (spans 3/21, 4/28,
# 5/21, 5/28, 5/42, 7/28 and 7/42 were compared on the simulator; 5/28 detected the most
# episodes per unexplained alert). Amount 0.6 points: the 5-day average more than half a step
# above the 28-day one [T].
SYMPTOM_TREND_SHORT_DAYS = 5
SYMPTOM_TREND_LONG_DAYS = 28
SYMPTOM_TREND_POINTS = 0.6
# MACD on the morning weight (Zhang 2009 [A], Cuba Gyllensten 2016 [A]; their spans and amount
# were not in the abstracts read): a 3-day against a 21-day average, the short span about the
# ESC 3-day window and the long one three weeks, the longest prodrome in Chaudhry 2007 [A].
WEIGHT_TREND_SHORT_DAYS = 3
WEIGHT_TREND_LONG_DAYS = 21
# 0.8 kg [T]: on the simulator alone it detects 33-36 % of episodes at 1.9 unexplained alerts
# per patient-year, close to Cuba Gyllensten 2016's 33 % for weight MACD. On by default although
# on the simulator it doubles the preset's unexplained alerts (1.6 -> 3.5 per patient-year, for
# 83 -> 88 % of episodes): weight is the best-validated home signal (ESC; Ledwidge 2013 [A]),
# and without it the preset would rest on symptom answers alone, which the simulator likely
# makes cleaner than patients give them. A decision of the project's lead, to be revisited with
# clinicians and real data.
WEIGHT_TREND_KG = 0.8
WEIGHT_TREND_MIN_DAYS = 7
# Two readings in a row outside a band before it fires (see the module docstring).
CONSECUTIVE_READINGS = 2
# Symptom scales: 0 none, 1 mild, 2 moderate (on exertion), 3 severe (breathlessness at rest).
# Programme convention [U]: moderate asks for contact today, severe for contact now; BEAT-HF
# asks symptom questions but its published thresholds are for vital signs.
SYMPTOM_MODERATE = 2
SYMPTOM_SEVERE = 3
# Worse by one step within three days, the ESC weight window, counts as "worse breathlessness".
SYMPTOM_WORSENING_POINTS = 1
SYMPTOM_WINDOW_HOURS = 72.0
# Self-rated health, asked weekly: a fall of two steps (of 1-5) below her best answer of the
# last four weeks (four answers). A starting point for a centre to try [U], not tuned.
SELF_RATED_HEALTH_DROP_POINTS = 2.0
SELF_RATED_HEALTH_WINDOW_DAYS = 28
# Weight and symptoms within the ESC 3-day window make BEAT-HF's "with symptoms" case.
COMBINATION_WINDOW_HOURS = 72.0
# Silence: with 22-24 % of days missed (FAST, MOBITEL) one missed morning is common and not a
# reason to call; two missed mornings are (OpenTele has a "missed measurement" level).
WEIGHT_SILENCE_HOURS = 48.0
BP_SILENCE_HOURS = 72.0
# Patients are taught to weigh in the morning; noon leaves a margin for late risers. Disabled by
# default (it fires on every missed morning); centres that call about each one enable it.
WEIGHT_DEADLINE = time(12, 0)
# SpO2 below 90 % is hypoxaemia by common clinical convention [U]; not in BEAT-HF or TELBIL.
SPO2_RED_LOW = 90.0
# The red "breathlessness at rest" rule reads the questionnaire's follow-up "Is this worse than
# usual for you?": an "at rest" answer she says is not worse than usual raises no alert; "worse",
# or no follow-up, is red as before. Chosen on the robustness grid (bench/detection.py --grid,
# docs/detection.md; nothing tuned: the rule has no number to tune), where on the second
# generator, whose patients usually breathless on light exertion sometimes answer "at rest",
# it removes 1.4-3.0 unexplained alerts per patient-year (15-37 %) for 0-6 points of
# sensitivity, and on the first 0.04-1.3 for none; the worst cells: sensitivity 48 -> 44 %,
# unexplained 13.4 -> 12.5 per patient-year, median lead 2.5 days either way.
AT_REST_FOLLOW_UP = True


# The deterioration index (HeartLogic's idea, Boehmer et al. 2017 [A]: one score from several
# sensors against the patient's own baseline, alert at a threshold, recovery below a lower one;
# 70 % of events at 1.47 unexplained alerts per patient-year). Signals and floors: each signal's
# smallest usual day-to-day variation, so a very steady patient is not scored on decimals
# [U: weight 0.3 kg as the baseline rule's floor; pulse 3 /min, SpO2 1 %, systolic 6 mmHg about
# the devices' repeatability; a symptom half a step]. A signal counts at most 3 usual variations
# so that no single one opens the index alone (HeartLogic combines sensors for the same reason).
# Systolic pressure and fatigue count half: they move either way or with much else [U].
# Opening level and recovery level [T], chosen on the tuning cells only
# (hemkoll.detection.grid.TUNING_CELLS: the first generator's seeds 1-3 and the second's seed
# 11, both at their base level); HeartLogic's published threshold (16) is on its own scale.
# On by default from version 3, with ``deterioration_drift`` below, in place of the trends
# (docs/detection.md: on the robustness grid the trends cost 2-9 unexplained alerts per
# patient-year more than the index for no more of the episodes).
INDEX_YELLOW = 7.0
INDEX_RECOVERY = 3.5
INDEX_SIGNALS = (
    IndexSignal(metric="body_weight", sd_floor=0.3),
    IndexSignal(metric="heart_rate", sd_floor=3.0),
    IndexSignal(metric="spo2", direction="fall", sd_floor=1.0),
    IndexSignal(metric="systolic_bp", direction="fall", sd_floor=6.0, weight=0.5),
    IndexSignal(metric="symptom_breathlessness", sd_floor=0.5),
    IndexSignal(metric="symptom_ankle_swelling", sd_floor=0.5),
    IndexSignal(metric="symptom_fatigue", sd_floor=0.5, weight=0.5),
)
DETERIORATION_INDEX = IndexRule(
    id="deterioration_index",
    signals=INDEX_SIGNALS,
    yellow=INDEX_YELLOW,
    recovery=INDEX_RECOVERY,
    note="personalised index of weight, pulse, SpO2, systolic BP and symptoms; levels [T]",
)

# The slow-drift index: the same signals, floors and weights, over a longer window, for the
# slow phase of a build-up (Chaudhry 2007 [A]: gradual weight gain from about 30 days before
# admission, the divergence in the final week; HeartLogic's index rose a median 34 days before
# events, Boehmer 2017 [A]). Each signal's average of the last week against her median of the
# four weeks ending a week before: a week's average is steadier than three days' (a day's noise
# counts a seventh), so a smaller, slower rise of several signals together reaches the level,
# and a four-week baseline is the month before the slow phase. Spans [U: a week, the ESC and
# Chaudhry window; four weeks, Chaudhry's month]; opening and recovery levels [T], chosen on the
# tuning cells only (hemkoll.detection.grid.TUNING_CELLS; 5, 6 and a 14-day guard compared,
# docs/detection.md). Both indexes' findings of one deterioration are one alert (the live alert
# model), so the drift adds an earlier notice to a build-up rather than a second alert.
DRIFT_SHORT_DAYS = 7
DRIFT_GUARD_DAYS = 7
DRIFT_BASELINE_DAYS = 28
DRIFT_YELLOW = 6.0
DRIFT_RECOVERY = 3.0
DETERIORATION_DRIFT = IndexRule(
    id="deterioration_drift",
    signals=INDEX_SIGNALS,
    short_days=DRIFT_SHORT_DAYS,
    guard_days=DRIFT_GUARD_DAYS,
    baseline_days=DRIFT_BASELINE_DAYS,
    yellow=DRIFT_YELLOW,
    recovery=DRIFT_RECOVERY,
    note="the index over a week against her four weeks before: a slow build-up; levels [T]",
)


def _off(source: str, sensitivity_pct: int, unexplained: float) -> str:
    """Note of a rule version 2 leaves off: its source and its figures on the simulator [T]."""
    figures = f"off in v2 [T]: {sensitivity_pct} % of episodes, {unexplained} unexplained/year"
    return f"{source}; {figures}" if source else figures


WEIGHT_TREND = TrendRule(
    id="weight_trend",
    metric="body_weight",
    short_days=WEIGHT_TREND_SHORT_DAYS,
    long_days=WEIGHT_TREND_LONG_DAYS,
    min_days=WEIGHT_TREND_MIN_DAYS,
    yellow=WEIGHT_TREND_KG,
    note="MACD of morning weight (Zhang 2009, Cuba Gyllensten 2016); amount tuned on simulator",
)

# What the patient is told to do (docs/patient-messages.md): severe answers are acknowledged
# whatever rules are on; severe breathlessness (at rest) asks her to call now, other severe
# answers today; 1177 is Sweden's healthcare advice line and 112 its emergency number. An hour
# before a red alert asks her to call herself: well within the centre's default escalation
# (two hours) and a working nurse's round.
ADVICE = PatientAdvice(
    severe_score=SYMPTOM_SEVERE,
    notable_score=SYMPTOM_MODERATE,
    severe_call_now=frozenset({"symptom_breathlessness"}),
    red_call_back_minutes=60,
    advice_line="1177",
    emergency_number="112",
)

# Version 3's note on the trends it turns off (on in version 2).
TRENDS_OFF = "off in v3 [T]: the indexes find as many episodes for fewer unexplained alerts (grid)"

HEART_FAILURE = RuleSet(
    name="heart-failure programme v3",
    advice=ADVICE,
    rules=(
        TrendRule(
            id="breathlessness_trend",
            metric="symptom_breathlessness",
            short_days=SYMPTOM_TREND_SHORT_DAYS,
            long_days=SYMPTOM_TREND_LONG_DAYS,
            yellow=SYMPTOM_TREND_POINTS,
            enabled=False,
            note="MACD of daily answers (as Zhang 2009 on weight); spans and amount [T]; "
            + TRENDS_OFF,
        ),
        TrendRule(
            id="ankle_swelling_trend",
            metric="symptom_ankle_swelling",
            short_days=SYMPTOM_TREND_SHORT_DAYS,
            long_days=SYMPTOM_TREND_LONG_DAYS,
            yellow=SYMPTOM_TREND_POINTS,
            enabled=False,
            note="MACD of daily answers (as Zhang 2009 on weight); spans and amount [T]; "
            + TRENDS_OFF,
        ),
        WEIGHT_TREND.model_copy(
            update={"enabled": False, "note": f"{WEIGHT_TREND.note}; {TRENDS_OFF}"}
        ),
        DETERIORATION_INDEX,
        DETERIORATION_DRIFT,
        ThresholdRule(
            id="systolic_bp_urgent",
            metric="systolic_bp",
            red=Band(low=80, high=170, consecutive=CONSECUTIVE_READINGS),
            note="BEAT-HF urgent without symptoms",
        ),
        ThresholdRule(
            id="heart_rate_urgent",
            metric="heart_rate",
            red=Band(low=40, high=110, consecutive=CONSECUTIVE_READINGS),
            note="BEAT-HF urgent without symptoms",
        ),
        ThresholdRule(
            id="spo2_urgent",
            metric="spo2",
            red=Band(low=SPO2_RED_LOW, consecutive=CONSECUTIVE_READINGS),
            note="< 90 % convention [U]",
        ),
        SymptomRule(
            id="breathlessness_at_rest",
            metric="symptom_breathlessness",
            red_score=SYMPTOM_SEVERE,
            follow_up=AT_REST_FOLLOW_UP,
            note="severe breathlessness (at rest) asks for contact now [U]; not when she "
            "answers that it is not worse than usual for her (grid)",
        ),
        ChangeRule(
            id="weight_gain_1d",
            metric="body_weight",
            window_days=1,
            yellow=WEIGHT_GAIN_1D_KG,
            enabled=False,
            note=_off("BEAT-HF and rule of thumb: > 3 lb (1.36 kg) since the day before", 20, 3.8),
        ),
        ChangeRule(
            id="weight_gain_3d",
            metric="body_weight",
            window_days=3,
            yellow=WEIGHT_GAIN_3D_KG,
            enabled=False,
            note=_off("ESC guideline: > 2 kg in 3 days; TELBIL uses 1 kg", 13, 2.0),
        ),
        ChangeRule(
            id="weight_gain_7d",
            metric="body_weight",
            window_days=7,
            yellow=WEIGHT_GAIN_7D_KG,
            enabled=False,
            note=_off("BEAT-HF: > 6 lb (2.72 kg) in a week", 8, 0.6),
        ),
        BaselineRule(
            id="weight_above_baseline",
            metric="body_weight",
            baseline_days=BASELINE_DAYS,
            min_days=BASELINE_MIN_DAYS,
            yellow_sd=BASELINE_YELLOW_SD,
            min_deviation=BASELINE_MIN_DEVIATION_KG,
            sd_floor=BASELINE_SD_FLOOR_KG,
            enabled=False,
            note=_off("personal baseline (Ledwidge 2013, LINK-HF 2020)", 27, 2.2),
        ),
        ThresholdRule(
            id="systolic_bp",
            metric="systolic_bp",
            yellow=Band(low=100, high=160, consecutive=CONSECUTIVE_READINGS),
            red=Band(low=80, high=170, consecutive=CONSECUTIVE_READINGS),
            enabled=False,
            note=_off("yellow TELBIL; red BEAT-HF urgent without symptoms", 17, 4.7),
        ),
        ThresholdRule(
            id="diastolic_bp",
            metric="diastolic_bp",
            yellow=Band(low=60, high=95, consecutive=CONSECUTIVE_READINGS),
            enabled=False,
            note=_off("TELBIL", 20, 5.4),
        ),
        ThresholdRule(
            id="heart_rate",
            metric="heart_rate",
            yellow=Band(low=50, high=100, consecutive=CONSECUTIVE_READINGS),
            red=Band(low=40, high=110, consecutive=CONSECUTIVE_READINGS),
            enabled=False,
            note=_off(
                "yellow TELBIL and BEAT-HF with symptoms; red BEAT-HF without symptoms", 5, 0.9
            ),
        ),
        ThresholdRule(
            id="spo2",
            metric="spo2",
            yellow=Band(low=95, consecutive=CONSECUTIVE_READINGS),
            red=Band(low=SPO2_RED_LOW, consecutive=CONSECUTIVE_READINGS),
            enabled=False,
            note=_off(
                "yellow TELBIL (lower it in lung disease); red < 90 % convention [U]", 42, 6.3
            ),
        ),
        SymptomRule(
            id="breathlessness",
            metric="symptom_breathlessness",
            yellow_score=SYMPTOM_MODERATE,
            red_score=SYMPTOM_SEVERE,
            enabled=False,
            note=_off("", 90, 8.0),
        ),
        SymptomRule(
            id="breathlessness_worse",
            metric="symptom_breathlessness",
            worsening_points=SYMPTOM_WORSENING_POINTS,
            worsening_window_hours=SYMPTOM_WINDOW_HOURS,
            enabled=False,
            note=_off("", 98, 17.2),
        ),
        SymptomRule(
            id="ankle_swelling",
            metric="symptom_ankle_swelling",
            yellow_score=SYMPTOM_MODERATE,
            enabled=False,
            note=_off("", 76, 5.8),
        ),
        SymptomRule(
            id="fatigue",
            metric="symptom_fatigue",
            yellow_score=SYMPTOM_SEVERE,
            enabled=False,
            note=_off("", 27, 0.5),
        ),
        # Self-rated health (weekly, in the patient app, 1-5 as in TIM-HF2, which used it
        # alongside the vital signs but published no alert threshold for it): two points
        # below her best answer of the four weeks before. Off: no source for the amount.
        ChangeRule(
            id="self_rated_health_drop",
            metric="self_rated_health",
            direction="fall",
            window_days=SELF_RATED_HEALTH_WINDOW_DAYS,
            yellow=SELF_RATED_HEALTH_DROP_POINTS,
            enabled=False,
            note="off: no published threshold; 2 points below her best of 4 weeks, to try",
        ),
        MissingRule(
            id="weight_missing_48h",
            metric="body_weight",
            after_hours=WEIGHT_SILENCE_HOURS,
            note="two missed mornings",
        ),
        MissingRule(id="bp_missing_72h", metric="systolic_bp", after_hours=BP_SILENCE_HOURS),
        MissingRule(
            id="weight_missing_by_noon",
            metric="body_weight",
            by_local_time=WEIGHT_DEADLINE,
            enabled=False,
            note="optional daily reminder call",
        ),
        CombinationRule(
            id="weight_gain_with_breathlessness",
            mode="all",
            rules=("weight_gain_3d", "breathlessness_worse"),
            window_hours=COMBINATION_WINDOW_HOURS,
            severity="red",
            label_en="weight gain with worse breathlessness",
            label_sv="viktökning med ökad andfåddhet",
            enabled=False,
            note="ESC weight gain with symptoms: BEAT-HF urgent; off in v2 with its components",
        ),
        CombinationRule(
            id="heart_rate_with_breathlessness",
            mode="all",
            rules=("heart_rate", "breathlessness_worse"),
            window_hours=COMBINATION_WINDOW_HOURS,
            severity="red",
            label_en="heart rate outside 50-100 with worse breathlessness",
            label_sv="puls utanför 50-100 med ökad andfåddhet",
            enabled=False,
            note="BEAT-HF urgent with symptoms: heart rate < 50 or > 100; off in v2",
        ),
    ),
)
