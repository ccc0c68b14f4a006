//! Diesel rows and states of payout methods, batches, items and exports.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{payout_batches, payout_exports, payout_items, payout_methods};

crate::text_enum! {
    /// How money reaches a contributor.
    #[derive(PartialOrd, Ord)]
    pub enum Rail {
        Paypal = "paypal",
        Wise = "wise",
        Ach = "ach",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BankAccountType {
    Checking,
    Savings,
}

/// A bank account in the US (ACH, or Wise to a US account). Never serialised to a
/// client: only inside the encrypted `details_enc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccount {
    pub holder_name: String,
    pub routing_number: String,
    pub account_number: String,
    pub account_type: BankAccountType,
}

/// The full destination, stored encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    Email { email: String },
    Bank(BankAccount),
}

crate::text_enum! {
    /// Which kind of destination a method pays, stored in clear beside the encrypted
    /// details (`payout_methods.destination_kind`): Wise has one batch template per kind.
    #[derive(PartialOrd, Ord)]
    pub enum DestinationKind {
        Email = "email",
        Bank = "bank",
    }
}

impl Destination {
    pub fn kind(&self) -> DestinationKind {
        match self {
            Self::Email { .. } => DestinationKind::Email,
            Self::Bank(_) => DestinationKind::Bank,
        }
    }

    /// What responses, emails and logs show: never a full account number.
    pub fn masked(&self, rail: Rail) -> String {
        match self {
            Self::Email { email } => {
                let (local, domain) = email.split_once('@').unwrap_or((email, ""));
                let first: String = local.chars().take(1).collect();
                let name = match rail {
                    Rail::Paypal => "PayPal",
                    _ => "Wise",
                };
                format!("{name} {first}***@{domain}")
            }
            Self::Bank(b) => {
                let last4 = &b.account_number[b.account_number.len().saturating_sub(4)..];
                let kind = match b.account_type {
                    BankAccountType::Checking => "checking",
                    BankAccountType::Savings => "savings",
                };
                let name = match rail {
                    Rail::Ach => "ACH",
                    _ => "Wise",
                };
                format!("{name} {kind} ****{last4}")
            }
        }
    }
}

crate::text_enum! {
    pub enum MethodStatus {
        Active = "active",
        /// A payment to it failed or was returned: the contributor adds a new method.
        NeedsUpdate = "needs_update",
        /// Superseded by a newer method.
        Replaced = "replaced",
    }
}

#[derive(Insertable)]
#[diesel(table_name = payout_methods)]
pub struct NewMethodRow<'a> {
    pub user_id: i64,
    pub rail: Rail,
    pub status: MethodStatus,
    pub details_enc: &'a str,
    pub masked: &'a str,
    pub usable_from: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub destination_kind: DestinationKind,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payout_methods)]
pub struct MethodRow {
    pub id: i64,
    pub user_id: i64,
    pub rail: Rail,
    pub status: MethodStatus,
    pub status_reason: Option<String>,
    pub details_enc: String,
    pub masked: String,
    pub usable_from: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub replaced_at: Option<NaiveDateTime>,
    pub destination_kind: DestinationKind,
}

impl MethodRow {
    pub fn rail(&self) -> Rail {
        self.rail
    }
    pub fn status(&self) -> MethodStatus {
        self.status
    }
}

crate::text_enum! {
    pub enum BatchStatus {
        Draft = "draft",
        Approved = "approved",
        Exported = "exported",
        Settled = "settled",
        Cancelled = "cancelled",
    }
}

#[derive(Insertable)]
#[diesel(table_name = payout_batches)]
pub struct NewBatchRow<'a> {
    pub status: BatchStatus,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
    pub note: &'a str,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub sender_batch_id: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = payout_batches)]
pub struct BatchRow {
    pub id: i64,
    pub status: BatchStatus,
    pub idempotency_key: String,
    #[serde(skip)]
    pub request_hash: String,
    pub note: String,
    pub created_by: i64,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
    pub approved_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub approved_at: Option<NaiveDateTime>,
    #[serde(with = "crate::clock::utc_opt")]
    pub exported_at: Option<NaiveDateTime>,
    #[serde(with = "crate::clock::utc_opt")]
    pub settled_at: Option<NaiveDateTime>,
    pub cancelled_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub cancelled_at: Option<NaiveDateTime>,
    pub item_count: i64,
    pub gross_cents: i64,
    pub withheld_cents: i64,
    pub net_cents: i64,
    /// PayPal Payouts API `sender_batch_id` (random, unique across environments and
    /// restores); a request part adds `-{part}`.
    pub sender_batch_id: String,
}

