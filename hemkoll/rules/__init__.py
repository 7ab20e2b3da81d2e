"""Rules engine core: rules as data, pure evaluation over numpy arrays, findings for nurses.

No I/O: no database, no MQTT, no clock. ``now`` is always passed in.
"""

from hemkoll.rules.config import (
    Band,
    BaselineRule,
    ChangeRule,
    CombinationRule,
    IndexRule,
    IndexSignal,
    MissingRule,
    Rule,
    RuleSet,
    Severity,
    SymptomRule,
    ThresholdRule,
    TrendRule,
)
from hemkoll.rules.engine import CohortFindings, evaluate, evaluate_cohort, required_history
from hemkoll.rules.findings import Finding, findings_since
from hemkoll.rules.kinds.index_kernels import compile_kernels
from hemkoll.rules.overrides import OverrideLayer, RuleOverride, effective_rules
from hemkoll.rules.preset import HEART_FAILURE

__all__ = [
    "HEART_FAILURE",
    "Band",
    "BaselineRule",
    "ChangeRule",
    "CohortFindings",
    "CombinationRule",
    "Finding",
    "IndexRule",
    "IndexSignal",
    "MissingRule",
    "OverrideLayer",
    "Rule",
    "RuleOverride",
    "RuleSet",
    "Severity",
    "SymptomRule",
    "ThresholdRule",
    "TrendRule",
    "compile_kernels",
    "effective_rules",
    "evaluate",
    "evaluate_cohort",
    "findings_since",
    "required_history",
]
