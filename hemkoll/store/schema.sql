CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;

COMMENT ON EXTENSION btree_gist IS 'support for indexing common datatypes in GiST';

CREATE FUNCTION public.alert_evidence_readings(target uuid) RETURNS TABLE(metric text, value double precision, measured_at timestamp with time zone, device_id uuid, received_at timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT r.metric, r.value, r.measured_at, r.device_id, r.received_at
    FROM alerts AS a
    JOIN readings AS r ON r.patient_id = a.patient_id
    WHERE a.id = target
      AND (a.evidence ->> 'metric' IS NULL OR r.metric = a.evidence ->> 'metric')
      AND (r.measured_at IN (a.first_fired_at, a.last_fired_at)
           OR r.measured_at IN (
               SELECT (e ->> 0)::timestamptz
               FROM jsonb_array_elements(
                   CASE WHEN jsonb_typeof(a.evidence -> 'readings') = 'array'
                        THEN a.evidence -> 'readings' ELSE '[]'::jsonb END) AS e
               WHERE jsonb_typeof(e) = 'array'))
    ORDER BY r.measured_at, r.metric, r.device_id
$$;

CREATE FUNCTION public.audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION public.contact_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'the contact log is append-only (correct an entry with a new one): % refused',
        TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION public.delete_settled_notifications(before timestamp with time zone, max_rows integer) RETURNS integer
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
    WITH settled AS (
        SELECT n.id FROM notifications AS n
        WHERE n.state <> 'pending' AND n.created_at < before
          AND NOT EXISTS (SELECT 1 FROM alerts AS a
                          WHERE a.id = n.alert_id AND a.state <> 'resolved')
        ORDER BY n.created_at
        LIMIT max_rows
        FOR UPDATE OF n SKIP LOCKED
    ), attempts AS (
        DELETE FROM notification_attempts WHERE notification_id IN (SELECT id FROM settled)
    ), deleted AS (
        DELETE FROM notifications WHERE id IN (SELECT id FROM settled) RETURNING 1
    )
    SELECT count(*)::integer FROM deleted
$$;

CREATE FUNCTION public.readings_hourly_add() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            INSERT INTO readings_hourly AS h
                (patient_id, metric, hour, n, min_value, max_value, sum_value, last_at,
                 last_value)
            SELECT patient_id, metric, date_trunc('hour', measured_at, 'UTC'), count(*),
                   min(value), max(value), sum(value), max(measured_at),
                   (array_agg(value ORDER BY measured_at DESC, value DESC))[1]
            FROM inserted
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3
            ON CONFLICT (patient_id, metric, hour) DO UPDATE SET
                n = h.n + EXCLUDED.n,
                min_value = least(h.min_value, EXCLUDED.min_value),
                max_value = greatest(h.max_value, EXCLUDED.max_value),
                sum_value = h.sum_value + EXCLUDED.sum_value,
                last_value = CASE
                    WHEN (EXCLUDED.last_at, EXCLUDED.last_value) > (h.last_at, h.last_value)
                    THEN EXCLUDED.last_value ELSE h.last_value END,
                last_at = greatest(h.last_at, EXCLUDED.last_at);
            RETURN NULL;
        END
        $$;

CREATE FUNCTION public.shares_with_care_team(patient uuid, at timestamp with time zone) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
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

CREATE TABLE public.access_reviews (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    reviewed_by uuid,
    reviewer_name text NOT NULL,
    kind text NOT NULL,
    health_centre_id uuid,
    period_start timestamp with time zone NOT NULL,
    period_end timestamp with time zone NOT NULL,
    subject_staff_id uuid,
    audit_ids bigint[] NOT NULL,
    finding text NOT NULL,
    note text,
    reviewed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT access_reviews_check CHECK ((period_end > period_start)),
    CONSTRAINT access_reviews_check1 CHECK (((finding = 'no_remark'::text) OR (note IS NOT NULL))),
    CONSTRAINT access_reviews_finding_check CHECK ((finding = ANY (ARRAY['no_remark'::text, 'remark'::text, 'misuse_suspected'::text]))),
    CONSTRAINT access_reviews_kind_check CHECK ((kind = ANY (ARRAY['random'::text, 'no_care_relationship'::text, 'emergency'::text, 'user'::text]))),
    CONSTRAINT access_reviews_note_check CHECK (((note IS NULL) OR ((length(btrim(note)) >= 1) AND (length(btrim(note)) <= 2000)))),
    CONSTRAINT access_reviews_reviewer_name_check CHECK (((length(btrim(reviewer_name)) >= 1) AND (length(btrim(reviewer_name)) <= 200)))
);

CREATE TABLE public.alert_events (
    id bigint NOT NULL,
    alert_id uuid NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    kind text NOT NULL,
    severity text,
    actor text NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT alert_events_kind_check CHECK ((kind = ANY (ARRAY['opened'::text, 'severity_raised'::text, 'acknowledged'::text, 'resolved'::text, 'assigned'::text, 'commented'::text, 'escalated'::text, 'evidence_added'::text]))),
    CONSTRAINT alert_events_severity_check CHECK ((severity = ANY (ARRAY['yellow'::text, 'red'::text])))
);

ALTER TABLE public.alert_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.alert_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.alerts (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    rule_id text NOT NULL,
    rule_kind text NOT NULL,
    rule_set text NOT NULL,
    state text DEFAULT 'open'::text NOT NULL,
    severity text NOT NULL,
    opened_at timestamp with time zone DEFAULT now() NOT NULL,
    first_fired_at timestamp with time zone NOT NULL,
    last_fired_at timestamp with time zone NOT NULL,
    evidence jsonb NOT NULL,
    explanation_en text NOT NULL,
    explanation_sv text NOT NULL,
    acknowledged_at timestamp with time zone,
    resolved_at timestamp with time zone,
    outcome text,
    assigned_to uuid,
    severity_since timestamp with time zone DEFAULT now() NOT NULL,
    escalated_at timestamp with time zone,
    CONSTRAINT alerts_check CHECK ((last_fired_at >= first_fired_at)),
    CONSTRAINT alerts_check1 CHECK (((state = 'resolved'::text) = ((resolved_at IS NOT NULL) AND (outcome IS NOT NULL)))),
    CONSTRAINT alerts_check2 CHECK (((state = 'open'::text) OR (acknowledged_at IS NOT NULL) OR (state = 'resolved'::text))),
    CONSTRAINT alerts_outcome_check CHECK ((outcome = ANY (ARRAY['contacted_patient'::text, 'medication_adjusted'::text, 'referred'::text, 'no_action_needed'::text, 'false_alarm'::text, 'reading_arrived'::text]))),
    CONSTRAINT alerts_severity_check CHECK ((severity = ANY (ARRAY['yellow'::text, 'red'::text]))),
    CONSTRAINT alerts_state_check CHECK ((state = ANY (ARRAY['open'::text, 'acknowledged'::text, 'resolved'::text])))
);

CREATE TABLE public.api_tokens (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    staff_id uuid NOT NULL,
    token_sha256 bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT api_tokens_token_sha256_check CHECK ((length(token_sha256) = 32))
);

CREATE TABLE public.audit_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    staff_id uuid,
    role text,
    action text NOT NULL,
    status integer NOT NULL,
    health_centre_id uuid,
    patient_id uuid,
    object_type text,
    object_id text,
    client_address inet,
    reason text,
    patient_session_id uuid,
    care_provider_id uuid,
    access_basis text,
    CONSTRAINT audit_log_access_basis_check CHECK (((access_basis IS NULL) OR (access_basis = ANY (ARRAY['care_relationship'::text, 'consent'::text, 'emergency'::text, 'administration'::text, 'no_care_relationship'::text, 'no_consent'::text, 'blocked'::text])))),
    CONSTRAINT audit_log_reason_check CHECK (((reason IS NULL) OR ((length(btrim(reason)) >= 1) AND (length(btrim(reason)) <= 500))))
);

