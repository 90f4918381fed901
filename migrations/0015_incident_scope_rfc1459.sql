-- A security channel's incidents are numbered in a scope named after the channel. 0007 folded
-- the name with ASCII's case rule (lower()); channel names now compare by RFC 1459's, which also
-- folds [ ] \ ~ to { } | ^, so that every spelling a server may call the same channel finds the
-- same incidents. Public incidents keep the scope 'public'. (Two stored scopes that fold alike
-- cannot both exist: config has refused two channels that RFC 1459 calls one since before 0007.)
UPDATE incident
SET scope = replace(replace(replace(replace(scope, '[', '{'), ']', '}'), '\', '|'), '~', '^')
WHERE scope != 'public';
