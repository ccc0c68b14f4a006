use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{ledger_accounts, ledger_adjustments, ledger_entries, ledger_transactions};

/// What an account holds. Contributor accounts: `pending`, `held`, `available`,
/// `in_payout`; platform accounts: the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Pending,
    Held,
    Available,
    InPayout,
    Expense,
    PayoutsClearing,
    Cash,
    BackupWithholdingPayable,
}

impl AccountKind {
    pub const CONTRIBUTOR: [AccountKind; 4] = [Self::Pending, Self::Held, Self::Available, Self::InPayout];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Held => "held",
            Self::Available => "available",
            Self::InPayout => "in_payout",
            Self::Expense => "expense",
            Self::PayoutsClearing => "payouts_clearing",
            Self::Cash => "cash",
            Self::BackupWithholdingPayable => "backup_withholding_payable",
        }
    }
}

/// Which account a leg of a transaction moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRef {
    Contributor(i64, AccountKind),
    Platform(AccountKind),
}

impl AccountRef {
    pub fn code(self) -> String {
        match self {
            Self::Contributor(user, kind) => format!("user:{user}:{}", kind.as_str()),
            Self::Platform(kind) => format!("platform:{}", kind.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    WorkApproved,
    HoldReleased,
    Bonus,
    TestStipend,
    Adjustment,
    Clawback,
    /// available → in_payout, reference `payout_item:{id}`.
    PayoutReserved,
    /// in_payout → payouts_clearing when the rail confirms payment.
    PayoutSettled,
    /// The reservation reversed: failed, returned or cancelled.
    PayoutFailed,
    /// available → backup_withholding_payable.
    BackupWithholding,
}

impl TxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkApproved => "work_approved",
            Self::HoldReleased => "hold_released",
            Self::Bonus => "bonus",
            Self::TestStipend => "test_stipend",
            Self::Adjustment => "adjustment",
            Self::Clawback => "clawback",
            Self::PayoutReserved => "payout_reserved",
            Self::PayoutSettled => "payout_settled",
            Self::PayoutFailed => "payout_failed",
            Self::BackupWithholding => "backup_withholding",
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = ledger_accounts)]
pub struct NewAccountRow<'a> {
    pub code: &'a str,
    pub owner_id: Option<i64>,
    pub kind: &'a str,
    pub currency: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ledger_accounts)]
pub struct AccountRow {
    pub id: i64,
    pub code: String,
    pub owner_id: Option<i64>,
    pub kind: String,
    pub currency: String,
}

#[derive(Insertable)]
// NULL rather than DEFAULT for a `None`, so that a Vec of rows is one multi-row INSERT on
// SQLite too (SQLite has no DEFAULT in VALUES: diesel would insert row by row).
#[diesel(table_name = ledger_transactions, treat_none_as_default_value = false)]
pub struct NewTransactionRow<'a> {
    pub kind: &'a str,
    pub reference: &'a str,
    pub memo: &'a str,
    pub contributor_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = ledger_transactions)]
pub struct TransactionRow {
    pub id: i64,
    pub kind: String,
    pub reference: String,
    pub memo: String,
    pub contributor_id: Option<i64>,
    pub created_by: Option<i64>,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = ledger_entries)]
pub struct NewEntryRow {
    pub transaction_id: i64,
    pub account_id: i64,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ledger_entries)]
pub struct EntryRow {
    pub id: i64,
    pub transaction_id: i64,
    pub account_id: i64,
    pub amount_cents: i64,
}

/// A manual posting: a signed adjustment, a bonus, or a clawback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// Signed: positive credits `available`, negative debits it.
    Adjustment,
    /// Positive: credits `available`.
    Bonus,
    /// Positive: the amount taken back from `available`.
    Clawback,
}

impl AdjustmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adjustment => "adjustment",
            Self::Bonus => "bonus",
            Self::Clawback => "clawback",
        }
    }
    pub fn tx_kind(self) -> TxKind {
        match self {
            Self::Adjustment => TxKind::Adjustment,
            Self::Bonus => TxKind::Bonus,
            Self::Clawback => TxKind::Clawback,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = ledger_adjustments)]
pub struct NewAdjustmentRow<'a> {
    pub contributor_id: i64,
    pub kind: &'a str,
    pub amount_cents: i64,
    pub reason: &'a str,
    pub status: &'a str,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = ledger_adjustments)]
pub struct AdjustmentRow {
    pub id: i64,
    pub contributor_id: i64,
    /// `adjustment`, `bonus` or `clawback`.
    pub kind: String,
    pub amount_cents: i64,
    pub reason: String,
    /// `pending_approval` or `posted`.
    pub status: String,
    pub created_by: i64,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
    pub approved_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub approved_at: Option<NaiveDateTime>,
    pub transaction_id: Option<i64>,
}
