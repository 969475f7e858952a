-- One owner per session (issue 18): the node serving a session holds its
-- lease. `token` grows by one at every change of hands and fences every
-- write of the session's documents: a write carries the token its node
-- acquired, and is refused unless that token still holds an unexpired
-- lease. Times are the database's own clock (now()), never a node's.
CREATE TABLE session_leases (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    owner_url TEXT NOT NULL,
    token BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX session_leases_by_owner ON session_leases (owner);
