"""One-sentence explanations of findings for a nurse, in English and Swedish.

Every function returns ``(english, swedish)``. Numbers use a decimal point in English and a
decimal comma in Swedish; times are the patient's local times, formatted by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class MetricText:
    en: str
    sv: str
    unit_en: str
    unit_sv: str
    # Decimals shown: a scale resolves 0.1 kg, a blood-pressure monitor whole mmHg.
    decimals: int


METRIC_TEXT: MappingProxyType[str, MetricText] = MappingProxyType(
    {
        "body_weight": MetricText("body weight", "kroppsvikt", "kg", "kg", 1),
        "systolic_bp": MetricText(
            "systolic blood pressure", "systoliskt blodtryck", "mmHg", "mmHg", 0
        ),
        "diastolic_bp": MetricText(
            "diastolic blood pressure", "diastoliskt blodtryck", "mmHg", "mmHg", 0
        ),
        "heart_rate": MetricText("heart rate", "puls", "beats/min", "slag/min", 0),
        "spo2": MetricText("oxygen saturation", "syremättnad", "%", "%", 0),
        "body_temperature": MetricText("body temperature", "kroppstemperatur", "°C", "°C", 1),
        "symptom_breathlessness": MetricText("breathlessness", "andfåddhet", "of 3", "av 3", 0),
        "symptom_ankle_swelling": MetricText("ankle swelling", "svullna anklar", "of 3", "av 3", 0),
        "symptom_fatigue": MetricText("fatigue", "trötthet", "of 3", "av 3", 0),
        "self_rated_health": MetricText(
            "self-rated health", "självskattad hälsa", "of 5", "av 5", 0
        ),
        "worse_than_usual": MetricText(
            "worse than usual (follow-up)", "värre än vanligt (följdfråga)", "of 1", "av 1", 0
        ),
    }
)

Sentences = tuple[str, str]


def _en(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _sv(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", ",").replace("-", "\N{MINUS SIGN}")


def _q(metric: str, value: float) -> tuple[str, str]:
    """A quantity with its unit, in English and Swedish."""
    m = METRIC_TEXT[metric]
    return f"{_en(value, m.decimals)} {m.unit_en}", f"{_sv(value, m.decimals)} {m.unit_sv}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# Durations up to this many minutes are shown in minutes, up to 48 hours in hours, then days.
_MINUTES_SHOWN_UP_TO = 120
_HOURS_SHOWN_UP_TO = 48


def _duration(minutes: int) -> tuple[str, str]:
    if minutes <= _MINUTES_SHOWN_UP_TO:
        return f"{minutes} min", f"{minutes} min"
    hours = minutes / 60
    if hours <= _HOURS_SHOWN_UP_TO:
        return f"{_en(hours, 0)} hours", f"{_sv(hours, 0)} timmar"
    return f"{_en(hours / 24, 1)} days", f"{_sv(hours / 24, 1)} dygn"


def threshold(
    metric: str, *, value: float, side: str, limit: float, readings: int, minutes: int
) -> Sentences:
    m = METRIC_TEXT[metric]
    v_en, v_sv = _q(metric, value)
    l_en, l_sv = _q(metric, limit)
    above = side == "above"
    span_en, span_sv = _duration(minutes)
    run_en = f" ({readings} readings in a row over {span_en})" if readings > 1 else ""
    run_sv = f" ({readings} mätningar i följd under {span_sv})" if readings > 1 else ""
    return (
        f"{_cap(m.en)} {v_en} is {'above' if above else 'below'} the limit of {l_en}{run_en}.",
        f"{_cap(m.sv)} {v_sv} är {'över' if above else 'under'} gränsen {l_sv}{run_sv}.",
    )


def change(
    metric: str, *, direction: str, delta: float, window_days: int, ref_value: float, ref_date: str
) -> Sentences:
    m = METRIC_TEXT[metric]
    d_en, d_sv = _q(metric, delta)
    r_en, r_sv = _q(metric, ref_value)
    rise = direction == "rise"
    extreme_en = "lowest" if rise else "highest"
    extreme_sv = "lägsta" if rise else "högsta"
    days_en = "day" if window_days == 1 else f"{window_days} days"
    days_sv = "det senaste dygnet" if window_days == 1 else f"de senaste {window_days} dygnen"
    return (
        f"{_cap(m.en)} is {d_en} {'higher' if rise else 'lower'} than the {extreme_en} morning "
        f"value of the previous {days_en} ({r_en} on {ref_date}).",
        f"{_cap(m.sv)} är {d_sv} {'högre' if rise else 'lägre'} än det {extreme_sv} "
        f"morgonvärdet under {days_sv} ({r_sv} den {ref_date}).",
    )


def baseline(
    metric: str, direction: str, deviation: float, baseline_days: int, score: float
) -> Sentences:
    m = METRIC_TEXT[metric]
    d_en, d_sv = _q(metric, deviation)
    rise = direction == "rise"
    return (
        f"{_cap(m.en)} {d_en} {'above' if rise else 'below'} the patient's {baseline_days}-day "
        f"baseline, {_en(score, 1)} times the usual day-to-day variation.",
        f"{_cap(m.sv)} {d_sv} {'över' if rise else 'under'} patientens baslinje för "
        f"{baseline_days} dygn, {_sv(score, 1)} gånger den vanliga variationen.",
    )


def trend(
    metric: str,
    *,
    direction: str,
    short: tuple[int, float],
    long: tuple[int, float],
    trend: float,
    amount: float,
) -> Sentences:
    """MACD: the short average against the long one, (span days, value) each."""
    m = METRIC_TEXT[metric]
    s_en, s_sv = _q(metric, short[1])
    l_en, l_sv = _q(metric, long[1])
    t_en, t_sv = _q(metric, trend)
    a_en, a_sv = _q(metric, amount)
    rise = direction == "rise"
    return (
        f"{_cap(m.en)} trend: the {short[0]}-day average {s_en} is {t_en} "
        f"{'above' if rise else 'below'} the {long[0]}-day average {l_en} (limit {a_en}).",
        f"{_cap(m.sv)}, trend: medelvärdet för {short[0]} dygn {s_sv} är {t_sv} "
        f"{'över' if rise else 'under'} medelvärdet för {long[0]} dygn {l_sv} (gräns {a_sv}).",
    )


def missing_for(metric: str, hours: float, last_local: str) -> Sentences:
    m = METRIC_TEXT[metric]
    return (
        f"No {m.en} reading for {_en(hours, 0)} hours; the last was at {last_local}.",
        f"Ingen mätning av {m.sv} på {_sv(hours, 0)} timmar; den senaste var {last_local}.",
    )


def missing_by_time(metric: str, local_time: str, local_date: str) -> Sentences:
    m = METRIC_TEXT[metric]
    return (
        f"No {m.en} reading by {local_time} on {local_date}.",
        f"Ingen mätning av {m.sv} före kl. {local_time} den {local_date}.",
    )


def symptom_score(metric: str, score: float, limit: int) -> Sentences:
    m = METRIC_TEXT[metric]
    return (
        f"{_cap(m.en)} answered {_en(score, 0)} of 3 (limit {limit}).",
        f"{_cap(m.sv)} besvarad med {_sv(score, 0)} av 3 (gräns {limit}).",
    )


def symptom_worse(metric: str, before: float, score: float, hours: float) -> Sentences:
    m = METRIC_TEXT[metric]
    return (
        f"{_cap(m.en)} worsened from {_en(before, 0)} to {_en(score, 0)} of 3 "
        f"within {_en(hours, 0)} hours.",
        f"{_cap(m.sv)} har ökat från {_sv(before, 0)} till {_sv(score, 0)} av 3 "
        f"inom {_sv(hours, 0)} timmar.",
    )


def follow_up(answer: float | None) -> Sentences:
    """What the patient answered to the questionnaire's follow-up "worse than usual?"."""
    if answer is None:
        return (
            "She did not answer whether this is worse than usual.",
            "Hon svarade inte på om det är värre än vanligt.",
        )
    if answer == 0:
        return (
            "She answered that this is not worse than usual for her.",
            "Hon svarade att det inte är värre än vanligt för henne.",
        )
    return (
        "She answered that this is worse than usual for her.",
        "Hon svarade att det är värre än vanligt för henne.",
    )


