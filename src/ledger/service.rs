//! Posting rules and balances. Every transaction balances (checked here, before any
//! insert, and by the database when it is sealed: [`seal`]) and is unique per (kind,
//! reference) in the database: earned once.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::model::*;
use super::money::{self, Cents};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::model::UserStatus;
use crate::auth::RequestCtx;
use crate::db::schema::{ledger_accounts, ledger_adjustments, ledger_entries, ledger_transactions};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::AppState;

/// A transaction to post: legs on accounts, summing to zero.
pub struct Posting {
    pub kind: TxKind,
    /// What it is about, e.g. `work_record:42`; (kind, reference) is unique.
    pub reference: String,
    pub memo: String,
    pub contributor_id: Option<i64>,
    pub created_by: Option<i64>,
    pub legs: Vec<(AccountRef, Cents)>,
}

impl Posting {
    fn row(&self, now: NaiveDateTime) -> NewTransactionRow<'_> {
        NewTransactionRow {
            kind: self.kind,
            reference: &self.reference,
            memo: &self.memo,
            contributor_id: self.contributor_id,
            created_by: self.created_by,
            created_at: now,
        }
    }
}

/// Creates the contributor's four accounts if missing (check, then insert; the unique
/// account code is the backstop).
pub fn ensure_contributor_accounts(conn: &mut DbConn, now: NaiveDateTime, user_id: i64) -> AppResult<()> {
    let existing: Vec<AccountKind> = ledger_accounts::table
        .filter(ledger_accounts::owner_id.eq(user_id))
        .select(ledger_accounts::kind)
        .load(conn)?;
    for kind in AccountKind::CONTRIBUTOR {
        if !existing.contains(&kind) {
            diesel::insert_into(ledger_accounts::table)
                .values(NewAccountRow {
                    code: &AccountRef::Contributor(user_id, kind).code(),
                    owner_id: Some(user_id),
                    kind,
                    currency: super::Currency::Usd,
                    created_at: now,
                })
                .execute(conn)?;
        }
    }
    Ok(())
}

