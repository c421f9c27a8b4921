-- Wakes the outbox relay when events commit: one NOTIFY per inserting statement, sent by Postgres at
-- commit (never for a rolled-back change), without a round trip of its own.
CREATE FUNCTION wiresync_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wiresync_outbox', '');
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER events_notify AFTER INSERT ON "events"
  FOR EACH STATEMENT EXECUTE FUNCTION wiresync_events_notify();
