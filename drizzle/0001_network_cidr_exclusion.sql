-- Two networks may never share an address: refuse overlapping ranges in the database itself, so that
-- racing creates cannot both succeed. drizzle cannot declare exclusion constraints, hence this file.
ALTER TABLE "networks" ADD CONSTRAINT "networks_cidr4_excl" EXCLUDE USING gist ("cidr4" inet_ops WITH &&);
--> statement-breakpoint
ALTER TABLE "networks" ADD CONSTRAINT "networks_cidr6_excl" EXCLUDE USING gist ("cidr6" inet_ops WITH &&);
--> statement-breakpoint
ALTER TABLE "networks" ADD CONSTRAINT "networks_cidr4_family" CHECK (family("cidr4") = 4);
--> statement-breakpoint
ALTER TABLE "networks" ADD CONSTRAINT "networks_cidr6_family" CHECK ("cidr6" IS NULL OR family("cidr6") = 6);