ALTER TABLE public.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.care_messages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    thread_id uuid NOT NULL,
    author_staff uuid,
    body text NOT NULL,
    sent_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    read_at timestamp with time zone,
    CONSTRAINT care_messages_body_check CHECK (((length(btrim(body)) >= 1) AND (length(btrim(body)) <= 2000)))
);

CREATE TABLE public.care_providers (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    hsa_id text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT care_providers_hsa_id_check CHECK (((hsa_id IS NULL) OR ((length(btrim(hsa_id)) >= 1) AND (length(btrim(hsa_id)) <= 64)))),
    CONSTRAINT care_providers_kind_check CHECK ((kind = ANY (ARRAY['region'::text, 'municipality'::text]))),
    CONSTRAINT care_providers_name_check CHECK (((length(btrim(name)) >= 1) AND (length(btrim(name)) <= 200)))
);

CREATE TABLE public.care_relationships (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    health_centre_id uuid NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    ended_at timestamp with time zone,
    recorded_by uuid,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT care_relationships_check CHECK (((ended_at IS NULL) OR (ended_at >= started_at)))
);

CREATE TABLE public.contact_log (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    kind text NOT NULL,
    alert_id uuid,
    corrects uuid,
    author uuid NOT NULL,
    text text NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    written_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT contact_log_check CHECK ((occurred_at <= (written_at + '00:05:00'::interval))),
    CONSTRAINT contact_log_check1 CHECK (((corrects IS NULL) OR (corrects <> id))),
    CONSTRAINT contact_log_kind_check CHECK ((kind = ANY (ARRAY['call_out'::text, 'call_in'::text, 'visit'::text, 'note'::text, 'hand_over'::text]))),
    CONSTRAINT contact_log_text_check CHECK (((length(btrim(text)) >= 1) AND (length(text) <= 2000)))
);

CREATE TABLE public.contact_requests (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    reason text,
    worry smallint NOT NULL,
    state text DEFAULT 'received'::text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    seen_at timestamp with time zone,
    seen_by uuid,
    handled_at timestamp with time zone,
    handled_by uuid,
    CONSTRAINT contact_requests_check CHECK (((state = 'received'::text) = (seen_at IS NULL))),
    CONSTRAINT contact_requests_check1 CHECK (((state = 'handled'::text) = (handled_at IS NOT NULL))),
    CONSTRAINT contact_requests_reason_check CHECK (((reason IS NULL) OR ((length(btrim(reason)) >= 1) AND (length(btrim(reason)) <= 1000)))),
    CONSTRAINT contact_requests_state_check CHECK ((state = ANY (ARRAY['received'::text, 'seen'::text, 'handled'::text]))),
    CONSTRAINT contact_requests_worry_check CHECK (((worry >= 1) AND (worry <= 3)))
);

