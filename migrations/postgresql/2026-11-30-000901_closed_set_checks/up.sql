-- Closed sets stored as text get a CHECK where they had none (issue 17): the column
-- holds only what its enum (`text_enum!`, src/db/text_enum.rs) can read, so a read never
-- meets an unknown value, and one written by hand is refused.
ALTER TABLE files ADD CONSTRAINT files_purpose_check
    CHECK (purpose IN ('work_authorization', 'credential'));
ALTER TABLE decisions ADD CONSTRAINT decisions_subject_type_check
    CHECK (subject_type IN ('work_authorization', 'credential', 'account', 'work_record', 'work_appeal',
        'quality_standing', 'standing_move', 'standing_move_appeal'));
ALTER TABLE decisions ADD CONSTRAINT decisions_outcome_check
    CHECK (outcome IN ('verified', 'rejected', 'more_info_requested', 'lapsed', 'removed', 'closed',
        'suspended', 'earnings_released', 'approved', 'upheld', 'overturned', 'warning', 'retraining',
        'suspension', 'promotion', 'demotion'));
ALTER TABLE standing_moves ADD CONSTRAINT standing_moves_reason_code_check
    CHECK (reason_code IN ('sustained_high_quality', 'low_gold_accuracy', 'low_consensus_agreement',
        'high_rejection_share'));
