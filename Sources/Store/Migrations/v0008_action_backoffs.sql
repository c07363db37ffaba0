-- Issue 12: the leader's failing actions, so every replica's /status and every object's condition
-- say what fails, how often, and when it is tried next. Written by the leader's status writer in
-- the tick's fenced transaction; the work queue in the leader's memory stays the source.
CREATE TABLE pool.action_backoffs (
    key             text PRIMARY KEY,
    action          text NOT NULL,
    failures        int NOT NULL,
    last_error      text,
    next_attempt_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
