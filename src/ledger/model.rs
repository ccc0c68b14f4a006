use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{ledger_accounts, ledger_adjustments, ledger_entries, ledger_transactions};

crate::text_enum! {
    /// What an account holds. Contributor accounts: `pending`, `held`, `available`,
    /// `in_payout`; platform accounts: the rest.
    pub enum AccountKind {
        Pending = "pending",
        Held = "held",
        Available = "available",
        InPayout = "in_payout",
        Expense = "expense",
        PayoutsClearing = "payouts_clearing",
        Cash = "cash",
        BackupWithholdingPayable = "backup_withholding_payable",
    }
}

impl AccountKind {
    pub const CONTRIBUTOR: [AccountKind; 4] = [Self::Pending, Self::Held, Self::Available, Self::InPayout];
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

crate::text_enum! {
    pub enum TxKind {
        WorkApproved = "work_approved",
        HoldReleased = "hold_released",
        Bonus = "bonus",
        TestStipend = "test_stipend",
        Adjustment = "adjustment",
        Clawback = "clawback",
        /// available → in_payout, one per batch, reference `payout_batch:{id}`.
        PayoutReserved = "payout_reserved",
        /// in_payout → payouts_clearing when the rail confirms payment.
        PayoutSettled = "payout_settled",
        /// The reservation reversed: failed, returned or cancelled.
        PayoutFailed = "payout_failed",
        /// available → backup_withholding_payable.
        BackupWithholding = "backup_withholding",
    }
}

#[derive(Insertable)]
#[diesel(table_name = ledger_accounts, treat_none_as_default_value = false)]
pub struct NewAccountRow<'a> {
    pub code: &'a str,
    pub owner_id: Option<i64>,
    pub kind: AccountKind,
    pub currency: super::Currency,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ledger_accounts)]
pub struct AccountRow {
    pub id: i64,
    pub code: String,
    pub owner_id: Option<i64>,
    pub kind: AccountKind,
    pub currency: super::Currency,
}

#[derive(Insertable)]
// NULL rather than DEFAULT for a `None`, so that a Vec of rows is one multi-row INSERT on
// SQLite too (SQLite has no DEFAULT in VALUES: diesel would insert row by row).
#[diesel(table_name = ledger_transactions, treat_none_as_default_value = false)]
pub struct NewTransactionRow<'a> {
    pub kind: TxKind,
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
    pub kind: TxKind,
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

crate::text_enum! {
    /// A manual posting: a signed adjustment, a bonus, or a clawback.
    pub enum AdjustmentKind {
        /// Signed: positive credits `available`, negative debits it.
        Adjustment = "adjustment",
        /// Positive: credits `available`.
        Bonus = "bonus",
        /// Positive: the amount taken back from `available`.
        Clawback = "clawback",
    }
}

impl AdjustmentKind {
    pub fn tx_kind(self) -> TxKind {
        match self {
            Self::Adjustment => TxKind::Adjustment,
            Self::Bonus => TxKind::Bonus,
            Self::Clawback => TxKind::Clawback,
        }
    }
}

crate::text_enum! {
    /// An adjustment waits for a second finance user's approval, then is posted.
    pub enum AdjustmentStatus {
        PendingApproval = "pending_approval",
        Posted = "posted",
    }
}

#[derive(Insertable)]
#[diesel(table_name = ledger_adjustments)]
pub struct NewAdjustmentRow<'a> {
    pub contributor_id: i64,
    pub kind: AdjustmentKind,
    pub amount_cents: i64,
    pub reason: &'a str,
    pub status: AdjustmentStatus,
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
    pub kind: AdjustmentKind,
    pub amount_cents: i64,
    pub reason: String,
    pub status: AdjustmentStatus,
    pub created_by: i64,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
    pub approved_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub approved_at: Option<NaiveDateTime>,
    pub transaction_id: Option<i64>,
}
