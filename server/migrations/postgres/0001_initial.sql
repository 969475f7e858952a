-- Tavolo's schema on PostgreSQL: the same tables as the SQLite backend
-- (server/src/storage/sqlite.rs), with PostgreSQL's types. Times are
-- milliseconds since the Unix epoch (BIGINT); hashes, actor ids and
-- Automerge bytes are BYTEA.

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    template TEXT NOT NULL,
    join_code TEXT NOT NULL UNIQUE,
    facilitator_key_hash BYTEA NOT NULL,
    session_doc TEXT NOT NULL,
    roster_doc TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The facilitator lets newcomers join (default) or has closed joining.
    joining_open BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX sessions_by_created ON sessions (created_at);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    kind TEXT NOT NULL
);
CREATE INDEX documents_by_session ON documents (session_id);

CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    name TEXT NOT NULL,
    organization TEXT NOT NULL,
    sector TEXT NOT NULL,
    tier TEXT NOT NULL,
    attendance TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX participants_by_session ON participants (session_id);

CREATE TABLE tickets (
    hash BYTEA PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    -- NULL for a facilitator's or a viewer's ticket.
    participant_id TEXT,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    -- A read-only screen's ticket (the projector).
    viewer BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX tickets_by_session ON tickets (session_id);
CREATE INDEX tickets_by_participant ON tickets (participant_id);

-- Each document's log of Automerge changes after its snapshot, in the
-- order they were appended (one writer per document: its actor).
CREATE TABLE changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id TEXT NOT NULL,
    hash BYTEA NOT NULL,
    data BYTEA NOT NULL,
    UNIQUE (doc_id, hash)
);

CREATE TABLE snapshots (
    doc_id TEXT PRIMARY KEY,
    data BYTEA NOT NULL,
    saved_at BIGINT NOT NULL
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Stored chunks that failed their checksum (and changes that depended on
-- them), moved out of snapshots/changes: kept for repair, never loaded.
CREATE TABLE quarantine (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    hash BYTEA,
    data BYTEA NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX quarantine_by_doc ON quarantine (doc_id);

-- Who first wrote under each actor id of a session (`server`,
-- `facilitator`, `viewer` or `p:<participant id>`).
CREATE TABLE actors (
    session_id TEXT NOT NULL,
    actor BYTEA NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (session_id, actor)
);

-- A rewritten board's old change hashes, so a copy from before is refused.
CREATE TABLE retired_changes (
    doc_id TEXT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (doc_id, hash)
);

-- Hidden notes' texts, kept by the server only. Note ids, dot targets and
-- texts come from participants' documents and may hold a NUL character,
-- which PostgreSQL's TEXT refuses (SQLite's does not): they are stored as
-- their UTF-8 bytes (BYTEA).
CREATE TABLE hidden_texts (
    doc_id TEXT NOT NULL,
    note_id BYTEA NOT NULL,
    text BYTEA NOT NULL,
    PRIMARY KEY (doc_id, note_id)
);

-- Who placed which dot: the server's alone, never in a fetchable document.
CREATE TABLE dots (
    doc_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    target BYTEA NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (doc_id, participant_id, target)
);
