-- For observed/expected ratios: where each organisation sits on the
-- funnel plot of its release (limits widened for overdispersion).
ALTER TABLE observations ADD COLUMN funnel TEXT NOT NULL DEFAULT '';
