-- SRE Clinic Duty (clinic-duty.md): the weekly rotation.

-- The base rotation, as imported. Swaps and overrides never edit it.
CREATE TABLE clinic_week (
    week_start TEXT PRIMARY KEY,             -- YYYY-MM-DD, the local date the duty week starts
    clinician  TEXT,                         -- NULL: no clinic duty this week
    backup     TEXT,
    team       TEXT,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
) WITHOUT ROWID;

-- Changes on top of the base rotation; for a week, the newest one wins.
CREATE TABLE clinic_override (
    id         INTEGER PRIMARY KEY,
    week_start TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('set', 'none', 'swap', 'override')),
    clinician  TEXT,
    backup     TEXT,
    team       TEXT,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);

CREATE INDEX clinic_override_week ON clinic_override (week_start, id);

-- Who a display name is on IRC, so the bot can highlight them.
CREATE TABLE clinic_person (
    name       TEXT PRIMARY KEY COLLATE NOCASE,
    nick       TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
) WITHOUT ROWID;
