ALTER TABLE standing_moves DROP CONSTRAINT standing_moves_reason_code_check;
ALTER TABLE decisions DROP CONSTRAINT decisions_outcome_check;
ALTER TABLE decisions DROP CONSTRAINT decisions_subject_type_check;
ALTER TABLE files DROP CONSTRAINT files_purpose_check;
