-- Pages whose token an instance found stopped working (docs/decisions/0022): their messages wait
-- for new credentials. Written when a page starts or stops waiting, read by the connection
-- doctor of any instance and the doctor command; the row of the instance that found it last,
-- with the earliest time the page has waited since.
CREATE TABLE page_reauth (
    page_id  TEXT PRIMARY KEY,
    problem  TEXT NOT NULL,
    reason   TEXT NOT NULL,
    since    INTEGER NOT NULL,
    instance TEXT NOT NULL
);
