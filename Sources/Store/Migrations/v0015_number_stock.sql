-- Issue 24: numbers ordered ahead of claims (TELNYX_SPARE_NUMBERS), so an agent's SMS is usable
-- within seconds of its claim instead of a Telnyx order later. A 'stocking' row is an order placed
-- for the reuse pool, held by no instance; its order id is recorded after the order is placed (the
-- row comes first, so a crash between the two leaves a row to find the order by, not a number
-- bought and forgotten).
ALTER TABLE services.phone_numbers DROP CONSTRAINT phone_numbers_state_check;
ALTER TABLE services.phone_numbers ADD CONSTRAINT phone_numbers_state_check
    CHECK (state IN ('ordering', 'assigned', 'available', 'released', 'stocking'));
ALTER TABLE services.phone_numbers DROP CONSTRAINT phone_numbers_unheld_check;
ALTER TABLE services.phone_numbers ADD CONSTRAINT phone_numbers_unheld_check
    CHECK ((state IN ('available', 'released', 'stocking')) = (instance_id IS NULL));
