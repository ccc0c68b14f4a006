DROP TABLE standing_moves;
DROP TABLE domain_standings;
DROP INDEX work_records_completed;
ALTER TABLE work_records DROP COLUMN gold_score_percent;
ALTER TABLE work_records DROP COLUMN consensus_agreement_percent;
ALTER TABLE project_types DROP COLUMN reports_gold;
ALTER TABLE project_types DROP COLUMN reports_consensus;
ALTER TABLE project_types DROP COLUMN required_standing;
ALTER TABLE project_types DROP COLUMN standing_domain;
