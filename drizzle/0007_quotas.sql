CREATE TABLE "quota_notices" (
	"node_id" uuid NOT NULL,
	"month" text NOT NULL,
	"threshold" integer NOT NULL,
	"used_bytes" bigint NOT NULL,
	"quota_bytes" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "quota_notices_pkey" PRIMARY KEY("node_id","month","threshold")
);
--> statement-breakpoint
ALTER TABLE "networks" ADD COLUMN "default_monthly_quota_bytes" bigint;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "disabled_reason" text;--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "monthly_quota_bytes" bigint;--> statement-breakpoint
ALTER TABLE "quota_notices" ADD CONSTRAINT "quota_notices_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;