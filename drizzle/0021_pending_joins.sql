CREATE TABLE "pending_joins" (
	"network_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pending_joins_network_id_node_id_pk" PRIMARY KEY("network_id","node_id")
);
--> statement-breakpoint
ALTER TABLE "pending_joins" ADD CONSTRAINT "pending_joins_network_id_networks_id_fk" FOREIGN KEY ("network_id") REFERENCES "public"."networks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pending_joins" ADD CONSTRAINT "pending_joins_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;