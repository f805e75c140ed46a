CREATE TABLE "account_event_tokens" (
	"event_id" uuid NOT NULL,
	"link_id" uuid NOT NULL,
	"token_id" uuid NOT NULL,
	"org_id" uuid NOT NULL,
	"signalled_at" timestamp with time zone,
	CONSTRAINT "account_event_tokens_event_id_link_id_pk" PRIMARY KEY("event_id","link_id")
);
--> statement-breakpoint
CREATE TABLE "account_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"actor_user_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"workflow_started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"links_signalled" integer
);
--> statement-breakpoint
ALTER TABLE "account_event_tokens" ADD CONSTRAINT "account_event_tokens_event_id_account_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."account_events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_events" ADD CONSTRAINT "account_events_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_events" ADD CONSTRAINT "account_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "account_events_org_pending" ON "account_events" USING btree ("org_id","workflow_started_at");--> statement-breakpoint
CREATE INDEX "account_events_user" ON "account_events" USING btree ("user_id");