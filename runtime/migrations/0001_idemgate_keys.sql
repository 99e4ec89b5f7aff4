-- idemgate: idempotency records for PostgresStore (applied by PostgresStore::migrate, or by
-- your own migration tool). One row per (tenant, operation, key).
CREATE SEQUENCE IF NOT EXISTS idemgate_fence;

CREATE TABLE IF NOT EXISTS idemgate_keys (
    tenant        text        NOT NULL,
    operation     text        NOT NULL,
    key           text        NOT NULL,
    fingerprint   bytea       NOT NULL,
    -- 'running': claimed, lease until locked_until; 'done': result stored until expires_at
    state         text        NOT NULL CHECK (state IN ('running', 'done')),
    -- grows with every claim or takeover (idemgate_fence): a stale executor cannot complete
    fencing_token bigint      NOT NULL,
    locked_until  timestamptz,
    -- the stored result: for HTTP, the response (status, headers and body) as the
    -- integration encodes it; for idempotency::postgres::transactional, the value as JSON
    response      bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    -- retention end when done, lease end while running: the sweeper deletes past it
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, operation, key)
);

CREATE INDEX IF NOT EXISTS idemgate_keys_expires_at ON idemgate_keys (expires_at);
