-- Access granted on IRC (`!access add`), on top of the config file's [access] lists: one row
-- per account (folded to lower case), with who granted it, when and why.
CREATE TABLE access_grant (
    account     TEXT PRIMARY KEY,
    level       TEXT NOT NULL CHECK (level IN ('member', 'admin')),
    granted_by  TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);

-- Every change to the grants, kept for the record (the grant rows themselves come and go).
CREATE TABLE access_audit (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('add', 'remove')),
    account     TEXT NOT NULL,
    level       TEXT,
    reason      TEXT NOT NULL DEFAULT ''
);
