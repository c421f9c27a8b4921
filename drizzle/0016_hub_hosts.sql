CREATE TABLE "hub_hosts" (
	"id" text PRIMARY KEY NOT NULL,
	"networks" text[] DEFAULT '{}' NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "network_leases" (
	"network_id" uuid PRIMARY KEY NOT NULL,
	"hub_id" text NOT NULL,
	"epoch" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"acquired_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "networks" ADD COLUMN "standby_hub_id" text;--> statement-breakpoint
ALTER TABLE "network_leases" ADD CONSTRAINT "network_leases_network_id_networks_id_fk" FOREIGN KEY ("network_id") REFERENCES "public"."networks"("id") ON DELETE cascade ON UPDATE no action;