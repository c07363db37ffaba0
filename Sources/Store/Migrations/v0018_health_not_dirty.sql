-- Issue 26: the tick itself writes each instance's health (pool.instance_health, from its status
-- batch) and keeps what it wrote in its cache; the row entering the dirty log only made the next
-- tick ask the batch about, and ping, every instance whose health it had just recorded: after a new
-- term, one more whole-fleet round of pings (33 s at 40,000). Nothing else writes the table, and a
-- new leader reads it whole.
DROP TRIGGER instance_health_dirty ON pool.instance_health;
