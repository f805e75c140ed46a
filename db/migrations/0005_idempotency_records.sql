CREATE TABLE "idempotency_records" (
	"org_id" uuid NOT NULL,
	"caller_user_id" uuid NOT NULL,
	"key" text NOT NULL,
	"endpoint" text NOT NULL,
	"resource_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"result_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_records_pk" PRIMARY KEY("org_id","caller_user_id","key")
);
--> statement-breakpoint
DROP TABLE "idempotency_keys" CASCADE;--> statement-breakpoint
CREATE INDEX "idempotency_records_expires" ON "idempotency_records" USING btree ("expires_at");