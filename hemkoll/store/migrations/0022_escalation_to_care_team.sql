-- Escalation to the care team's worklists (issue 16): a red alert nobody at her health centre
-- acknowledged in time goes to the other units of her care team that see her, even where the
-- centre has no escalation webhook (the webhook stays for a unit's own systems).
--
-- Whether another unit of her care team than her own centre sees her at `at`: the unit-level
-- part of the access decision (hemkoll/access/decision.py, rules 2 and 3: a unit of her own
-- care provider by its care relationship; another provider's with her consent and no block).
-- Emergency access is one person's, not a unit's, so it has no part here.
-- tests/notify/test_escalation_care_team.py checks this against decide().
CREATE FUNCTION shares_with_care_team(patient uuid, at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1
        FROM patients AS p
        JOIN health_centres AS home ON home.id = p.health_centre_id
        JOIN care_relationships AS cr
          ON cr.patient_id = p.id AND cr.health_centre_id <> p.health_centre_id
        JOIN health_centres AS unit ON unit.id = cr.health_centre_id
        WHERE p.id = patient
          AND cr.started_at <= at AND (cr.ended_at IS NULL OR cr.ended_at > at)
          AND (unit.care_provider_id = home.care_provider_id
               OR (EXISTS (SELECT 1 FROM sharing_consents AS c
                           WHERE c.patient_id = p.id
                             AND c.care_provider_id = unit.care_provider_id
                             AND c.recorded_at <= at
                             AND (c.withdrawn_at IS NULL OR c.withdrawn_at > at))
                   AND NOT EXISTS (SELECT 1 FROM sharing_blocks AS b
                                   WHERE b.patient_id = p.id
                                     AND b.care_provider_id = unit.care_provider_id
                                     AND b.recorded_at <= at
                                     AND (b.lifted_at IS NULL OR b.lifted_at > at))))
    )
$$;
