-- Issue 11: Telnyx numbers as they behave. The order's and the number's ids are kept here (whether
-- an order's customer_reference is copied onto its number is not documented), and numbers an
-- agent gave back wait here for the next one (TELNYX_RELEASE=pool) instead of being deleted.
CREATE TABLE services.phone_numbers (
    id                   bigserial PRIMARY KEY,
    instance_id          text REFERENCES services.instances (instance_id),
    state                text NOT NULL CHECK (state IN ('ordering', 'assigned', 'available')),
    order_id             text UNIQUE,
    number_id            text UNIQUE,
    phone_number         text NOT NULL,
    messaging_profile_id text,
    released_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    -- The number's own id is looked up when it is needed (teardown), not while a claim waits.
    CHECK (state <> 'available' OR number_id IS NOT NULL),
    CHECK ((state = 'available') = (instance_id IS NULL))
);
-- An instance holds at most one number.
CREATE UNIQUE INDEX phone_numbers_one_per_instance ON services.phone_numbers (instance_id) WHERE instance_id IS NOT NULL;
CREATE INDEX phone_numbers_available ON services.phone_numbers (released_at) WHERE state = 'available';

-- Numbers made before this table: adopted as assigned, by the ids already recorded.
INSERT INTO services.phone_numbers (instance_id, state, number_id, phone_number)
SELECT t.instance_id, 'assigned', t.external_id, e.value
FROM services.tool_resources t
JOIN services.runtime_env e ON e.instance_id = t.instance_id AND e.name = 'TELNYX_PHONE_NUMBER'
WHERE t.tool = 'sms' AND t.state = 'ready' AND t.provisioning = 'pool' AND t.external_id IS NOT NULL;
