ALTER TABLE "nodes" ADD COLUMN "previous_public_key" text;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "key_rotated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "key_rotation_requested_at" timestamp with time zone;