-- Issue 11: provider limits. A create deferred for a provider's quota says until when (the pool's
-- Progressing condition shows it); the webhook secret every replica shares.
ALTER TABLE services.instances ADD COLUMN quota_wait_until timestamptz;

CREATE TABLE services.settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);
