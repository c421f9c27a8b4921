ALTER TABLE "networks" ADD COLUMN "hub_next_public_key" text;--> statement-breakpoint
ALTER TABLE "networks" ADD COLUMN "hub_next_private_key_enc" text;--> statement-breakpoint
ALTER TABLE "networks" ADD COLUMN "hub_key_rotation_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "networks" ADD COLUMN "hub_key_rotation_deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "networks" ADD COLUMN "hub_key_rotation_versions" jsonb;