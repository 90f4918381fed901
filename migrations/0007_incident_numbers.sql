-- Incidents are numbered per scope, so that a security incident is never counted outside its
-- channel: with one global id, the public side saw a gap (public #2 after a private #1).
--
-- `scope` is 'public' for every public channel (they share one sequence) and the security
-- channel's name, lowercased, for an incident opened there (one sequence per security channel).
-- `number` is what people see and type; `id` stays the internal key the other tables refer to.
ALTER TABLE incident ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE incident ADD COLUMN number INTEGER NOT NULL DEFAULT 0;

UPDATE incident SET scope = CASE WHEN private = 1 THEN lower(channel) ELSE 'public' END;

-- Existing incidents keep their order: numbered 1, 2, … in id order within each scope.
UPDATE incident
SET number = (SELECT count(*) FROM incident AS earlier WHERE earlier.scope = incident.scope AND earlier.id <= incident.id);

CREATE UNIQUE INDEX incident_scope_number ON incident (scope, number);