CREATE TABLE public.dead_letters (
    id bigint NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    topic text NOT NULL,
    device_id uuid,
    msg_id text,
    reading_index integer,
    reason_code text NOT NULL,
    reason text NOT NULL,
    payload bytea NOT NULL,
    payload_size integer NOT NULL,
    payload_sha256 bytea NOT NULL
);

ALTER TABLE public.dead_letters ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.dead_letters_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.devices (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    kind text NOT NULL,
    active boolean DEFAULT true NOT NULL,
    enrolled_at timestamp with time zone DEFAULT now() NOT NULL,
    deactivated_at timestamp with time zone,
    credential_hash text,
    CONSTRAINT devices_check CHECK ((active OR (deactivated_at IS NOT NULL))),
    CONSTRAINT devices_credential_check CHECK (((kind = 'patient_app'::text) = (credential_hash IS NULL))),
    CONSTRAINT devices_kind_check CHECK ((kind = ANY (ARRAY['scale'::text, 'blood_pressure_monitor'::text, 'pulse_oximeter'::text, 'thermometer'::text, 'symptom_questionnaire'::text, 'gateway'::text, 'patient_app'::text])))
);

CREATE TABLE public.emergency_accesses (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    staff_id uuid NOT NULL,
    patient_id uuid NOT NULL,
    reason text NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    reviewed_at timestamp with time zone,
    CONSTRAINT emergency_accesses_check CHECK ((expires_at > started_at)),
    CONSTRAINT emergency_accesses_reason_check CHECK (((length(btrim(reason)) >= 10) AND (length(btrim(reason)) <= 500)))
);

CREATE TABLE public.endpoint_health (
    health_centre_id uuid NOT NULL,
    channel text NOT NULL,
    failures integer NOT NULL,
    failing_since timestamp with time zone,
    last_error text,
    last_attempt_at timestamp with time zone NOT NULL,
    last_delivered_at timestamp with time zone,
    CONSTRAINT endpoint_health_channel_check CHECK ((channel = ANY (ARRAY['care_team'::text, 'escalation'::text]))),
    CONSTRAINT endpoint_health_check CHECK (((failures = 0) = (failing_since IS NULL))),
    CONSTRAINT endpoint_health_failures_check CHECK ((failures >= 0))
);