/// [`ensure_contributor_accounts`] for many contributors (bulk ingest): one lookup and
/// one multi-row insert per 500 contributors instead of queries per contributor.
pub fn ensure_contributor_accounts_many(conn: &mut DbConn, now: NaiveDateTime, user_ids: &[i64]) -> AppResult<()> {
    for chunk in user_ids.chunks(500) {
        let existing: std::collections::HashSet<(Option<i64>, AccountKind)> = ledger_accounts::table
            .filter(ledger_accounts::owner_id.eq_any(chunk))
            .select((ledger_accounts::owner_id, ledger_accounts::kind))
            .load::<(Option<i64>, AccountKind)>(conn)?
            .into_iter()
            .collect();
        let missing: Vec<(i64, AccountKind, String)> = chunk
            .iter()
            .flat_map(|&user| AccountKind::CONTRIBUTOR.into_iter().map(move |kind| (user, kind)))
            .filter(|(user, kind)| !existing.contains(&(Some(*user), *kind)))
            .map(|(user, kind)| (user, kind, AccountRef::Contributor(user, kind).code()))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let rows: Vec<NewAccountRow> = missing
            .iter()
            .map(|(user, kind, code)| NewAccountRow {
                code,
                owner_id: Some(*user),
                kind: *kind,
                currency: super::Currency::Usd,
                created_at: now,
            })
            .collect();
        // Multi-row INSERT runs on the concrete connection (not offered by MultiConnection).
        let insert = diesel::insert_into(ledger_accounts::table).values(&rows);
        match conn {
            DbConn::Postgresql(c) => insert.execute(c)?,
            DbConn::Sqlite(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

fn account_id(conn: &mut DbConn, now: NaiveDateTime, account: AccountRef) -> AppResult<i64> {
    let code = account.code();
    let found = ledger_accounts::table
        .filter(ledger_accounts::code.eq(&code))
        .select(ledger_accounts::id)
        .first::<i64>(conn)
        .optional()?;
    match (found, account) {
        (Some(id), _) => Ok(id),
        (None, AccountRef::Contributor(user, _)) => {
            ensure_contributor_accounts(conn, now, user)?;
            Ok(ledger_accounts::table
                .filter(ledger_accounts::code.eq(&code))
                .select(ledger_accounts::id)
                .first(conn)?)
        }
        (None, AccountRef::Platform(_)) => Err(AppError::Internal(anyhow::anyhow!("platform account {code} missing"))),
    }
}

/// Posts a balanced transaction in the caller's database transaction and audits it.
/// A second posting of the same (kind, reference) is refused with 409 `already_posted`.
pub fn post(conn: &mut DbConn, now: NaiveDateTime, ctx: &RequestCtx, p: Posting) -> AppResult<i64> {
    let amounts: Vec<Cents> = p.legs.iter().map(|(_, a)| *a).collect();
    if !money::balances(&amounts) {
        return Err(AppError::Internal(anyhow::anyhow!("unbalanced posting {} {}", p.kind.as_str(), p.reference)));
    }
    let exists: i64 = ledger_transactions::table
        .filter(ledger_transactions::kind.eq(p.kind))
        .filter(ledger_transactions::reference.eq(&p.reference))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Err(AppError::conflict(
            ProblemCode::AlreadyPosted,
            format!("{} {} is already posted", p.kind.as_str(), p.reference),
        ));
    }
    let tx_id = diesel::insert_into(ledger_transactions::table)
        .values(p.row(now))
        .returning(ledger_transactions::id)
        .get_result::<i64>(conn)?;
    let mut rows = Vec::with_capacity(p.legs.len());
    let mut legs = Vec::with_capacity(p.legs.len());
    for (account, amount) in &p.legs {
        rows.push(NewEntryRow {
            transaction_id: tx_id,
            account_id: account_id(conn, now, *account)?,
            amount_cents: amount.0,
        });
        legs.push(json!({"account": account.code(), "amount_cents": amount.0}));
    }
    for row in rows {
        diesel::insert_into(ledger_entries::table).values(row).execute(conn)?;
    }
    seal(conn, &[tx_id])?;
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id: p.created_by,
            action: AuditAction::LedgerPosted,
            subject_type: AuditSubject::LedgerTransaction,
            subject_id: Some(tx_id.to_string()),
            summary: json!({"after": {"kind": p.kind.as_str(), "reference": p.reference, "memo": p.memo,
                "contributor_id": p.contributor_id, "entries": legs}}),
        },
    )?;
    Ok(tx_id)
}

/// Rows per multi-row INSERT of [`post_many`].
const ROWS_PER_INSERT: usize = 500;

/// Posts many balanced transactions in the caller's database transaction, set-based:
/// one duplicate check per kind and 5,000 references, multi-row inserts of the
/// transactions and their entries (500 rows a statement), the contributors' account ids
/// looked up in bulk. All or nothing like [`post`], with the same 409 `already_posted`;
/// unlike it, no audit record per transaction: the caller records one for the whole set
/// (e.g. `payout_batch.built`). Returns the number of transactions posted.
pub fn post_many(conn: &mut DbConn, now: NaiveDateTime, postings: &[Posting]) -> AppResult<usize> {
    for p in postings {
        let amounts: Vec<Cents> = p.legs.iter().map(|(_, a)| *a).collect();
        if !money::balances(&amounts) {
            return Err(AppError::Internal(anyhow::anyhow!("unbalanced posting {} {}", p.kind.as_str(), p.reference)));
        }
    }
    refuse_posted(conn, postings)?;
    let accounts = account_ids(conn, now, postings)?;
    let tx_ids = insert_transactions(conn, now, postings)?;
    insert_entries(conn, postings, &tx_ids, &accounts)?;
    let ids: Vec<i64> = tx_ids.into_values().collect();
    seal(conn, &ids)?;
    Ok(postings.len())
}

/// [`post_many`]'s duplicate check: a 409 `already_posted` naming the first posting whose
/// kind and reference are already in the ledger (one query per kind and 5,000 references).
fn refuse_posted(conn: &mut DbConn, postings: &[Posting]) -> AppResult<()> {
    let mut by_kind: BTreeMap<&str, (TxKind, Vec<&str>)> = BTreeMap::new();
    for p in postings {
        by_kind.entry(p.kind.as_str()).or_insert_with(|| (p.kind, Vec::new())).1.push(&p.reference);
    }
    for (kind, references) in by_kind.values() {
        for chunk in references.chunks(crate::db::LOOKUP_CHUNK) {
            let taken: Option<String> = ledger_transactions::table
                .filter(ledger_transactions::kind.eq(*kind))
                .filter(ledger_transactions::reference.eq_any(chunk))
                .select(ledger_transactions::reference)
                .first(conn)
                .optional()?;
            if let Some(reference) = taken {
                return Err(AppError::conflict(
                    ProblemCode::AlreadyPosted,
                    format!("{kind} {reference} is already posted"),
                ));
            }
        }
    }
    Ok(())
}

/// The account ids [`post_many`]'s legs name, by account code: the contributors' by
/// owner (created when missing), the platform's by code.
fn account_ids(conn: &mut DbConn, now: NaiveDateTime, postings: &[Posting]) -> AppResult<HashMap<String, i64>> {
    let owners: Vec<i64> = postings
        .iter()
        .flat_map(|p| p.legs.iter())
        .filter_map(|(a, _)| match a {
            AccountRef::Contributor(user, _) => Some(*user),
            AccountRef::Platform(_) => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    fn load(conn: &mut DbConn, owners: &[i64], accounts: &mut HashMap<String, i64>) -> AppResult<()> {
        for chunk in owners.chunks(crate::db::LOOKUP_CHUNK) {
            let rows: Vec<(String, i64)> = ledger_accounts::table
                .filter(ledger_accounts::owner_id.eq_any(chunk))
                .select((ledger_accounts::code, ledger_accounts::id))
                .load(conn)?;
            accounts.extend(rows);
        }
        Ok(())
    }
    let mut accounts: HashMap<String, i64> = HashMap::new();
    load(conn, &owners, &mut accounts)?;
    let lacking: Vec<i64> = owners
        .iter()
        .copied()
        .filter(|&user| {
            AccountKind::CONTRIBUTOR
                .iter()
                .any(|&kind| !accounts.contains_key(&AccountRef::Contributor(user, kind).code()))
        })
        .collect();
    if !lacking.is_empty() {
        ensure_contributor_accounts_many(conn, now, &lacking)?;
        load(conn, &lacking, &mut accounts)?;
    }
    let platform: Vec<(String, i64)> = ledger_accounts::table
        .filter(ledger_accounts::owner_id.is_null())
        .select((ledger_accounts::code, ledger_accounts::id))
        .load(conn)?;
    accounts.extend(platform);
    Ok(accounts)
}

/// [`post_many`]'s transactions, 500 rows a statement: their ids by kind and reference.
fn insert_transactions(
    conn: &mut DbConn,
    now: NaiveDateTime,
    postings: &[Posting],
) -> AppResult<HashMap<(TxKind, String), i64>> {
    let mut tx_ids: HashMap<(TxKind, String), i64> = HashMap::with_capacity(postings.len());
    for chunk in postings.chunks(ROWS_PER_INSERT) {
        let rows: Vec<NewTransactionRow> = chunk.iter().map(|p| p.row(now)).collect();
        // Multi-row INSERT … RETURNING runs on the concrete connection (not offered by
        // MultiConnection).
        let insert = diesel::insert_into(ledger_transactions::table).values(&rows).returning((
            ledger_transactions::kind,
            ledger_transactions::reference,
            ledger_transactions::id,
        ));
        let ids: Vec<(TxKind, String, i64)> = match conn {
            DbConn::Postgresql(c) => insert.get_results(c)?,
            DbConn::Sqlite(c) => insert.get_results(c)?,
        };
        tx_ids.extend(ids.into_iter().map(|(kind, reference, id)| ((kind, reference), id)));
    }
    Ok(tx_ids)
}

/// [`post_many`]'s entries, 500 rows a statement, each in its transaction and account.
fn insert_entries(
    conn: &mut DbConn,
    postings: &[Posting],
    tx_ids: &HashMap<(TxKind, String), i64>,
    accounts: &HashMap<String, i64>,
) -> AppResult<()> {
    let mut entries = Vec::with_capacity(postings.len() * 2);
    for p in postings {
        let tx = tx_ids.get(&(p.kind, p.reference.clone())).copied().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("posting {} {} not inserted", p.kind.as_str(), p.reference))
        })?;
        for (account, amount) in &p.legs {
            let code = account.code();
            let account_id = accounts
                .get(&code)
                .copied()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("account {code} missing")))?;
            entries.push(NewEntryRow { transaction_id: tx, account_id, amount_cents: amount.0 });
        }
    }
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        let insert = diesel::insert_into(ledger_entries::table).values(chunk);
        match conn {
            DbConn::Postgresql(c) => insert.execute(c)?,
            DbConn::Sqlite(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// Seals the open transactions `ids`, written in the caller's database transaction with
/// all their entries: from now on they take no new entries. The database refuses the
/// seal of a transaction with fewer than two entries or entries that do not sum to zero
/// (trigger `ledger_transactions_balanced`, both backends), and on PostgreSQL refuses to
/// commit a transaction still open (`ledger_transactions_sealed_at_commit`).
/// docs/ledger.md, "What the database guarantees".
pub fn seal(conn: &mut DbConn, ids: &[i64]) -> AppResult<()> {
    for chunk in ids.chunks(crate::db::LOOKUP_CHUNK) {
        let sealed = diesel::update(
            ledger_transactions::table
                .filter(ledger_transactions::id.eq_any(chunk))
                .filter(ledger_transactions::sealed.eq(false)),
        )
        .set(ledger_transactions::sealed.eq(true))
        .execute(conn)?;
        if sealed != chunk.len() {
            return Err(AppError::Internal(anyhow::anyhow!(
                "sealed {sealed} of {} ledger transactions: some were not open",
                chunk.len()
            )));
        }
    }
    Ok(())
}

/// Seals every open transaction with an id above `after`: for the writers that post by
/// raw SQL (the batch reservation's `INSERT … SELECT`, `gatehouse seed`), which read the
/// highest id before writing. The same database checks as [`seal`] apply, row by row.
/// Returns how many were sealed.
pub fn seal_open_after(conn: &mut DbConn, after: i64) -> AppResult<usize> {
    Ok(diesel::update(
        ledger_transactions::table
            .filter(ledger_transactions::sealed.eq(false))
            .filter(ledger_transactions::id.gt(after)),
    )
    .set(ledger_transactions::sealed.eq(true))
    .execute(conn)?)
}

/// Whether a transaction of this kind and reference exists.
pub fn is_posted(conn: &mut DbConn, kind: TxKind, reference: &str) -> AppResult<bool> {
    let n: i64 = ledger_transactions::table
        .filter(ledger_transactions::kind.eq(kind))
        .filter(ledger_transactions::reference.eq(reference))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A contributor's balances per account, in cents.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct Balances {
    pub pending: Cents,
    pub held: Cents,
    pub available: Cents,
    pub in_payout: Cents,
}

fn account_balance(conn: &mut DbConn, account_id: i64) -> AppResult<Cents> {
    // SUM(BIGINT) is NUMERIC on PostgreSQL: cast back to BIGINT on both backends.
    let sum: Option<i64> = ledger_entries::table
        .filter(ledger_entries::account_id.eq(account_id))
        .select(diesel::dsl::sql::<Nullable<BigInt>>("CAST(SUM(amount_cents) AS BIGINT)"))
        .first(conn)?;
    Ok(Cents(sum.unwrap_or(0)))
}

pub fn balances_of(conn: &mut DbConn, user_id: i64) -> AppResult<Balances> {
    let accounts: Vec<AccountRow> = ledger_accounts::table
        .filter(ledger_accounts::owner_id.eq(user_id))
        .select(AccountRow::as_select())
        .load(conn)?;
    let mut b = Balances::default();
    for a in accounts {
        let amount = account_balance(conn, a.id)?;
        match a.kind {
            AccountKind::Pending => b.pending = amount,
            AccountKind::Held => b.held = amount,
            AccountKind::Available => b.available = amount,
            AccountKind::InPayout => b.in_payout = amount,
            _ => {}
        }
    }
    Ok(b)
}

#[derive(diesel::QueryableByName)]
struct OwnerSum {
    #[diesel(sql_type = BigInt)]
    owner_id: i64,
    #[diesel(sql_type = BigInt)]
    balance: i64,
}

#[derive(diesel::QueryableByName)]
struct OwnerSumCredits {
    #[diesel(sql_type = BigInt)]
    owner_id: i64,
    #[diesel(sql_type = BigInt)]
    balance: i64,
    #[diesel(sql_type = BigInt)]
    credits: i64,
}

/// `(owner, available balance, credits)` of everyone with an `available` account, by
/// owner id, in the one aggregate of [`available_of`]: `credits` is the sum of the
/// positive entries, the watermark a payout item covers up to (docs/ledger.md, "Which
/// tasks a payout paid").
pub fn available_and_credits(conn: &mut DbConn) -> AppResult<Vec<(i64, i64, i64)>> {
    let rows: Vec<OwnerSumCredits> = diesel::sql_query(
        "SELECT a.owner_id AS owner_id, CAST(SUM(e.amount_cents) AS BIGINT) AS balance, \
         CAST(SUM(CASE WHEN e.amount_cents > 0 THEN e.amount_cents ELSE 0 END) AS BIGINT) AS credits \
         FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id \
         WHERE a.kind = 'available' AND a.owner_id IS NOT NULL GROUP BY a.owner_id ORDER BY a.owner_id",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.owner_id, r.balance, r.credits)).collect())
}

