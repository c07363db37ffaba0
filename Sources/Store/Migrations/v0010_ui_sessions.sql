-- Issue 14: the dashboard's sign-in. A session is a random 256-bit id in an HttpOnly cookie, with
-- its CSRF token; kept here so every replica knows it. Expired rows are deleted at each sign-in.
CREATE TABLE pool.ui_sessions (
    id          text PRIMARY KEY,
    csrf        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX ui_sessions_expiry_idx ON pool.ui_sessions (expires_at);
