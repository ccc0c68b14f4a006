DROP TABLE project_types;
DROP TABLE qualifications;
DROP TABLE test_answer_reviews;
DROP TABLE test_attempts;
DROP TABLE test_versions;
DROP TABLE qualification_tests;
