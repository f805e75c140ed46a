CREATE TABLE "device_import_rows" (
	"import_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"line" integer NOT NULL,
	"serial_number" text NOT NULL,
	"attributes" jsonb NOT NULL,
	"result" text,
	"code" text,
	"detail" text,
	CONSTRAINT "device_import_rows_import_id_position_pk" PRIMARY KEY("import_id","position")
);
--> statement-breakpoint
CREATE TABLE "device_imports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "device_imports_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"org_id" uuid NOT NULL,
	"status" text NOT NULL,
	"row_count" integer NOT NULL,
	"next_position" integer DEFAULT 0 NOT NULL,
	"processed_count" integer DEFAULT 0 NOT NULL,
	"added_count" integer DEFAULT 0 NOT NULL,
	"rejected_count" integer DEFAULT 0 NOT NULL,
	"failure_reason" text,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "device_import_rows_rejected" ON "device_import_rows" USING btree ("import_id","result","position");--> statement-breakpoint
CREATE UNIQUE INDEX "device_imports_seq" ON "device_imports" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "device_imports_org_seq" ON "device_imports" USING btree ("org_id","seq");