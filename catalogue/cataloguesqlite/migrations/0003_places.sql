-- Places: an organisation's location (a hospital site's own, a trust's
-- headquarters), and postcode district (outcode) centres for approximate
-- distances.
ALTER TABLE organisations ADD COLUMN latitude REAL;
ALTER TABLE organisations ADD COLUMN longitude REAL;
ALTER TABLE organisations ADD COLUMN location_source TEXT NOT NULL DEFAULT '';

CREATE TABLE outcodes (
    outcode   TEXT PRIMARY KEY,
    latitude  REAL NOT NULL,
    longitude REAL NOT NULL
) WITHOUT ROWID;
