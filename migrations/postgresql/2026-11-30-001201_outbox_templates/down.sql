-- Reverses 2026-11-30-001201. Rows queued as template parameters have no rendering to
-- go back to: SET NOT NULL then fails, and the migration with it.
ALTER TABLE outbox
    DROP CONSTRAINT outbox_content_check,
    DROP CONSTRAINT outbox_template_check,
    ALTER COLUMN subject SET NOT NULL,
    ALTER COLUMN body_text SET NOT NULL,
    ALTER COLUMN body_html SET NOT NULL,
    DROP COLUMN params;
