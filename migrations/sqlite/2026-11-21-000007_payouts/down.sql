DROP TABLE payout_exports;
DROP TABLE payout_items;
DROP TABLE payout_batches;
DROP TABLE payout_methods;