/// `(owner, available balance)` by owner id, of the contributors in `owners` or of
/// everyone; one aggregate over the entries.
pub fn available_of(conn: &mut DbConn, owners: Option<&[i64]>) -> AppResult<Vec<(i64, i64)>> {
    let only = match owners {
        Some([]) => return Ok(Vec::new()),
        // Integers, formatted in.
        Some(ids) => format!(" AND a.owner_id IN ({})", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
        None => String::new(),
    };
    // SUM(BIGINT) is NUMERIC on PostgreSQL: cast back on both backends.
    let rows: Vec<OwnerSum> = diesel::sql_query(format!(
        "SELECT a.owner_id AS owner_id, CAST(SUM(e.amount_cents) AS BIGINT) AS balance \
         FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id \
         WHERE a.kind = 'available' AND a.owner_id IS NOT NULL{only} GROUP BY a.owner_id ORDER BY a.owner_id"
    ))
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.owner_id, r.balance)).collect())
}

#[derive(diesel::QueryableByName)]
struct TxId {
    #[diesel(sql_type = BigInt)]
    transaction_id: i64,
}

/// Transactions whose entries do not sum to zero, that have no entries, or that are still
/// open (not sealed): always empty. Used by tests and available to operators as an
/// invariant check.
pub fn unbalanced_transactions(conn: &mut DbConn) -> AppResult<Vec<i64>> {
    let rows: Vec<TxId> = diesel::sql_query(
        "SELECT transaction_id FROM ledger_entries GROUP BY transaction_id HAVING SUM(amount_cents) <> 0 \
         UNION SELECT t.id AS transaction_id FROM ledger_transactions t \
         WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id) \
         UNION SELECT id AS transaction_id FROM ledger_transactions WHERE sealed = FALSE",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.transaction_id).collect())
}

