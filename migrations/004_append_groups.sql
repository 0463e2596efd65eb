-- Grouped appends: several appends (to any streams, each with its own expected state) in one
-- statement and one transaction. Under concurrent load the store sends the appends that wait
-- while others are in flight as one group, so they share one round trip and one commit.
-- Each append is handled exactly as appendSql.ts handles one alone: its stream row is claimed
-- with its expected state, then its events are inserted. An append whose expected state does
-- not hold gets one row with NULLs and inserts nothing; the others go on. A stored event id
-- fails the whole statement (unique violation); the caller then appends the group one by one.
-- The caller sorts a group by stream id, so concurrent groups take stream locks in one order.
-- Same file on PostgreSQL and embedded PGlite.

CREATE FUNCTION strangler_append_group(appends jsonb)
RETURNS TABLE (append_no int, event_id uuid, stream_version bigint, global_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
  a jsonb;
  i int := 0;
  n bigint;
  base bigint;
BEGIN
  FOR a IN SELECT value FROM jsonb_array_elements(appends) LOOP
    i := i + 1;
    n := jsonb_array_length(a->'e');
    base := NULL;
    CASE a->>'k'
      WHEN 'any' THEN
        INSERT INTO strangler_streams AS t (stream_id, version) VALUES (a->>'s', n)
        ON CONFLICT (stream_id) DO UPDATE SET version = t.version + n, updated_at = now()
        RETURNING t.version - n INTO base;
      WHEN 'no_stream' THEN
        INSERT INTO strangler_streams (stream_id, version) VALUES (a->>'s', n)
        ON CONFLICT (stream_id) DO NOTHING
        RETURNING 0 INTO base;
      WHEN 'stream_exists' THEN
        UPDATE strangler_streams t SET version = t.version + n, updated_at = now()
        WHERE t.stream_id = a->>'s' RETURNING t.version - n INTO base;
      ELSE
        UPDATE strangler_streams t SET version = t.version + n, updated_at = now()
        WHERE t.stream_id = a->>'s' AND t.version = (a->>'x')::bigint RETURNING t.version - n INTO base;
    END CASE;
    IF base IS NULL THEN
      append_no := i; event_id := NULL; stream_version := NULL; global_position := NULL;
      RETURN NEXT;
    ELSE
      RETURN QUERY
        INSERT INTO strangler_events AS ev (stream_id, stream_version, event_id, event_type, data, metadata)
        SELECT a->>'s', base + u.ord, (u.e->>'id')::uuid, u.e->>'type', u.e->'data', u.e->'metadata'
        FROM jsonb_array_elements(a->'e') WITH ORDINALITY AS u(e, ord)
        ORDER BY u.ord
        RETURNING i, ev.event_id, ev.stream_version, ev.global_position;
    END IF;
  END LOOP;
END;
$$;
