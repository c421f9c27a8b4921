CREATE TABLE "node_reachability" (
	"network_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"peer_id" uuid NOT NULL,
	"last_handshake_at" timestamp with time zone NOT NULL,
	"reported_at" timestamp with time zone NOT NULL,
	CONSTRAINT "node_reachability_node_id_peer_id_pk" PRIMARY KEY("node_id","peer_id")
);
--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "endpoint_candidates" jsonb;--> statement-breakpoint
ALTER TABLE "node_reachability" ADD CONSTRAINT "node_reachability_network_id_networks_id_fk" FOREIGN KEY ("network_id") REFERENCES "public"."networks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_reachability" ADD CONSTRAINT "node_reachability_node_id_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "node_reachability" ADD CONSTRAINT "node_reachability_peer_id_nodes_id_fk" FOREIGN KEY ("peer_id") REFERENCES "public"."nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "node_reachability_network_idx" ON "node_reachability" USING btree ("network_id");--> statement-breakpoint
CREATE INDEX "node_reachability_peer_idx" ON "node_reachability" USING btree ("peer_id");