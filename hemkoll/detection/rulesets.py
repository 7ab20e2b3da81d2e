"""Rule sets the detection report compares: published weight algorithms and hemkoll's preset.

- Rule of thumb: weight + 2 kg in 3 days only (ESC guideline; Ledwidge 2013 [A]: 21 %
  sensitivity; FAST's 3 lb/1 day or 5 lb/3 days: 22.5 % at 4.3 unexplained per patient-year).
- MACD on weight alone, as in Zhang 2009 [A] and Cuba Gyllensten 2016 [A] (33 % sensitivity),
  with the preset's spans and amount (hemkoll.rules.preset).
- hemkoll's heart-failure preset (hemkoll.rules.preset.HEART_FAILURE, version 3: the two
  deterioration indexes and the safety rules), version 2 (the trends instead of the indexes)
  and version 1 (every guideline rule on, the weight trend, no indexes), rebuilt from version 3
  by override layers so the differences are exactly the lists below.
- The preset's fast deterioration index (``deterioration_index``) alone; with the preset's
  safety rules (urgent limits, breathlessness at rest) but without the slow-drift index; and
  added to version 2.
- The preset with ``breathlessness_at_rest`` not reading the questionnaire's follow-up
  (``follow_up`` off, as before it was on), to compare with the preset as it is.
"""

from __future__ import annotations

from types import MappingProxyType

from hemkoll.rules.config import ChangeRule, RuleSet
from hemkoll.rules.overrides import OverrideLayer, RuleOverride, effective_rules
from hemkoll.rules.preset import (
    DETERIORATION_DRIFT,
    DETERIORATION_INDEX,
    HEART_FAILURE,
    WEIGHT_GAIN_3D_KG,
    WEIGHT_TREND,
)

# Version 2 had the trends on and the indexes off; version 3 the other way round.
V2_TRENDS = ("breathlessness_trend", "ankle_swelling_trend", "weight_trend")
V3_INDEXES = (DETERIORATION_INDEX.id, DETERIORATION_DRIFT.id)
PRESET_V2 = RuleSet(
    name="heart-failure programme v2",
    advice=HEART_FAILURE.advice,
    rules=effective_rules(
        HEART_FAILURE,
        OverrideLayer(
            source="v2",
            overrides=tuple(RuleOverride(id=i, enabled=True) for i in V2_TRENDS)
            + tuple(RuleOverride(id=i, enabled=False) for i in V3_INDEXES),
        ),
    ).rules,
)

# Version 1 enabled these rules, which version 2 leaves off ...
V1_ONLY = (
    "weight_gain_1d",
    "weight_gain_3d",
    "weight_gain_7d",
    "weight_above_baseline",
    "systolic_bp",
    "diastolic_bp",
    "heart_rate",
    "spo2",
    "breathlessness",
    "breathlessness_worse",
    "ankle_swelling",
    "fatigue",
    "weight_gain_with_breathlessness",
    "heart_rate_with_breathlessness",
)
# ... and did not have these.
V2_ONLY = (
    "breathlessness_trend",
    "ankle_swelling_trend",
    "systolic_bp_urgent",
    "heart_rate_urgent",
    "spo2_urgent",
    "breathlessness_at_rest",
)
PRESET_V1 = RuleSet(
    name="heart-failure programme v1",
    rules=effective_rules(
        PRESET_V2,
        OverrideLayer(
            source="v1",
            overrides=tuple(RuleOverride(id=i, enabled=True) for i in V1_ONLY)
            + tuple(RuleOverride(id=i, enabled=False) for i in V2_ONLY),
        ),
    ).rules,
)

RULE_OF_THUMB = RuleSet(
    name="rule of thumb (weight +2 kg in 3 days)",
    rules=(
        ChangeRule(
            id="weight_gain_3d", metric="body_weight", window_days=3, yellow=WEIGHT_GAIN_3D_KG
        ),
    ),
)
MACD_WEIGHT = RuleSet(name="MACD trend on weight", rules=(WEIGHT_TREND,))  # on: v2's

INDEX_ON = DETERIORATION_INDEX.model_copy(update={"enabled": True})
# The preset's safety rules: red limits of BEAT-HF and the convention for SpO2, and severe
# breathlessness.
SAFETY_RULES = ("systolic_bp_urgent", "heart_rate_urgent", "spo2_urgent", "breathlessness_at_rest")
INDEX_ALONE = RuleSet(name="deterioration index", rules=(INDEX_ON,))
INDEX_WITH_SAFETY = RuleSet(
    name="index + safety rules (no trends)",
    rules=(INDEX_ON, *(HEART_FAILURE.rule(i) for i in SAFETY_RULES)),
)
PRESET_WITH_INDEX = RuleSet(
    name="programme v2 + index",
    rules=tuple(INDEX_ON if r.id == INDEX_ON.id else r for r in PRESET_V2.rules),
)

# The preset with its red "breathlessness at rest" rule not reading the questionnaire's
# follow-up ("worse than usual?", docs/programme.md): the comparison the preset's choice of
# reading it was made on.
PRESET_NO_FOLLOW_UP = RuleSet(
    name="programme v3, at-rest without follow-up",
    advice=HEART_FAILURE.advice,
    rules=tuple(
        r.model_copy(update={"follow_up": False}) if r.id == "breathlessness_at_rest" else r
        for r in HEART_FAILURE.rules
    ),
)

RULE_SETS: MappingProxyType[str, RuleSet] = MappingProxyType(
    {
        "rule-of-thumb": RULE_OF_THUMB,
        "macd-weight": MACD_WEIGHT,
        "preset-v1": PRESET_V1,
        "preset-v2": PRESET_V2,
        "preset": HEART_FAILURE,
        "preset-no-follow-up": PRESET_NO_FOLLOW_UP,
        "index": INDEX_ALONE,
        "index-safety": INDEX_WITH_SAFETY,
        "preset-index": PRESET_WITH_INDEX,
    }
)
