-- flywheel schema: where a topic binding came from (`api`, `cli`, or `config:<instance>`), so a daemon's
-- config reconcile removes only the bindings its own config made, as it does for schedules (SPEC §21).
ALTER TABLE job_bindings ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
