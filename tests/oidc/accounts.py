"""The test provider's accounts and their HSA claims (written to the provider at start), and
the HSA ids of the test world's care units and staff."""

from __future__ import annotations

CLIENT_ID = "hemkoll-console"
CLIENT_SECRET = "test-client-secret-not-for-production"
SCOPE = "openid profile hsa"
CARE = "Vård och behandling"

UNIT_A = "SE2321000016-A001"  # health centre A
UNIT_B = "SE2321000016-B001"  # health centre B
UNIT_ELSEWHERE = "SE2321000016-Z999"  # a care unit hemkoll does not know

NURSE_A = "SE2321000016-N001"  # centre A's nurse
NURSE_B = "SE2321000016-N002"  # centre B's nurse
CLINICIAN_A = "SE2321000016-L001"  # centre A's clinician
REGION_ADMIN = "SE2321000016-R001"
STRANGER = "SE2321000016-X001"  # in the provider, not in hemkoll
NEWCOMER = "SE2321000016-X002"  # in the provider; added to hemkoll by a test


def _commission(ident: str, unit: str, purpose: str) -> dict[str, str]:
    return {"commissionHsaId": ident, "healthCareUnitHsaId": unit, "commissionPurpose": purpose}


# login name at the provider -> claims
ACCOUNTS: dict[str, dict[str, object]] = {
    # Two care assignments: one at a unit hemkoll does not know, one at her own centre.
    "nurse-a": {
        "name": "Anna Nurse",
        "employeeHsaId": NURSE_A,
        "commissions": [
            _commission("SE2321000016-C010", UNIT_ELSEWHERE, CARE),
            _commission("SE2321000016-C011", UNIT_A, CARE),
        ],
    },
    # Known to hemkoll, but her only assignment is at a unit that is not hers.
    "nurse-b-elsewhere": {
        "name": "Berit Nurse",
        "employeeHsaId": NURSE_B,
        "commissions": [_commission("SE2321000016-C020", UNIT_ELSEWHERE, CARE)],
    },
    # At his own centre, but for statistics, not care.
    "clinician-a-statistics": {
        "name": "Carl Clinician",
        "employeeHsaId": CLINICIAN_A,
        "commissions": [_commission("SE2321000016-C030", UNIT_A, "Statistik")],
    },
    # A person the provider knows and hemkoll does not.
    "stranger": {
        "name": "Sven Stranger",
        "employeeHsaId": STRANGER,
        "commissions": [_commission("SE2321000016-C040", UNIT_A, CARE)],
    },
    # Added to hemkoll by an administrator during a test.
    "newcomer": {
        "name": "Nina Newcomer",
        "employeeHsaId": NEWCOMER,
        "commissions": [_commission("SE2321000016-C070", UNIT_A, CARE)],
    },
    # No HSA employee id at all.
    "no-hsa-id": {"name": "No Id", "commissions": [_commission("C050", UNIT_A, CARE)]},
    "region-admin": {
        "name": "Rita Admin",
        "employeeHsaId": REGION_ADMIN,
        "commissions": [_commission("SE2321000016-C060", UNIT_B, CARE)],
    },
}
