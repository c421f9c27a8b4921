CREATE TABLE "usage_hourly" (
	"node_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"network_id" uuid NOT NULL,
	"rx_bytes" bigint DEFAULT 0 NOT NULL,
	"tx_bytes" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_hourly_node_id_hour_pk" PRIMARY KEY("node_id","hour")
);
--> statement-breakpoint
ALTER TABLE "usage_hourly" ADD CONSTRAINT "usage_hourly_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_hourly" ADD CONSTRAINT "usage_hourly_network_id_networks_id_fk" FOREIGN KEY ("network_id") REFERENCES "public"."networks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_hourly_network_hour_idx" ON "usage_hourly" USING btree ("network_id","hour");