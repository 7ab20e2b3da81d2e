-- name: insert_health_centre
-- A care unit of the given care provider (NULL: the deployment's region, the oldest region
-- provider: see 0020).
INSERT INTO health_centres
    (name, timezone, phone, notification_url, signing_secret, escalation_contact,
     escalation_url, escalation_signing_secret, escalate_after, webhook_format,
     care_provider_id, unit_kind, hsa_id)
VALUES
    (%(name)s, %(timezone)s, %(phone)s, %(notification_url)s, %(signing_secret)s,
     %(escalation_contact)s, %(escalation_url)s, %(escalation_signing_secret)s,
     make_interval(mins => %(escalate_after_minutes)s), %(webhook_format)s,
     coalesce(%(care_provider_id)s::uuid,
              (SELECT id FROM care_providers WHERE kind = 'region'
               ORDER BY created_at, id LIMIT 1)),
     %(unit_kind)s, %(hsa_id)s)
RETURNING id, name, timezone, phone, notification_url, escalation_contact, escalation_url,
          (extract(epoch FROM escalate_after) / 60)::integer AS escalate_after_minutes,
          webhook_format, created_at, care_provider_id, unit_kind, hsa_id;

-- name: list_health_centres
SELECT id, name, timezone, phone, notification_url, escalation_contact, escalation_url,
       (extract(epoch FROM escalate_after) / 60)::integer AS escalate_after_minutes,
       webhook_format, created_at, care_provider_id, unit_kind, hsa_id
FROM health_centres
WHERE %(health_centre_id)s::uuid IS NULL OR id = %(health_centre_id)s
ORDER BY name;

-- name: update_health_centre
-- Each setting is changed only when given (NULL keeps it); a URL set for the first time gets
-- its signing secret here, passed in by the caller.
UPDATE health_centres
SET timezone = coalesce(%(timezone)s, timezone),
    phone = coalesce(%(phone)s, phone),
    notification_url = coalesce(%(notification_url)s, notification_url),
    signing_secret = CASE WHEN %(notification_url)s::text IS NOT NULL AND signing_secret IS NULL
                          THEN %(new_signing_secret)s ELSE signing_secret END,
    escalation_contact = coalesce(%(escalation_contact)s, escalation_contact),
    escalation_url = coalesce(%(escalation_url)s, escalation_url),
    escalation_signing_secret =
        CASE WHEN %(escalation_url)s::text IS NOT NULL AND escalation_signing_secret IS NULL
             THEN %(new_escalation_signing_secret)s ELSE escalation_signing_secret END,
    escalate_after = coalesce(make_interval(mins => %(escalate_after_minutes)s), escalate_after),
    webhook_format = coalesce(%(webhook_format)s, webhook_format)
WHERE id = %(health_centre_id)s
RETURNING id, name, timezone, phone, notification_url, escalation_contact, escalation_url,
          (extract(epoch FROM escalate_after) / 60)::integer AS escalate_after_minutes,
          webhook_format, created_at, care_provider_id, unit_kind, hsa_id,
          CASE WHEN signing_secret = %(new_signing_secret)s THEN signing_secret END
              AS signing_secret,
          CASE WHEN escalation_signing_secret = %(new_escalation_signing_secret)s
               THEN escalation_signing_secret END AS escalation_signing_secret;

-- name: rotate_signing_secrets
UPDATE health_centres
SET signing_secret = CASE WHEN notification_url IS NOT NULL THEN %(signing_secret)s END,
    escalation_signing_secret =
        CASE WHEN escalation_url IS NOT NULL THEN %(escalation_signing_secret)s END
WHERE id = %(health_centre_id)s
RETURNING signing_secret, escalation_signing_secret;

-- name: upsert_health_centre
-- A health centre created by name (enrolment) is the deployment's region's (see 0020).
INSERT INTO health_centres (name, care_provider_id)
VALUES (%(name)s, (SELECT id FROM care_providers WHERE kind = 'region'
                   ORDER BY created_at, id LIMIT 1))
ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
RETURNING id, name, timezone, created_at;
