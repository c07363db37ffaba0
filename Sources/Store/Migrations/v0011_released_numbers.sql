-- Issue 22: numbers given up (released at Telnyx, or gone from the account) are remembered as
-- 'released' instead of deleted, so a teardown that finds an order under an instance's name with no
-- row knows its number was never recorded (an order whose answer was lost) and gives it back; a
-- number already released is not waited for again.
ALTER TABLE services.phone_numbers DROP CONSTRAINT phone_numbers_state_check;
ALTER TABLE services.phone_numbers ADD CONSTRAINT phone_numbers_state_check
    CHECK (state IN ('ordering', 'assigned', 'available', 'released'));
ALTER TABLE services.phone_numbers DROP CONSTRAINT phone_numbers_check1;
ALTER TABLE services.phone_numbers ADD CONSTRAINT phone_numbers_unheld_check
    CHECK ((state IN ('available', 'released')) = (instance_id IS NULL));
CREATE INDEX phone_numbers_number ON services.phone_numbers (phone_number);