CREATE TABLE public.evaluation_deadlines (
    patient_id uuid NOT NULL,
    due_at timestamp with time zone,
    programme text NOT NULL,
    computed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

CREATE TABLE public.evaluation_queue (
    patient_id uuid NOT NULL,
    requested_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    lease_until timestamp with time zone,
    not_before timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    feedback_devices uuid[] DEFAULT '{}'::uuid[] NOT NULL,
    generation bigint DEFAULT 0 NOT NULL,
    feedback_since timestamp with time zone,
    feedback_oldest timestamp with time zone,
    priority smallint DEFAULT 0 NOT NULL,
    CONSTRAINT evaluation_queue_priority_check CHECK ((priority = ANY (ARRAY[0, 1])))
);

CREATE TABLE public.health_centres (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    timezone text DEFAULT 'Europe/Stockholm'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    notification_url text,
    signing_secret text,
    escalation_contact text,
    escalation_url text,
    escalation_signing_secret text,
    escalate_after interval DEFAULT '02:00:00'::interval NOT NULL,
    phone text,
    webhook_format text DEFAULT 'hemkoll'::text NOT NULL,
    care_provider_id uuid NOT NULL,
    unit_kind text DEFAULT 'health_centre'::text NOT NULL,
    hsa_id text,
    CONSTRAINT health_centres_escalate_after_check CHECK (((escalate_after >= '00:01:00'::interval) AND (escalate_after <= '7 days'::interval))),
    CONSTRAINT health_centres_escalation_contact_check CHECK (((length(escalation_contact) >= 1) AND (length(escalation_contact) <= 200))),
    CONSTRAINT health_centres_escalation_pair CHECK (((escalation_url IS NULL) = (escalation_signing_secret IS NULL))),
    CONSTRAINT health_centres_escalation_signing_secret_check CHECK ((escalation_signing_secret ~ '^whsec_'::text)),
    CONSTRAINT health_centres_escalation_url_check CHECK ((escalation_url ~ '^https?://'::text)),
    CONSTRAINT health_centres_hsa_id_check CHECK (((hsa_id IS NULL) OR ((length(btrim(hsa_id)) >= 1) AND (length(btrim(hsa_id)) <= 64)))),
    CONSTRAINT health_centres_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT health_centres_notification_pair CHECK (((notification_url IS NULL) = (signing_secret IS NULL))),
    CONSTRAINT health_centres_notification_url_check CHECK ((notification_url ~ '^https?://'::text)),
    CONSTRAINT health_centres_phone_check CHECK ((phone ~ '^\+?[0-9][0-9 ()-]{4,30}$'::text)),
    CONSTRAINT health_centres_signing_secret_check CHECK ((signing_secret ~ '^whsec_'::text)),
    CONSTRAINT health_centres_unit_kind_check CHECK ((unit_kind = ANY (ARRAY['health_centre'::text, 'home_care'::text]))),
    CONSTRAINT health_centres_webhook_format_check CHECK ((webhook_format = ANY (ARRAY['hemkoll'::text, 'fhir'::text])))
);

CREATE TABLE public.hospital_stays (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    admitted_at timestamp with time zone NOT NULL,
    discharged_at timestamp with time zone,
    note text,
    recorded_by uuid NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT hospital_stays_check CHECK (((discharged_at IS NULL) OR (discharged_at > admitted_at))),
    CONSTRAINT hospital_stays_check1 CHECK ((admitted_at <= (recorded_at + '00:05:00'::interval))),
    CONSTRAINT hospital_stays_note_check CHECK (((note IS NULL) OR (length(note) <= 500)))
);

CREATE TABLE public.imported_history (
    patient_id uuid NOT NULL,
    until timestamp with time zone NOT NULL,
    imported_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.metrics (
    metric text NOT NULL,
    canonical_unit text NOT NULL,
    loinc text,
    description text NOT NULL
);

CREATE TABLE public.notification_attempts (
    id bigint NOT NULL,
    notification_id uuid NOT NULL,
    attempt integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    duration_ms integer NOT NULL,
    result text NOT NULL,
    status_code integer,
    error text,
    CONSTRAINT notification_attempts_result_check CHECK ((result = ANY (ARRAY['delivered'::text, 'retry'::text, 'expired'::text, 'gone'::text])))
);

ALTER TABLE public.notification_attempts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.notification_attempts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.notifications (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    health_centre_id uuid NOT NULL,
    patient_id uuid NOT NULL,
    alert_id uuid,
    channel text NOT NULL,
    device_id uuid,
    event text NOT NULL,
    payload jsonb NOT NULL,
    state text DEFAULT 'pending'::text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    lease_until timestamp with time zone,
    delivered_at timestamp with time zone,
    last_error text,
    contact_request_id uuid,
    evidence jsonb,
    CONSTRAINT notifications_channel_check CHECK ((channel = ANY (ARRAY['care_team'::text, 'escalation'::text, 'device'::text]))),
    CONSTRAINT notifications_check CHECK (((channel = 'device'::text) = (device_id IS NOT NULL))),
    CONSTRAINT notifications_check2 CHECK (((state = 'delivered'::text) = (delivered_at IS NOT NULL))),
    CONSTRAINT notifications_event_check CHECK ((event = ANY (ARRAY['alert.opened'::text, 'alert.severity_raised'::text, 'alert.escalated'::text, 'alert.acknowledged'::text, 'readings.in_range'::text, 'readings.received'::text, 'readings.measure_again'::text, 'readings.severe_symptom'::text, 'patient.contact_requested'::text]))),
    CONSTRAINT notifications_evidence_check CHECK (((evidence IS NULL) OR (jsonb_typeof(evidence) = 'array'::text))),
    CONSTRAINT notifications_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'delivered'::text, 'expired'::text, 'gone'::text]))),
    CONSTRAINT notifications_subject_check CHECK (((channel = 'device'::text) OR ((alert_id IS NULL) <> (contact_request_id IS NULL))))
);

CREATE TABLE public.oidc_sign_ins (
    state_sha256 bytea NOT NULL,
    nonce text NOT NULL,
    code_verifier text NOT NULL,
    next_page text,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT oidc_sign_ins_check CHECK ((expires_at > created_at))
);

CREATE TABLE public.patient_codes (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    code_hash bytea NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT patient_codes_check CHECK ((expires_at > created_at))
);

CREATE TABLE public.patient_goals (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    kind text NOT NULL,
    text text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    removed_at timestamp with time zone,
    CONSTRAINT patient_goals_kind_check CHECK ((kind = ANY (ARRAY['goal'::text, 'preference'::text]))),
    CONSTRAINT patient_goals_text_check CHECK (((length(btrim(text)) >= 1) AND (length(btrim(text)) <= 300)))
);

CREATE TABLE public.patient_sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    code_id uuid,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT patient_sessions_check CHECK ((expires_at > created_at))
);

CREATE TABLE public.patients (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    health_centre_id uuid NOT NULL,
    reference text NOT NULL,
    timezone text DEFAULT 'Europe/Stockholm'::text NOT NULL,
    language text DEFAULT 'sv'::text NOT NULL,
    enrolled_at timestamp with time zone DEFAULT now() NOT NULL,
    monitoring_paused_since timestamp with time zone,
    discharged_at timestamp with time zone,
    CONSTRAINT patients_language_check CHECK ((language = ANY (ARRAY['sv'::text, 'en'::text]))),
    CONSTRAINT patients_reference_check CHECK (((length(reference) >= 1) AND (length(reference) <= 64)))
);

CREATE TABLE public.questionnaire_responses (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    questionnaire text NOT NULL,
    answers jsonb NOT NULL,
    score double precision,
    authored_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

CREATE TABLE public.readings (
    patient_id uuid NOT NULL,
    device_id uuid NOT NULL,
    metric text NOT NULL,
    value double precision NOT NULL,
    measured_at timestamp with time zone NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.readings_hourly (
    patient_id uuid NOT NULL,
    metric text NOT NULL,
    hour timestamp with time zone NOT NULL,
    n bigint NOT NULL,
    min_value double precision NOT NULL,
    max_value double precision NOT NULL,
    sum_value double precision NOT NULL,
    last_at timestamp with time zone NOT NULL,
    last_value double precision NOT NULL
);

CREATE TABLE public.rule_overrides (
    id bigint NOT NULL,
    health_centre_id uuid,
    patient_id uuid,
    version integer NOT NULL,
    layer jsonb NOT NULL,
    changed_by text NOT NULL,
    reason text NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT rule_overrides_changed_by_check CHECK (((length(changed_by) >= 1) AND (length(changed_by) <= 200))),
    CONSTRAINT rule_overrides_check CHECK (((health_centre_id IS NULL) <> (patient_id IS NULL))),
    CONSTRAINT rule_overrides_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 2000))),
    CONSTRAINT rule_overrides_version_check CHECK ((version >= 1))
);

