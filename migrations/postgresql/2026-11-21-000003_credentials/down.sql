DROP TABLE credential_rules;
DROP TABLE removal_proposals;
DROP TABLE credentials;
