-- Staff sign-in with OpenID Connect (issue 16; docs/operations.md "Staff sign-in"), and the
-- access-log review (HSLF-FS 2016:40 ch. 4 §9; docs/operations.md "Access-log review and
-- retention").

-- A member of staff's HSA id (Inera's catalogue): the identity provider's employee id claim
-- finds her row. One row per person.
ALTER TABLE staff
    ADD COLUMN hsa_id text UNIQUE CHECK (hsa_id IS NULL OR hsa_id ~ '^[A-Za-z0-9-]{1,64}$');

-- A sign-in under way: the browser went to the provider with this state, nonce and PKCE
-- verifier; the callback takes the row once (deleted as it is used) before it expires.
CREATE TABLE oidc_sign_ins (
    state_sha256   bytea PRIMARY KEY,
    nonce          text NOT NULL,
    code_verifier  text NOT NULL,
    next_page      text,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at     timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX oidc_sign_ins_expires_idx ON oidc_sign_ins (expires_at);

-- A console session opened by the identity provider: the cookie holds the token, only its
-- hash is kept. The care unit is the one of the assignment (medarbetaruppdrag) the person
-- signed in under, with its purpose; it expires, and it is revoked at sign-out, with the
-- member's tokens, or when she is deactivated.
CREATE TABLE staff_sessions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    staff_id          uuid NOT NULL REFERENCES staff (id),
    token_sha256      bytea NOT NULL UNIQUE,
    health_centre_id  uuid REFERENCES health_centres (id),
    assignment_hsa_id text,
    purpose           text NOT NULL,
    issuer            text NOT NULL,
    subject           text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at        timestamptz NOT NULL,
    revoked_at        timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX staff_sessions_staff_idx ON staff_sessions (staff_id);

-- A review of the access log: who reviewed which selection (kind and its parameters), what
-- they found, and the audit rows they looked at. Kept as the audit log is: never changed.
CREATE TABLE access_reviews (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    reviewed_by       uuid REFERENCES staff (id),
    reviewer_name     text NOT NULL CHECK (length(btrim(reviewer_name)) BETWEEN 1 AND 200),
    kind              text NOT NULL CHECK (kind IN
                          ('random', 'no_care_relationship', 'emergency', 'user')),
    health_centre_id  uuid REFERENCES health_centres (id),
    period_start      timestamptz NOT NULL,
    period_end        timestamptz NOT NULL,
    subject_staff_id  uuid REFERENCES staff (id),
    audit_ids         bigint[] NOT NULL,
    finding           text NOT NULL CHECK (finding IN ('no_remark', 'remark', 'misuse_suspected')),
    note              text CHECK (note IS NULL OR length(btrim(note)) BETWEEN 1 AND 2000),
    reviewed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (period_end > period_start),
    CHECK (finding = 'no_remark' OR note IS NOT NULL)
);
CREATE INDEX access_reviews_at_idx ON access_reviews (reviewed_at);
CREATE TRIGGER access_reviews_append_only
    BEFORE UPDATE OR DELETE ON access_reviews
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