/// One entry on a contributor's account, with its transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerLine {
    pub entry_id: i64,
    pub account: AccountKind,
    pub amount_cents: i64,
    pub transaction: TransactionRow,
}

/// The contributor's entries, newest first (keyset on the entry id), and balances.
pub fn contributor_ledger(
    st: &AppState,
    user_id: i64,
    before: Option<i64>,
    limit: Option<i64>,
) -> AppResult<(Balances, Vec<LedgerLine>)> {
    st.db.read_sync(|conn| {
        crate::auth::service::find_user(conn, user_id)?;
        let balances = balances_of(conn, user_id)?;
        let mut q = ledger_entries::table
            .inner_join(ledger_transactions::table)
            .inner_join(ledger_accounts::table)
            .filter(ledger_accounts::owner_id.eq(user_id))
            .select((EntryRow::as_select(), TransactionRow::as_select(), ledger_accounts::kind))
            .into_boxed();
        if let Some(b) = before {
            q = q.filter(ledger_entries::id.lt(b));
        }
        let rows: Vec<(EntryRow, TransactionRow, AccountKind)> =
            q.order(ledger_entries::id.desc()).limit(crate::db::page_limit(limit)).load(conn)?;
        let lines = rows
            .into_iter()
            .map(|(e, t, k)| LedgerLine { entry_id: e.id, account: k, amount_cents: e.amount_cents, transaction: t })
            .collect();
        Ok((balances, lines))
    })
}

