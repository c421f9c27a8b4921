ALTER TABLE "nodes" ADD COLUMN "applied_config_version" integer;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "last_offline_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "offline_alerted_at" timestamp with time zone;