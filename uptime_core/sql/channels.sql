-- Notification channels as the API manages them (uptime_core/alerting/channels.py). The reads
-- return ChannelRow's columns, with the attached targets as a sorted array.

-- count_targets --
-- How many of the targets $1 exist (a channel may only be attached to existing ones).
SELECT count(*) FROM target WHERE id = ANY($1::bigint[])

-- insert_channel --
-- A NULL key $7 is derived from the name by the trigger derive_key (migration 0005).
INSERT INTO notification_channel (name, kind, config, all_targets, enabled,
                                  reminder_interval_seconds, key)
VALUES ($1, $2, $3::text::jsonb, $4, $5, $6, $7)
RETURNING id

-- update_channel --
-- Replace channel $1's settings (its targets are replaced apart: detach_all, attach_targets).
UPDATE notification_channel
SET name = $2, kind = $3, config = $4::text::jsonb, all_targets = $5, enabled = $6,
    reminder_interval_seconds = $7, key = $8, updated_at = now()
WHERE id = $1

-- detach_all_targets --
DELETE FROM channel_target WHERE channel_id = $1

-- attach_targets --
-- Attach channel $1 to the targets $2 (those already attached stay).
INSERT INTO channel_target (channel_id, target_id)
SELECT $1, unnest($2::bigint[])
ON CONFLICT DO NOTHING

-- delete_channel --
-- Delete channel $1; its deliveries and attachments go with it.
DELETE FROM notification_channel WHERE id = $1

-- channel_by_id --
SELECT c.id, c.name, c.key, c.kind, c.config, c.all_targets, c.enabled, c.reminder_interval_seconds,
       c.created_at, c.updated_at,
       coalesce((SELECT array_agg(ct.target_id ORDER BY ct.target_id) FROM channel_target AS ct
                 WHERE ct.channel_id = c.id), '{}') AS target_ids
FROM notification_channel AS c
WHERE c.id = $1

-- channel_by_id_for_update --
-- As channel_by_id, holding the row until the transaction ends (an update reads, then writes).
SELECT c.id, c.name, c.key, c.kind, c.config, c.all_targets, c.enabled, c.reminder_interval_seconds,
       c.created_at, c.updated_at,
       coalesce((SELECT array_agg(ct.target_id ORDER BY ct.target_id) FROM channel_target AS ct
                 WHERE ct.channel_id = c.id), '{}') AS target_ids
FROM notification_channel AS c
WHERE c.id = $1
FOR UPDATE

-- list_channels --
-- A page of channels in id order: $1 rows with an id above $2 (NULL: from the start).
SELECT c.id, c.name, c.key, c.kind, c.config, c.all_targets, c.enabled, c.reminder_interval_seconds,
       c.created_at, c.updated_at,
       coalesce((SELECT array_agg(ct.target_id ORDER BY ct.target_id) FROM channel_target AS ct
                 WHERE ct.channel_id = c.id), '{}') AS target_ids
FROM notification_channel AS c
WHERE $2::bigint IS NULL OR c.id > $2
ORDER BY c.id
LIMIT $1
