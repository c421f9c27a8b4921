CREATE SEQUENCE "public"."events_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "seq" bigint;--> statement-breakpoint
CREATE UNIQUE INDEX "events_seq_idx" ON "events" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "events_unsequenced_idx" ON "events" USING btree ("created_at") WHERE "events"."seq" is null;--> statement-breakpoint
-- Events already in the outbox are history: numbered here, oldest first, so a stream starting after this
-- migration does not hand them out as new.
UPDATE "events" SET "seq" = "numbered"."seq"
FROM (SELECT "id", nextval('events_seq') AS "seq" FROM (SELECT "id" FROM "events" ORDER BY "created_at", "id") "oldest") "numbered"
WHERE "events"."id" = "numbered"."id";