/// The legs of a manual posting of `amount` cents.
fn adjustment_legs(user: i64, kind: AdjustmentKind, amount: Cents) -> Vec<(AccountRef, Cents)> {
    let available = AccountRef::Contributor(user, AccountKind::Available);
    let expense = AccountRef::Platform(AccountKind::Expense);
    match kind {
        AdjustmentKind::Adjustment | AdjustmentKind::Bonus => vec![(expense, -amount), (available, amount)],
        AdjustmentKind::Clawback => vec![(available, -amount), (expense, amount)],
    }
}

/// Whether a manual posting of `amount` needs a second finance user, given what the
/// same maker already posted or requested for the same contributor within the rolling
/// window (`earlier`, absolute cents): the amounts add up, so a large posting cannot be
/// split into small ones that each pass alone.
pub fn needs_second_approver(amount: Cents, earlier: &[i64], threshold_cents: i64) -> bool {
    let total: u128 =
        earlier.iter().map(|a| u128::from(a.unsigned_abs())).sum::<u128>() + u128::from(amount.0.unsigned_abs());
    total > u128::from(threshold_cents.unsigned_abs())
}

/// Namespace of the PostgreSQL advisory lock that serialises one contributor's manual
/// postings, so two concurrent requests by one maker cannot both pass the window sum.
const ADJUSTMENT_LOCK_NAMESPACE: i32 = 0x6164_6a75; // "adju"

