-- The web view pages the log by date (`?until=YYYY-MM-DD`): find the last entry before a time
-- without scanning the table.
CREATE INDEX sal_entry_time ON sal_entry (logged_at);
