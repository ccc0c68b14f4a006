DROP TABLE removal_proposals;
DROP TABLE credentials;