fn adjustment_row(conn: &mut DbConn, id: i64) -> AppResult<AdjustmentRow> {
    Ok(ledger_adjustments::table.find(id).select(AdjustmentRow::as_select()).first(conn)?)
}

fn post_adjustment(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    row: &AdjustmentRow,
    by: i64,
) -> AppResult<i64> {
    let kind = row.kind;
    post(
        conn,
        now,
        ctx,
        Posting {
            kind: kind.tx_kind(),
            reference: format!("adjustment:{}", row.id),
            memo: row.reason.clone(),
            contributor_id: Some(row.contributor_id),
            created_by: Some(by),
            legs: adjustment_legs(row.contributor_id, kind, Cents(row.amount_cents)),
        },
    )
}

/// What a finance user asks to post.
pub struct NewAdjustment<'a> {
    pub contributor_id: i64,
    pub kind: AdjustmentKind,
    pub amount: Cents,
    pub reason: &'a str,
}

/// A finance user records an adjustment, bonus or clawback. Above the threshold it waits
/// for a second finance user; otherwise it is posted at once.
/// Idempotent per finance user and `key`: the same request again returns the first
/// adjustment (`false`: not created now); another request under the same key is refused.
pub fn create_adjustment(
    st: &AppState,
    ctx: &RequestCtx,
    finance_id: i64,
    key: &str,
    new: NewAdjustment<'_>,
) -> AppResult<(AdjustmentRow, bool)> {
    let NewAdjustment { contributor_id, kind, amount, reason } = new;
    if amount.0 == 0 || (kind != AdjustmentKind::Adjustment && amount.0 < 0) {
        return Err(AppError::field(
            "amount_cents",
            "range",
            "a non-zero amount; bonuses and clawbacks take a positive amount",
        ));
    }
    let hash =
        crate::crypto::sha256_hex(format!("{contributor_id}|{}|{}|{reason}", kind.as_str(), amount.0).as_bytes());
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let settings = crate::settings::current(conn, st)?;
        let threshold = settings.adjustment_approval_threshold_cents();
        let earlier: Option<(i64, Option<String>)> = ledger_adjustments::table
            .filter(ledger_adjustments::created_by.eq(finance_id))
            .filter(ledger_adjustments::idempotency_key.eq(key))
            .select((ledger_adjustments::id, ledger_adjustments::request_hash))
            .first(conn)
            .optional()?;
        if let Some((id, earlier_hash)) = earlier {
            if earlier_hash.as_deref() != Some(hash.as_str()) {
                return Err(crate::idempotency::reused());
            }
            return Ok((adjustment_row(conn, id)?, false));
        }
        let user = crate::auth::service::find_user(conn, contributor_id)?;
        if matches!(user.status(), UserStatus::Staff | UserStatus::Disabled) {
            return Err(AppError::NotFound);
        }
        if let DbConn::Postgresql(pg) = conn {
            // SQLite: Db::tx already serialises writers in-process.
            let key = (contributor_id % i64::from(i32::MAX)) as i32;
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({ADJUSTMENT_LOCK_NAMESPACE}, {key})"))
                .execute(pg)?;
        }
        let earlier: Vec<i64> = ledger_adjustments::table
            .filter(ledger_adjustments::created_by.eq(finance_id))
            .filter(ledger_adjustments::contributor_id.eq(contributor_id))
            .filter(ledger_adjustments::created_at.gt(now - settings.adjustment_window()))
            .select(ledger_adjustments::amount_cents)
            .load(conn)?;
        let pending = needs_second_approver(amount, &earlier, threshold);
        let id = diesel::insert_into(ledger_adjustments::table)
            .values(NewAdjustmentRow {
                contributor_id,
                kind,
                amount_cents: amount.0,
                reason,
                status: AdjustmentStatus::PendingApproval,
                created_by: finance_id,
                created_at: now,
                idempotency_key: key,
                request_hash: &hash,
            })
            .returning(ledger_adjustments::id)
            .get_result::<i64>(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(finance_id),
                action: AuditAction::LedgerAdjustmentRequested,
                subject_type: AuditSubject::LedgerAdjustment,
                subject_id: Some(id.to_string()),
                summary: json!({"after": {"contributor_id": contributor_id, "kind": kind.as_str(),
                    "amount_cents": amount.0, "reason": reason, "needs_second_approver": pending}}),
            },
        )?;
        let row = adjustment_row(conn, id)?;
        if !pending {
            let tx = post_adjustment(conn, now, ctx, &row, finance_id)?;
            diesel::update(ledger_adjustments::table.find(id))
                .set((
                    ledger_adjustments::status.eq(crate::ledger::model::AdjustmentStatus::Posted),
                    ledger_adjustments::transaction_id.eq(tx),
                ))
                .execute(conn)?;
        }
        Ok((adjustment_row(conn, id)?, true))
    })
}

