-- The data release register: data shared under agreements.
CREATE TABLE register_entries (
    id             INTEGER PRIMARY KEY,
    recipient      TEXT NOT NULL,
    data           TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    legal_basis    TEXT NOT NULL,
    shared_on      TEXT NOT NULL,
    classification TEXT NOT NULL CHECK (classification IN ('anonymised', 'pseudonymised', 'identifiable')),
    agreement      TEXT NOT NULL DEFAULT '',
    recorded_by    TEXT NOT NULL,
    recorded_at    TEXT NOT NULL
);
