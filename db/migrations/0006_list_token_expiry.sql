ALTER TABLE "links" ADD COLUMN "token_expires_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "links_org_token_expiry_live" ON "links" USING btree ("org_id",coalesce("token_expires_at", 'infinity'::timestamptz),"id") WHERE "links"."deleted_at" is null;--> statement-breakpoint
-- Backfill (hand-written): the expiry of each link's current token.
UPDATE "links" SET "token_expires_at" = t."expires_at" FROM "service_tokens" t WHERE t."id" = "links"."token_id";