/// A second finance user approves a pending adjustment, which posts it. The maker
/// cannot approve their own.
pub fn approve_adjustment(st: &AppState, ctx: &RequestCtx, finance_id: i64, id: i64) -> AppResult<AdjustmentRow> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let row = adjustment_row(conn, id)?;
        if row.created_by == finance_id {
            return Err(AppError::Forbidden("the finance user who made an adjustment cannot approve it".into()));
        }
        if row.status != AdjustmentStatus::PendingApproval {
            return Err(AppError::conflict(ProblemCode::AlreadyPosted, "this adjustment is already posted"));
        }
        // Posting first: its unique (kind, reference) refuses a concurrent second approval;
        // the conditional UPDATE below then rolls back anything that lost the race.
        let tx = post_adjustment(conn, now, ctx, &row, finance_id)?;
        let won = diesel::update(
            ledger_adjustments::table
                .filter(ledger_adjustments::id.eq(id))
                .filter(ledger_adjustments::status.eq(crate::ledger::model::AdjustmentStatus::PendingApproval)),
        )
        .set((
            ledger_adjustments::status.eq(crate::ledger::model::AdjustmentStatus::Posted),
            ledger_adjustments::approved_by.eq(finance_id),
            ledger_adjustments::approved_at.eq(now),
            ledger_adjustments::transaction_id.eq(tx),
        ))
        .execute(conn)?;
        if won != 1 {
            return Err(AppError::conflict(ProblemCode::AlreadyPosted, "this adjustment is already posted"));
        }
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(finance_id),
                action: AuditAction::LedgerAdjustmentApproved,
                subject_type: AuditSubject::LedgerAdjustment,
                subject_id: Some(id.to_string()),
                summary: json!({"before": {"status": "pending_approval"}, "after": {"status": "posted", "transaction_id": tx}}),
            },
        )?;
        adjustment_row(conn, id)
    })
}