ALTER TABLE public.rule_overrides ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.rule_overrides_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.sharing_blocks (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    care_provider_id uuid NOT NULL,
    recorded_by uuid NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    lifted_at timestamp with time zone,
    CONSTRAINT sharing_blocks_check CHECK (((lifted_at IS NULL) OR (lifted_at >= recorded_at)))
);

CREATE TABLE public.sharing_consents (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    patient_id uuid NOT NULL,
    care_provider_id uuid NOT NULL,
    scope text DEFAULT 'monitoring'::text NOT NULL,
    recorded_by uuid NOT NULL,
    recorded_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    withdrawn_at timestamp with time zone,
    CONSTRAINT sharing_consents_check CHECK (((withdrawn_at IS NULL) OR (withdrawn_at >= recorded_at))),
    CONSTRAINT sharing_consents_scope_check CHECK ((scope = 'monitoring'::text))
);

CREATE TABLE public.staff (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    health_centre_id uuid,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    hsa_id text,
    CONSTRAINT staff_check CHECK (((role = 'admin'::text) OR (health_centre_id IS NOT NULL))),
    CONSTRAINT staff_hsa_id_check CHECK (((hsa_id IS NULL) OR (hsa_id ~ '^[A-Za-z0-9-]{1,64}$'::text))),
    CONSTRAINT staff_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT staff_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'clinician'::text, 'nurse'::text])))
);

CREATE TABLE public.staff_sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    staff_id uuid NOT NULL,
    token_sha256 bytea NOT NULL,
    health_centre_id uuid,
    assignment_hsa_id text,
    purpose text NOT NULL,
    issuer text NOT NULL,
    subject text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT staff_sessions_check CHECK ((expires_at > created_at))
);

ALTER TABLE ONLY public.access_reviews
    ADD CONSTRAINT access_reviews_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.alert_events
    ADD CONSTRAINT alert_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_patient_id_id_key UNIQUE (patient_id, id);

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_token_sha256_key UNIQUE (token_sha256);

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.care_messages
    ADD CONSTRAINT care_messages_patient_id_id_key UNIQUE (patient_id, id);

ALTER TABLE ONLY public.care_messages
    ADD CONSTRAINT care_messages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.care_providers
    ADD CONSTRAINT care_providers_hsa_id_key UNIQUE (hsa_id);

ALTER TABLE ONLY public.care_providers
    ADD CONSTRAINT care_providers_name_key UNIQUE (name);

ALTER TABLE ONLY public.care_providers
    ADD CONSTRAINT care_providers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.care_relationships
    ADD CONSTRAINT care_relationships_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.contact_log
    ADD CONSTRAINT contact_log_patient_id_id_key UNIQUE (patient_id, id);

ALTER TABLE ONLY public.contact_log
    ADD CONSTRAINT contact_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.contact_requests
    ADD CONSTRAINT contact_requests_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.dead_letters
    ADD CONSTRAINT dead_letters_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.emergency_accesses
    ADD CONSTRAINT emergency_accesses_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.endpoint_health
    ADD CONSTRAINT endpoint_health_pkey PRIMARY KEY (health_centre_id, channel);

ALTER TABLE ONLY public.evaluation_deadlines
    ADD CONSTRAINT evaluation_deadlines_pkey PRIMARY KEY (patient_id);

ALTER TABLE ONLY public.evaluation_queue
    ADD CONSTRAINT evaluation_queue_pkey PRIMARY KEY (patient_id);

ALTER TABLE ONLY public.health_centres
    ADD CONSTRAINT health_centres_hsa_id_key UNIQUE (hsa_id);

ALTER TABLE ONLY public.health_centres
    ADD CONSTRAINT health_centres_name_key UNIQUE (name);

ALTER TABLE ONLY public.health_centres
    ADD CONSTRAINT health_centres_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.hospital_stays
    ADD CONSTRAINT hospital_stays_no_overlap EXCLUDE USING gist (patient_id WITH =, tstzrange(admitted_at, discharged_at, '[)'::text) WITH &&);

ALTER TABLE ONLY public.hospital_stays
    ADD CONSTRAINT hospital_stays_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.imported_history
    ADD CONSTRAINT imported_history_pkey PRIMARY KEY (patient_id);

ALTER TABLE ONLY public.metrics
    ADD CONSTRAINT metrics_pkey PRIMARY KEY (metric);

ALTER TABLE ONLY public.notification_attempts
    ADD CONSTRAINT notification_attempts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.oidc_sign_ins
    ADD CONSTRAINT oidc_sign_ins_pkey PRIMARY KEY (state_sha256);

ALTER TABLE ONLY public.patient_codes
    ADD CONSTRAINT patient_codes_code_hash_key UNIQUE (code_hash);

