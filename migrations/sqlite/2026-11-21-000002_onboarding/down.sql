DROP TABLE decisions;
DROP TABLE work_authorization_documents;
DROP TABLE work_authorizations;
DROP TABLE files;
DROP TABLE contributor_profiles;
ALTER TABLE users DROP COLUMN status_until;
ALTER TABLE users DROP COLUMN status_reason;