/// Adjustments, oldest first, optionally of one status (keyset on the id).
pub fn list_adjustments(
    st: &AppState,
    status: Option<AdjustmentStatus>,
    after: Option<i64>,
    limit: Option<i64>,
) -> AppResult<Vec<AdjustmentRow>> {
    st.db.read_sync(|conn| {
        let mut q = ledger_adjustments::table.select(AdjustmentRow::as_select()).into_boxed();
        if let Some(s) = status {
            q = q.filter(ledger_adjustments::status.eq(s));
        }
        Ok(q.filter(ledger_adjustments::id.gt(after.unwrap_or(0)))
            .order(ledger_adjustments::id.asc())
            .limit(crate::db::page_limit(limit))
            .load(conn)?)
    })
}

/// The job: credits the stipend recorded on finished qualification attempts, once each
/// (reference `test_attempt:{id}`).
pub fn pay_test_stipends(st: &AppState) -> AppResult<usize> {
    use crate::db::schema::test_attempts;
    let due: Vec<(i64, i64, Option<i64>)> = st.db.read_sync(|conn| {
        Ok(test_attempts::table
            .filter(test_attempts::status.eq_any([
                crate::qualifications::model::AttemptStatus::Passed,
                crate::qualifications::model::AttemptStatus::Failed,
            ]))
            .filter(test_attempts::stipend_cents.gt(0))
            .select((test_attempts::id, test_attempts::user_id, test_attempts::stipend_cents))
            .load(conn)?)
    })?;
    let paid: BTreeMap<String, ()> = st.db.read_sync(|conn| {
        Ok(ledger_transactions::table
            .filter(ledger_transactions::kind.eq(TxKind::TestStipend.as_str()))
            .select(ledger_transactions::reference)
            .load::<String>(conn)?
            .into_iter()
            .map(|r| (r, ()))
            .collect())
    })?;
    let ctx = RequestCtx::system("job:test_stipends");
    let mut count = 0;
    for (attempt_id, user_id, stipend) in due {
        let reference = format!("test_attempt:{attempt_id}");
        let amount = Cents(stipend.unwrap_or(0));
        if paid.contains_key(&reference) || amount.0 <= 0 {
            continue;
        }
        st.db.tx_sync(|conn| {
            if is_posted(conn, TxKind::TestStipend, &reference)? {
                return Ok(());
            }
            post(
                conn,
                st.clock.now(),
                &ctx,
                Posting {
                    kind: TxKind::TestStipend,
                    reference: reference.clone(),
                    memo: format!("stipend for qualification test attempt {attempt_id}"),
                    contributor_id: Some(user_id),
                    created_by: None,
                    legs: vec![
                        (AccountRef::Platform(AccountKind::Expense), -amount),
                        (AccountRef::Contributor(user_id, AccountKind::Available), amount),
                    ],
                },
            )?;
            Ok(())
        })?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_on_the_absolute_amount() {
        assert!(!needs_second_approver(Cents(50_000), &[], 50_000));
        assert!(needs_second_approver(Cents(50_001), &[], 50_000));
        assert!(needs_second_approver(Cents(-50_001), &[], 50_000));
    }

    #[test]
    fn split_postings_add_up_within_the_window() {
        // Ten $500 bonuses: the first passes alone, the second would make $1,000.
        assert!(!needs_second_approver(Cents(50_000), &[], 50_000));
        assert!(needs_second_approver(Cents(50_000), &[50_000], 50_000));
        assert!(needs_second_approver(Cents(1), &[50_000], 50_000));
        // A clawback does not offset a bonus: both are money moved by one maker.
        assert!(needs_second_approver(Cents(-30_000), &[30_000], 50_000));
        assert!(!needs_second_approver(Cents(20_000), &[10_000, -20_000], 50_000));
        assert!(needs_second_approver(Cents(i64::MAX), &[i64::MIN], i64::MAX));
    }

    #[test]
    fn manual_postings_balance() {
        for kind in [AdjustmentKind::Adjustment, AdjustmentKind::Bonus, AdjustmentKind::Clawback] {
            let legs = adjustment_legs(7, kind, Cents(1234));
            assert!(money::balances(&legs.iter().map(|l| l.1).collect::<Vec<_>>()));
        }
        let claw = adjustment_legs(7, AdjustmentKind::Clawback, Cents(100));
        assert_eq!(claw[0], (AccountRef::Contributor(7, AccountKind::Available), Cents(-100)));
    }
}