ALTER TABLE ONLY public.patient_codes
    ADD CONSTRAINT patient_codes_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.patient_goals
    ADD CONSTRAINT patient_goals_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.patient_sessions
    ADD CONSTRAINT patient_sessions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.patient_sessions
    ADD CONSTRAINT patient_sessions_token_hash_key UNIQUE (token_hash);

ALTER TABLE ONLY public.patients
    ADD CONSTRAINT patients_health_centre_id_reference_key UNIQUE (health_centre_id, reference);

ALTER TABLE ONLY public.patients
    ADD CONSTRAINT patients_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.questionnaire_responses
    ADD CONSTRAINT questionnaire_responses_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.readings_hourly
    ADD CONSTRAINT readings_hourly_pkey PRIMARY KEY (patient_id, metric, hour);

ALTER TABLE ONLY public.readings
    ADD CONSTRAINT readings_pkey PRIMARY KEY (patient_id, metric, measured_at, device_id);

ALTER TABLE ONLY public.rule_overrides
    ADD CONSTRAINT rule_overrides_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.sharing_blocks
    ADD CONSTRAINT sharing_blocks_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.sharing_consents
    ADD CONSTRAINT sharing_consents_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.staff
    ADD CONSTRAINT staff_hsa_id_key UNIQUE (hsa_id);

ALTER TABLE ONLY public.staff
    ADD CONSTRAINT staff_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.staff_sessions
    ADD CONSTRAINT staff_sessions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.staff_sessions
    ADD CONSTRAINT staff_sessions_token_sha256_key UNIQUE (token_sha256);

CREATE INDEX access_reviews_at_idx ON public.access_reviews USING btree (reviewed_at);

CREATE INDEX alert_events_alert_idx ON public.alert_events USING btree (alert_id, at);

CREATE INDEX alerts_escalation_due_idx ON public.alerts USING btree (severity_since) WHERE ((state = 'open'::text) AND (severity = 'red'::text) AND (escalated_at IS NULL));

CREATE UNIQUE INDEX alerts_one_unresolved_per_rule_idx ON public.alerts USING btree (patient_id, rule_id) WHERE (state <> 'resolved'::text);

CREATE INDEX alerts_patient_rule_idx ON public.alerts USING btree (patient_id, rule_id, last_fired_at DESC);

CREATE INDEX alerts_unresolved_idx ON public.alerts USING btree (severity, opened_at) WHERE (state <> 'resolved'::text);

CREATE INDEX api_tokens_staff_idx ON public.api_tokens USING btree (staff_id);

CREATE INDEX audit_log_at_idx ON public.audit_log USING btree (at DESC);

CREATE INDEX audit_log_patient_idx ON public.audit_log USING btree (patient_id, at DESC) WHERE (patient_id IS NOT NULL);

CREATE INDEX audit_log_staff_idx ON public.audit_log USING btree (staff_id, at DESC);

CREATE INDEX care_messages_patient_idx ON public.care_messages USING btree (patient_id, sent_at DESC);

CREATE UNIQUE INDEX care_relationships_open_idx ON public.care_relationships USING btree (patient_id, health_centre_id) WHERE (ended_at IS NULL);

CREATE INDEX care_relationships_patient_idx ON public.care_relationships USING btree (patient_id);

CREATE INDEX care_relationships_unit_idx ON public.care_relationships USING btree (health_centre_id, patient_id);

CREATE INDEX contact_log_alert_idx ON public.contact_log USING btree (alert_id) WHERE (alert_id IS NOT NULL);

CREATE INDEX contact_log_patient_idx ON public.contact_log USING btree (patient_id, occurred_at DESC, id DESC);

CREATE INDEX contact_requests_open_idx ON public.contact_requests USING btree (patient_id, created_at DESC);

CREATE UNIQUE INDEX dead_letters_once_idx ON public.dead_letters USING btree (payload_sha256, topic, COALESCE(reading_index, '-1'::integer));

CREATE INDEX dead_letters_reason_idx ON public.dead_letters USING btree (reason_code, received_at DESC);

CREATE INDEX dead_letters_received_at_idx ON public.dead_letters USING btree (received_at DESC);

CREATE UNIQUE INDEX devices_one_patient_app_idx ON public.devices USING btree (patient_id) WHERE ((kind = 'patient_app'::text) AND active);

CREATE INDEX devices_patient_id_idx ON public.devices USING btree (patient_id);

CREATE INDEX emergency_accesses_patient_idx ON public.emergency_accesses USING btree (patient_id, staff_id);

CREATE INDEX emergency_accesses_unreviewed_idx ON public.emergency_accesses USING btree (started_at) WHERE (reviewed_at IS NULL);

CREATE INDEX evaluation_deadlines_due_idx ON public.evaluation_deadlines USING btree (due_at) WHERE (due_at IS NOT NULL);

CREATE INDEX evaluation_deadlines_programme_idx ON public.evaluation_deadlines USING btree (programme);

CREATE INDEX evaluation_queue_claim_idx ON public.evaluation_queue USING btree (priority DESC, requested_at);

CREATE INDEX health_centres_care_provider_idx ON public.health_centres USING btree (care_provider_id);

CREATE UNIQUE INDEX hospital_stays_one_open ON public.hospital_stays USING btree (patient_id) WHERE (discharged_at IS NULL);

