-- Notifications: channels, subscribers, and the durable outbox the planner fills from the
-- event log. Same rules as 0001: TEXT and BIGINT only, times as fixed-width RFC 3339 UTC
-- text, booleans 0/1, JSON as text.

-- Destinations the operator configures: a team's chat, a pager, a mailing list, a webhook.
CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- The target's type (email, webhook, slack, ...), also inside `target`.
    kind TEXT NOT NULL,
    -- JSON notify::channel::Target, secrets included; the API shows it redacted.
    target TEXT NOT NULL,
    -- JSON array of event-kind patterns ("incident.*", "monitor.state_changed").
    events TEXT NOT NULL,
    -- JSON array of component and vendor ids the channel follows; empty means all.
    subjects TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    -- Sends per minute, and sends at once.
    rate_per_minute BIGINT NOT NULL,
    concurrency BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- People and systems following the page. `address` is an email address or a webhook URL; it
-- never appears on public pages, in events or in logs.
CREATE TABLE subscribers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    -- kind + ':' + the address folded to lower case: one subscription per address.
    address_key TEXT NOT NULL UNIQUE,
    -- Webhook subscribers: the HMAC secret their deliveries are signed with.
    secret TEXT,
    -- 1 when the subscriber follows everything; else only the subjects listed below.
    all_subjects BIGINT NOT NULL,
    -- Wants maintenance notices as well as incidents.
    maintenance BIGINT NOT NULL,
    -- Wants every component status change as well.
    component_changes BIGINT NOT NULL,
    -- NULL until the subscriber confirms (double opt-in for email).
    confirmed_at TEXT,
    -- api or page: who created the subscription.
    origin TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The components and vendors a subscriber follows when all_subjects = 0.
CREATE TABLE subscriber_subjects (
    subscriber_id TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    subject_id TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, subject_id)
);
CREATE INDEX subscriber_subjects_subject ON subscriber_subjects (subject_id);

-- How far the planner has read the event log. Planning an event and advancing past it are one
-- transaction, so a crash replays planning and never skips it. A database upgraded to this
-- version starts at the end of its log: history is not announced again.
CREATE TABLE notification_cursor (
    id BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
INSERT INTO notification_cursor (id, last_seq) SELECT 1, last_seq FROM event_counter WHERE id = 1;

-- The outbox: one row per (event, recipient) that wants it. `key` is stable across retries
-- and crashes and is sent as the idempotency key (`Idempotency-Key`, email Message-ID).
CREATE TABLE deliveries (
    key TEXT PRIMARY KEY,
    event_seq BIGINT NOT NULL,
    event_kind TEXT NOT NULL,
    -- channel or subscriber.
    recipient_kind TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    -- notify (an event), confirm (double opt-in), escalate (a step of an escalation).
    purpose TEXT NOT NULL,
    -- The escalation a delivery is a step of (its message carries the acknowledgement link).
    escalation_id TEXT,
    -- Which queue sends it: channel (the team's channels), email or webhook (subscribers).
    -- Each lane is claimed on its own, so a long fan-out to subscribers never queues the
    -- team's pages behind it.
    lane TEXT NOT NULL,
    -- pending, sent, dead (retries exhausted or a permanent failure), cancelled (recipient
    -- gone or unsubscribed).
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    due_at TEXT NOT NULL,
    -- A worker that claims a delivery holds it until then; after a crash it becomes due again.
    lease_until TEXT,
    last_error TEXT,
    -- The receiver's last answer: HTTP or SMTP status and the start of its body.
    last_status BIGINT,
    last_response TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX deliveries_pending ON deliveries (lane, due_at) WHERE state = 'pending';
CREATE INDEX deliveries_dead ON deliveries (updated_at) WHERE state = 'dead';
CREATE INDEX deliveries_recipient ON deliveries (recipient_id, state);
CREATE INDEX deliveries_escalation ON deliveries (escalation_id) WHERE escalation_id IS NOT NULL;

-- On-call escalation: a policy's steps notify channels one after another until someone
-- acknowledges, the subject recovers, or the steps have run `repeat` more times.
CREATE TABLE escalation_policies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- JSON array of steps: {"channel_ids": [...], "wait_seconds": N}.
    steps TEXT NOT NULL,
    -- How many more times the steps run after the first pass.
    repeat BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- What a policy covers: components (their incidents), monitors (going down) and vendors (their
-- incidents). One policy per subject.
CREATE TABLE escalation_targets (
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    policy_id TEXT NOT NULL REFERENCES escalation_policies (id) ON DELETE CASCADE,
    PRIMARY KEY (subject_kind, subject_id)
);
CREATE INDEX escalation_targets_policy ON escalation_targets (policy_id);

-- Running and past escalations. `subject_key` is what is escalated (incident:<id>,
-- monitor:<id>, vendor_incident:<id>); `event_seq` the event that started it, which every
-- step's message renders.
CREATE TABLE escalations (
    id TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL REFERENCES escalation_policies (id) ON DELETE CASCADE,
    subject_key TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    -- active, acknowledged, resolved, exhausted.
    state TEXT NOT NULL,
    step BIGINT NOT NULL,
    round BIGINT NOT NULL,
    -- When the current step's wait ends (active only).
    next_at TEXT,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    ended_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX escalations_one_active ON escalations (policy_id, subject_key) WHERE state = 'active';
CREATE INDEX escalations_due ON escalations (next_at) WHERE state = 'active';
CREATE INDEX escalations_subject ON escalations (subject_key);

-- Server-wide secrets, created on first use: the key that signs unsubscribe, confirmation and
-- acknowledgement links.
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);
