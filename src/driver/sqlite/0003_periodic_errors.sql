-- flywheel schema v3: a periodic that cannot fire records why (and when), so one bad schedule is visible in
-- listings and never stops the others. A successful fire clears it.
ALTER TABLE job_periodics ADD COLUMN last_error TEXT;
ALTER TABLE job_periodics ADD COLUMN last_error_at INTEGER;