CREATE INDEX hospital_stays_patient_idx ON public.hospital_stays USING btree (patient_id, admitted_at DESC);

CREATE INDEX notification_attempts_notification_idx ON public.notification_attempts USING btree (notification_id, attempt);

CREATE INDEX notifications_alert_idx ON public.notifications USING btree (alert_id, created_at);

CREATE INDEX notifications_claim_lane_idx ON public.notifications USING btree (((channel = 'device'::text)), ((attempts > 0)), next_attempt_at) WHERE (state = 'pending'::text);

CREATE INDEX notifications_due_idx ON public.notifications USING btree (next_attempt_at) WHERE (state = 'pending'::text);

CREATE INDEX notifications_in_flight_idx ON public.notifications USING btree (health_centre_id, channel) WHERE ((state = 'pending'::text) AND (lease_until IS NOT NULL));

CREATE INDEX notifications_settled_idx ON public.notifications USING btree (created_at) WHERE (state <> 'pending'::text);

CREATE INDEX oidc_sign_ins_expires_idx ON public.oidc_sign_ins USING btree (expires_at);

CREATE INDEX patient_codes_patient_idx ON public.patient_codes USING btree (patient_id);

CREATE INDEX patient_goals_patient_idx ON public.patient_goals USING btree (patient_id) WHERE (removed_at IS NULL);

CREATE INDEX patient_sessions_patient_idx ON public.patient_sessions USING btree (patient_id);

CREATE INDEX questionnaire_responses_patient_idx ON public.questionnaire_responses USING btree (patient_id, questionnaire, authored_at DESC);

CREATE UNIQUE INDEX rule_overrides_centre_version_idx ON public.rule_overrides USING btree (health_centre_id, version) WHERE (health_centre_id IS NOT NULL);

CREATE UNIQUE INDEX rule_overrides_patient_version_idx ON public.rule_overrides USING btree (patient_id, version) WHERE (patient_id IS NOT NULL);

CREATE UNIQUE INDEX sharing_blocks_open_idx ON public.sharing_blocks USING btree (patient_id, care_provider_id) WHERE (lifted_at IS NULL);

CREATE UNIQUE INDEX sharing_consents_open_idx ON public.sharing_consents USING btree (patient_id, care_provider_id) WHERE (withdrawn_at IS NULL);

CREATE INDEX staff_health_centre_idx ON public.staff USING btree (health_centre_id);

CREATE INDEX staff_sessions_staff_idx ON public.staff_sessions USING btree (staff_id);

CREATE TRIGGER access_reviews_append_only BEFORE DELETE OR UPDATE ON public.access_reviews FOR EACH ROW EXECUTE FUNCTION public.audit_log_refuse_change();

CREATE TRIGGER audit_log_append_only BEFORE DELETE OR UPDATE ON public.audit_log FOR EACH ROW EXECUTE FUNCTION public.audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION public.audit_log_refuse_change();

CREATE TRIGGER contact_log_append_only BEFORE DELETE OR UPDATE ON public.contact_log FOR EACH ROW EXECUTE FUNCTION public.contact_log_refuse_change();

CREATE TRIGGER contact_log_no_truncate BEFORE TRUNCATE ON public.contact_log FOR EACH STATEMENT EXECUTE FUNCTION public.contact_log_refuse_change();

CREATE TRIGGER readings_hourly_rollup AFTER INSERT ON public.readings REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.readings_hourly_add();

ALTER TABLE ONLY public.access_reviews
    ADD CONSTRAINT access_reviews_health_centre_id_fkey FOREIGN KEY (health_centre_id) REFERENCES public.health_centres(id);

ALTER TABLE ONLY public.access_reviews
    ADD CONSTRAINT access_reviews_reviewed_by_fkey FOREIGN KEY (reviewed_by) REFERENCES public.staff(id);

ALTER TABLE ONLY public.access_reviews
    ADD CONSTRAINT access_reviews_subject_staff_id_fkey FOREIGN KEY (subject_staff_id) REFERENCES public.staff(id);

ALTER TABLE ONLY public.alert_events
    ADD CONSTRAINT alert_events_alert_id_fkey FOREIGN KEY (alert_id) REFERENCES public.alerts(id);

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_assigned_to_fkey FOREIGN KEY (assigned_to) REFERENCES public.staff(id);

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES public.staff(id);

ALTER TABLE ONLY public.care_messages
    ADD CONSTRAINT care_messages_author_staff_fkey FOREIGN KEY (author_staff) REFERENCES public.staff(id);

ALTER TABLE ONLY public.care_messages
    ADD CONSTRAINT care_messages_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.care_messages
    ADD CONSTRAINT care_messages_patient_id_thread_id_fkey FOREIGN KEY (patient_id, thread_id) REFERENCES public.care_messages(patient_id, id);

ALTER TABLE ONLY public.care_relationships
    ADD CONSTRAINT care_relationships_health_centre_id_fkey FOREIGN KEY (health_centre_id) REFERENCES public.health_centres(id);

ALTER TABLE ONLY public.care_relationships
    ADD CONSTRAINT care_relationships_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.care_relationships
    ADD CONSTRAINT care_relationships_recorded_by_fkey FOREIGN KEY (recorded_by) REFERENCES public.staff(id);

