DROP TABLE ledger_adjustments;
DROP TABLE ledger_entries;
DROP TABLE ledger_transactions;
DROP TABLE ledger_accounts;
DROP TABLE quality_standings;
DROP TABLE work_appeals;
DROP TABLE work_records;
