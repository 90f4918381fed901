-- Clinic duty: a clinician's services account next to their nick, so `!clinic who` finds them
-- by account too. NULL when unknown (the nick was set while they were not in a channel).
ALTER TABLE clinic_person ADD COLUMN account TEXT;