ALTER TABLE ONLY public.contact_log
    ADD CONSTRAINT contact_log_author_fkey FOREIGN KEY (author) REFERENCES public.staff(id);

ALTER TABLE ONLY public.contact_log
    ADD CONSTRAINT contact_log_patient_id_alert_id_fkey FOREIGN KEY (patient_id, alert_id) REFERENCES public.alerts(patient_id, id);

ALTER TABLE ONLY public.contact_log
    ADD CONSTRAINT contact_log_patient_id_corrects_fkey FOREIGN KEY (patient_id, corrects) REFERENCES public.contact_log(patient_id, id);

ALTER TABLE ONLY public.contact_log
    ADD CONSTRAINT contact_log_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.contact_requests
    ADD CONSTRAINT contact_requests_handled_by_fkey FOREIGN KEY (handled_by) REFERENCES public.staff(id);

ALTER TABLE ONLY public.contact_requests
    ADD CONSTRAINT contact_requests_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.contact_requests
    ADD CONSTRAINT contact_requests_seen_by_fkey FOREIGN KEY (seen_by) REFERENCES public.staff(id);

ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.emergency_accesses
    ADD CONSTRAINT emergency_accesses_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.emergency_accesses
    ADD CONSTRAINT emergency_accesses_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES public.staff(id);

ALTER TABLE ONLY public.endpoint_health
    ADD CONSTRAINT endpoint_health_health_centre_id_fkey FOREIGN KEY (health_centre_id) REFERENCES public.health_centres(id);

ALTER TABLE ONLY public.evaluation_deadlines
    ADD CONSTRAINT evaluation_deadlines_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.evaluation_queue
    ADD CONSTRAINT evaluation_queue_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.health_centres
    ADD CONSTRAINT health_centres_care_provider_id_fkey FOREIGN KEY (care_provider_id) REFERENCES public.care_providers(id);

ALTER TABLE ONLY public.hospital_stays
    ADD CONSTRAINT hospital_stays_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.hospital_stays
    ADD CONSTRAINT hospital_stays_recorded_by_fkey FOREIGN KEY (recorded_by) REFERENCES public.staff(id);

ALTER TABLE ONLY public.imported_history
    ADD CONSTRAINT imported_history_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.notification_attempts
    ADD CONSTRAINT notification_attempts_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES public.notifications(id);

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_alert_id_fkey FOREIGN KEY (alert_id) REFERENCES public.alerts(id);

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_contact_request_id_fkey FOREIGN KEY (contact_request_id) REFERENCES public.contact_requests(id);

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_device_id_fkey FOREIGN KEY (device_id) REFERENCES public.devices(id);

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_health_centre_id_fkey FOREIGN KEY (health_centre_id) REFERENCES public.health_centres(id);

ALTER TABLE ONLY public.notifications
    ADD CONSTRAINT notifications_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.patient_codes
    ADD CONSTRAINT patient_codes_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.staff(id);

ALTER TABLE ONLY public.patient_codes
    ADD CONSTRAINT patient_codes_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.patient_goals
    ADD CONSTRAINT patient_goals_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.patient_sessions
    ADD CONSTRAINT patient_sessions_code_id_fkey FOREIGN KEY (code_id) REFERENCES public.patient_codes(id);

ALTER TABLE ONLY public.patient_sessions
    ADD CONSTRAINT patient_sessions_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.patients
    ADD CONSTRAINT patients_health_centre_id_fkey FOREIGN KEY (health_centre_id) REFERENCES public.health_centres(id);

ALTER TABLE ONLY public.questionnaire_responses
    ADD CONSTRAINT questionnaire_responses_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.rule_overrides
    ADD CONSTRAINT rule_overrides_health_centre_id_fkey FOREIGN KEY (health_centre_id) REFERENCES public.health_centres(id);

ALTER TABLE ONLY public.rule_overrides
    ADD CONSTRAINT rule_overrides_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.sharing_blocks
    ADD CONSTRAINT sharing_blocks_care_provider_id_fkey FOREIGN KEY (care_provider_id) REFERENCES public.care_providers(id);

ALTER TABLE ONLY public.sharing_blocks
    ADD CONSTRAINT sharing_blocks_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.sharing_blocks
    ADD CONSTRAINT sharing_blocks_recorded_by_fkey FOREIGN KEY (recorded_by) REFERENCES public.staff(id);

ALTER TABLE ONLY public.sharing_consents
    ADD CONSTRAINT sharing_consents_care_provider_id_fkey FOREIGN KEY (care_provider_id) REFERENCES public.care_providers(id);

ALTER TABLE ONLY public.sharing_consents
    ADD CONSTRAINT sharing_consents_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES public.patients(id);

ALTER TABLE ONLY public.sharing_consents
    ADD CONSTRAINT sharing_consents_recorded_by_fkey FOREIGN KEY (recorded_by) REFERENCES public.staff(id);

ALTER TABLE ONLY public.staff
    ADD CONSTRAINT staff_health_centre_id_fkey FOREIGN KEY (health_centre_id) REFERENCES public.health_centres(id);

ALTER TABLE ONLY public.staff_sessions
    ADD CONSTRAINT staff_sessions_health_centre_id_fkey FOREIGN KEY (health_centre_id) REFERENCES public.health_centres(id);

ALTER TABLE ONLY public.staff_sessions
    ADD CONSTRAINT staff_sessions_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES public.staff(id);