impl BatchRow {
    pub fn status(&self) -> BatchStatus {
        self.status
    }
}

crate::text_enum! {
    /// An item's state: `pending` until the settlement says `paid`, `failed` or
    /// `returned`; `cancelled` with its draft batch.
    pub enum ItemStatus {
        Pending = "pending",
        Paid = "paid",
        Failed = "failed",
        Returned = "returned",
        Cancelled = "cancelled",
    }
}

/// A new item. `None` is written as NULL, not as the column's default: only then does
/// diesel write a chunk of items as one multi-row INSERT on SQLite (with defaults it runs
/// one statement per row: the build spent 2.9 s of 7.6 s there for 100,000 items).
#[derive(Insertable)]
#[diesel(table_name = payout_items, treat_none_as_default_value = false)]
pub struct NewItemRow {
    pub batch_id: i64,
    pub contributor_id: i64,
    pub method_id: i64,
    pub rail: Rail,
    pub gross_cents: i64,
    pub withheld_cents: i64,
    pub net_cents: i64,
    pub status: ItemStatus,
    pub created_at: NaiveDateTime,
    /// 1, 2, 3… among the batch's items of this rail, in id order (export parts).
    pub rail_position: i64,
    pub covers_from_cents: Option<i64>,
    pub covers_to_cents: Option<i64>,
    /// The method's destination kind (Wise files are per kind), checked equal to it by
    /// the database.
    pub destination_kind: DestinationKind,
    /// 1, 2, 3… among the batch's items of this rail and destination kind, in rail
    /// position order (Wise parts).
    pub kind_position: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payout_items)]
pub struct ItemRow {
    pub id: i64,
    pub batch_id: i64,
    pub contributor_id: i64,
    pub method_id: i64,
    pub rail: Rail,
    pub gross_cents: i64,
    pub withheld_cents: i64,
    pub net_cents: i64,
    pub status: ItemStatus,
    pub rail_reference: Option<String>,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub settled_at: Option<NaiveDateTime>,
    /// NACHA return reason code of a failed or returned ACH item.
    pub return_code: Option<String>,
    /// When a return arrived after the item was paid.
    pub returned_at: Option<NaiveDateTime>,
    /// The contributor's credits to `available` this item covers, as cumulative cents
    /// from..to (docs/ledger.md, "Which tasks a payout paid"); None before issue 19.
    pub covers_from_cents: Option<i64>,
    pub covers_to_cents: Option<i64>,
    /// The date the rail paid, in the payer's time zone.
    pub paid_on: Option<chrono::NaiveDate>,
}

impl ItemRow {
    pub fn status(&self) -> ItemStatus {
        self.status
    }
    pub fn rail(&self) -> Rail {
        self.rail
    }
}

#[derive(Insertable)]
#[diesel(table_name = payout_exports)]
pub struct NewExportRow<'a> {
    pub batch_id: i64,
    pub format: super::exports::Format,
    pub part: i32,
    pub sha256: &'a str,
    pub byte_count: i64,
    pub item_count: i64,
    pub exported_by: i64,
    pub exported_at: NaiveDateTime,
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::db::schema::payout_items;

    /// A chunk of items is one INSERT on SQLite (diesel writes `BEGIN; INSERT …; INSERT
    /// …; COMMIT` when a row could take a column default).
    #[test]
    fn a_chunk_of_items_is_one_statement_on_sqlite() {
        let row = |id: i64, covers: Option<i64>| NewItemRow {
            batch_id: 1,
            contributor_id: id,
            method_id: id,
            rail: Rail::Ach,
            gross_cents: 100,
            withheld_cents: 0,
            net_cents: 100,
            status: ItemStatus::Pending,
            created_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(0, 0, 0).unwrap(),
            rail_position: id,
            covers_from_cents: covers,
            covers_to_cents: covers,
            destination_kind: DestinationKind::Bank,
            kind_position: id,
        };
        let rows = vec![row(1, Some(0)), row(2, None)];
        let sql =
            diesel::debug_query::<diesel::sqlite::Sqlite, _>(&diesel::insert_into(payout_items::table).values(&rows))
                .to_string();
        assert_eq!(sql.matches("INSERT INTO").count(), 1, "{sql}");
        assert!(!sql.contains("BEGIN"), "{sql}");
    }
}
