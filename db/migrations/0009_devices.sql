CREATE TABLE "default_device_assignments" (
	"org_id" uuid NOT NULL,
	"product_family" text NOT NULL,
	"link_id" uuid NOT NULL,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "default_device_assignments_org_id_product_family_pk" PRIMARY KEY("org_id","product_family")
);
--> statement-breakpoint
CREATE TABLE "device_activities" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "device_activities_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"org_id" uuid NOT NULL,
	"activity_type" text NOT NULL,
	"link_id" uuid,
	"mdm_migration_deadline" timestamp with time zone,
	"status" text NOT NULL,
	"sub_status" text NOT NULL,
	"device_count" integer NOT NULL,
	"processed_count" integer DEFAULT 0 NOT NULL,
	"failed_count" integer DEFAULT 0 NOT NULL,
	"created_by" uuid,
	"created_by_email" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"deadline_report" jsonb
);
--> statement-breakpoint
CREATE TABLE "device_activity_items" (
	"activity_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"serial_number" text NOT NULL,
	"result" text,
	"detail" text,
	CONSTRAINT "device_activity_items_activity_id_position_pk" PRIMARY KEY("activity_id","position")
);
--> statement-breakpoint
CREATE TABLE "device_profiles" (
	"profile_uuid" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"link_id" uuid NOT NULL,
	"profile" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "device_sync_feed" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "device_sync_feed_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"link_id" uuid NOT NULL,
	"serial_number" text NOT NULL,
	"op_type" text NOT NULL,
	"op_date" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"serial_number" text PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"link_id" uuid,
	"device_model" text NOT NULL,
	"product_family" text NOT NULL,
	"os" text NOT NULL,
	"color" text DEFAULT '' NOT NULL,
	"device_capacity" text DEFAULT '' NOT NULL,
	"order_number" text DEFAULT '' NOT NULL,
	"purchase_source_type" text DEFAULT 'MANUALLY_ADDED' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"asset_tag" text DEFAULT '' NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"assigned_at" timestamp with time zone,
	"assigned_by" text,
	"profile_uuid" uuid,
	"profile_status" text DEFAULT 'empty' NOT NULL,
	"profile_assigned_at" timestamp with time zone,
	"profile_pushed_at" timestamp with time zone,
	"mdm_migration_deadline" timestamp with time zone,
	"migration_activity_id" uuid,
	"last_activity_seq" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "device_activities_seq" ON "device_activities" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "device_activities_org_seq" ON "device_activities" USING btree ("org_id","seq");--> statement-breakpoint
CREATE INDEX "device_activity_items_serial" ON "device_activity_items" USING btree ("serial_number","activity_id");--> statement-breakpoint
CREATE INDEX "device_profiles_link" ON "device_profiles" USING btree ("link_id");--> statement-breakpoint
CREATE INDEX "device_sync_feed_link_seq" ON "device_sync_feed" USING btree ("link_id","seq");--> statement-breakpoint
CREATE INDEX "devices_org_serial" ON "devices" USING btree ("org_id","serial_number");--> statement-breakpoint
CREATE INDEX "devices_org_family_serial" ON "devices" USING btree ("org_id","product_family","serial_number");--> statement-breakpoint
CREATE INDEX "devices_org_unassigned_serial" ON "devices" USING btree ("org_id","serial_number") WHERE "devices"."link_id" is null;--> statement-breakpoint
CREATE INDEX "devices_link_serial" ON "devices" USING btree ("link_id","serial_number") WHERE "devices"."link_id" is not null;--> statement-breakpoint
CREATE INDEX "devices_migration_activity" ON "devices" USING btree ("migration_activity_id") WHERE "devices"."migration_activity_id" is not null;--> statement-breakpoint
-- Hand-written: serial numbers compare as bytes (collation "C"), so serial order and the prefix filter are the same on every Postgres (db/devices.ts).
ALTER TABLE "devices" ALTER COLUMN "serial_number" TYPE text COLLATE "C";