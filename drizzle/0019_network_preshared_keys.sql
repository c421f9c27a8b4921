ALTER TABLE "networks" ADD COLUMN "preshared_keys" text DEFAULT 'off' NOT NULL;--> statement-breakpoint
ALTER TABLE "networks" ADD COLUMN "preshared_key_secret_enc" text;