DROP TABLE tax_parameters;
DROP TABLE payout_rails;
DROP TABLE tax_thresholds;
DROP TABLE b_notices;
DROP TABLE tax_profiles;