def combination(
    label_en: str, label_sv: str, hours: float, components: list[Sentences]
) -> Sentences:
    """The combination's label and window, then the sentence of each component that fired."""
    return (
        f"{_cap(label_en)} within {_en(hours, 0)} hours: " + " ".join(en for en, _ in components),
        f"{_cap(label_sv)} inom {_sv(hours, 0)} timmar: " + " ".join(sv for _, sv in components),
    )


def index(score: float, limit: float, moved: list[tuple[str, float, float]]) -> Sentences:
    """The deterioration index: its score and limit, and the signals that moved, most first:
    (metric, recent average minus the patient's usual value, in usual variations)."""
    en_parts, sv_parts = [], []
    for metric, deviation, z in moved:
        m = METRIC_TEXT[metric]
        if metric.startswith("symptom_"):  # an average of answers: steps, to a tenth
            d_en, d_sv = f"{_en(abs(deviation), 1)} steps", f"{_sv(abs(deviation), 1)} steg"
        else:
            d_en, d_sv = _q(metric, abs(deviation))
        up = deviation >= 0
        en_parts.append(
            f"{m.en} {d_en} {'above' if up else 'below'} her usual ({_en(z, 1)} x usual variation)"
        )
        sv_parts.append(
            f"{m.sv} {d_sv} {'över' if up else 'under'} det vanliga "
            f"({_sv(z, 1)} x vanlig variation)"
        )
    en_moved = "; ".join(en_parts) if en_parts else "no single signal stands out"
    sv_moved = "; ".join(sv_parts) if sv_parts else "ingen enskild signal sticker ut"
    return (
        f"Deterioration index {_en(score, 1)} (alert from {_en(limit, 1)}): {en_moved}.",
        f"Försämringsindex {_sv(score, 1)} (larm från {_sv(limit, 1)}): {sv_moved}.",
    )
