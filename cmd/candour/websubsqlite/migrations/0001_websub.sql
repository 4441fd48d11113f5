-- WebSub subscriptions: subscribers' callbacks and secrets (private).
CREATE TABLE websub_subscriptions (
    topic     TEXT NOT NULL,
    callback  TEXT NOT NULL,
    secret    TEXT NOT NULL DEFAULT '',
    expires   TEXT NOT NULL,
    delivered TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (topic, callback)
);
