-- Bankr has no public API to mint a key per agent (providers.md section 7): keys come from an
-- operator-supplied pool. A key is handed to one instance and, at teardown, retired for good.
CREATE TABLE services.bankr_keys (
    id          bigserial PRIMARY KEY,
    api_key     text NOT NULL UNIQUE,
    state       text NOT NULL DEFAULT 'available' CHECK (state IN ('available', 'assigned', 'retired')),
    instance_id text UNIQUE,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'assigned') = (instance_id IS NOT NULL) OR state = 'retired')
);
CREATE INDEX bankr_keys_available_idx ON services.bankr_keys (id) WHERE state = 'available';
