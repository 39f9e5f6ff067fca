-- flywheel schema v2: every job transition wrote jobs_state (state, kind), which served only counts and listings
-- (about a fifth of single-insert and drain throughput on SQLite). Listings by state keep an index where one is
-- selective: jobs that failed or were cancelled, newest first. Claimable and running jobs already have jobs_ready
-- and jobs_sweep; counts by state read the table.
DROP INDEX jobs_state;
CREATE INDEX jobs_failed ON jobs (state, id) WHERE state IN ('discarded', 'cancelled');
