-- Named API tokens (uptime_core/tokens.py): only each token's SHA-256 is stored. The reads
-- return TokenRow's columns, never the hash.

-- insert_token --
-- A token named $1 with scope $2 and SHA-256 $3; names are unique among live tokens
-- (uq_api_token_name_live).
INSERT INTO api_token (name, scope, token_hash)
VALUES ($1, $2, $3)
RETURNING id, name, scope, created_at, revoked_at

-- list_tokens --
-- Every token, live and revoked, in the order they were made.
SELECT id, name, scope, created_at, revoked_at
FROM api_token
ORDER BY id

-- revoke_token --
-- Revoke token $1 (one already revoked keeps its time) and tell every API process at once
-- (channel uptime_tokens, payload the id), so that they close its open WebSockets.
WITH revoked AS (
    UPDATE api_token SET revoked_at = coalesce(revoked_at, now())
    WHERE id = $1
    RETURNING id, name, scope, created_at, revoked_at
)
SELECT id, name, scope, created_at, revoked_at, pg_notify('uptime_tokens', id::text) AS notified
FROM revoked

-- live_token_by_hash --
-- The live token whose SHA-256 is $1 (uq_api_token_token_hash: one index lookup).
SELECT id, name, scope
FROM api_token
WHERE token_hash = $1 AND revoked_at IS NULL

-- revoked_among --
-- Which of the tokens $1 are revoked (or gone): an API process checks its open WebSockets'
-- tokens after its listening connection was lost, since revocations sent meanwhile are missed.
SELECT id
FROM unnest($1::bigint[]) AS given(id)
WHERE NOT EXISTS (SELECT FROM api_token AS t WHERE t.id = given.id AND t.revoked_at IS NULL)
