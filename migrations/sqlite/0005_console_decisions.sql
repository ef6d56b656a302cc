-- People's decisions on what rosterd will not decide (the operator console
-- and the API, issue 11), each kept with who took it and when.

-- PodFactory users someone said are not employees (kiosk logins, temps,
-- visitors): left out of matching, so neither linked nor reported, until
-- the mark is removed.
CREATE TABLE IF NOT EXISTS podfactory_non_employees (
    podfactory_user_id  TEXT PRIMARY KEY,
    note                TEXT,
    decided_by          TEXT NOT NULL,
    decided_at          TEXT NOT NULL
);

-- Findings someone acknowledged, by their key (the one notification_log
-- uses): no longer sent to on-call nor listed as waiting, until the
-- acknowledgement is removed.
CREATE TABLE IF NOT EXISTS finding_acks (
    finding_key  TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    note         TEXT,
    acked_by     TEXT NOT NULL,
    acked_at     TEXT NOT NULL
);
