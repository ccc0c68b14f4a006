//! Export files of an approved batch: PayPal Payouts CSV (web upload, ≤ 5,000 rows per
//! file) and API JSON, Wise batch CSV, NACHA ACH. The row writers are pure; [`generate`]
//! pages through the items (500 rows per query) and writes row by row. The hash of a
//! file goes out in a header ahead of it, so the first export of a (batch, format,
//! part) is generated once into an encrypted spool ([`crate::spool`]) while it is
//! hashed, the hash recorded, and the file sent from the spool. A re-export is
//! generated again as it is sent, with the recorded hash as the header, and checked
//! against it on the way (a difference aborts the response, so the client never
//! receives a complete file that differs from the first). Either way the database is
//! read once per download and memory stays one page of rows plus a buffer.

use std::io::Write;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::methods;
use super::model::*;
use super::nacha::{self, NachaWriter};
use super::service::{amount, batch_row};
use crate::audit::{self, AuditEvent};
use crate::auth::RequestCtx;
use crate::db::schema::{payout_batches, payout_exports, payout_items, payout_methods, users};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::notifications::{self, templates::PayoutSent};
use crate::spool::{SpoolReader, SpoolWriter};
use crate::AppState;

const PAGE: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Nacha,
    PaypalCsv,
    PaypalJson,
    WiseCsv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nacha => "nacha",
            Self::PaypalCsv => "paypal_csv",
            Self::PaypalJson => "paypal_json",
            Self::WiseCsv => "wise_csv",
        }
    }
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

/// One payment to write.
#[derive(Debug, Clone)]
pub struct Row {
    pub item_id: i64,
    pub net_cents: i64,
    /// The contributor's name on the account (or their account name for email rails).
    pub name: String,
    pub destination: Destination,
}

fn csv_line(fields: &[&str]) -> String {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(fields);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn email_of(d: &Destination) -> &str {
    match d {
        Destination::Email { email } => email,
        Destination::Bank(_) => "",
    }
}

/// PayPal Payouts web upload: no header; recipient, amount, currency, customer id (our
/// item id), note, wallet.
pub fn paypal_csv_row(batch_id: i64, r: &Row) -> String {
    csv_line(&[
        email_of(&r.destination),
        &amount(r.net_cents),
        "USD",
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

pub fn paypal_json_head(batch_id: i64) -> String {
    let header = json!({
        "sender_batch_id": batch_id.to_string(),
        "recipient_type": "EMAIL",
        "email_subject": "You have a payout from Gatehouse",
        "email_message": "Your Gatehouse earnings are on their way.",
    });
    format!("{{\"sender_batch_header\":{header},\"items\":[")
}

pub fn paypal_json_item(first: bool, r: &Row) -> String {
    let item = json!({
        "recipient_type": "EMAIL",
        "amount": {"value": amount(r.net_cents), "currency": "USD"},
        "note": "Gatehouse payout",
        "sender_item_id": r.item_id.to_string(),
        "receiver": email_of(&r.destination),
    });
    format!("{}{item}", if first { "" } else { "," })
}

pub const PAYPAL_JSON_TAIL: &str = "]}";

pub const WISE_HEADER: &str =
    "name,recipientEmail,paymentReference,receiverType,amountCurrency,amount,sourceCurrency,targetCurrency,abartn,accountNumber,accountType\n";

/// Wise batch transfer row in USD: an email recipient or a US bank account.
pub fn wise_row(r: &Row) -> String {
    let reference = format!("GH{}", r.item_id);
    let net = amount(r.net_cents);
    match &r.destination {
        Destination::Email { email } => {
            csv_line(&[&r.name, email, &reference, "PRIVATE", "target", &net, "USD", "USD", "", "", ""])
        }
        Destination::Bank(b) => csv_line(&[
            &b.holder_name,
            "",
            &reference,
            "PRIVATE",
            "target",
            &net,
            "USD",
            "USD",
            &b.routing_number,
            &b.account_number,
            match b.account_type {
                BankAccountType::Checking => "CHECKING",
                BankAccountType::Savings => "SAVINGS",
            },
        ]),
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

/// The rail's item count: its largest position (positions are 1..n, by index).
fn count_items(conn: &mut DbConn, batch_id: i64, rail: Rail) -> AppResult<i64> {
    let last: Option<i64> = payout_items::table
        .filter(payout_items::batch_id.eq(batch_id))
        .filter(payout_items::rail.eq(rail.as_str()))
        .select(diesel::dsl::max(payout_items::rail_position))
        .first(conn)?;
    Ok(last.unwrap_or(0))
}

/// Items of the rail in position order after position `after`, with what a file needs,
/// decrypted; and the last position read.
fn page(
    st: &AppState,
    conn: &mut DbConn,
    batch_id: i64,
    rail: Rail,
    after: i64,
    limit: i64,
) -> AppResult<(Vec<Row>, Option<i64>)> {
    let items = payout_items::table
        .inner_join(payout_methods::table)
        .filter(payout_items::batch_id.eq(batch_id))
        .filter(payout_items::rail.eq(rail.as_str()))
        .filter(payout_items::rail_position.gt(after))
        .order(payout_items::rail_position.asc())
        .limit(limit);
    let rows: Vec<(i64, i64, i64, MethodRow, String)> = if rail == Rail::Wise {
        // Only Wise files carry the contributor's name (email recipients have no
        // account holder): the other rails skip the join to `users`.
        items
            .inner_join(users::table.on(users::id.eq(payout_items::contributor_id)))
            .select((
                payout_items::rail_position,
                payout_items::id,
                payout_items::net_cents,
                MethodRow::as_select(),
                users::full_name,
            ))
            .load(conn)?
    } else {
        items
            .select((
                payout_items::rail_position,
                payout_items::id,
                payout_items::net_cents,
                MethodRow::as_select(),
                diesel::dsl::sql::<diesel::sql_types::Text>("''"),
            ))
            .load(conn)?
    };
    let last = rows.last().map(|r| r.0);
    let rows = rows
        .into_iter()
        .map(|(_, item_id, net_cents, m, name)| {
            Ok(Row { item_id, net_cents, name, destination: methods::destination(st, &m)? })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok((rows, last))
}

/// Calls `f` for each row of the range (`limit` items from position `offset + 1`),
/// `PAGE` rows per query: one page of rows in memory at a time. A part starts by
/// index at its first position, whatever the parts before it hold.
fn for_rows(
    st: &AppState,
    conn: &mut DbConn,
    batch_id: i64,
    rail: Rail,
    (offset, limit): (i64, i64),
    mut f: impl FnMut(&Row) -> std::io::Result<()>,
) -> AppResult<i64> {
    let mut after = offset;
    let mut left = limit;
    let mut written = 0;
    while left > 0 {
        let (rows, last) = page(st, conn, batch_id, rail, after, PAGE.min(left))?;
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
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub batch_id: i64,
    pub format: Format,
    pub part: i64,
    pub parts: i64,
    range: (i64, i64),
    approved_at: NaiveDateTime,
}

impl Plan {
    pub fn filename(&self) -> String {
        let suffix = if self.parts > 1 { format!("-part-{}", self.part) } else { String::new() };
        format!("payout-batch-{}-{}{suffix}.{}", self.batch_id, self.format.as_str(), self.format.extension())
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
            "batch_not_approved",
            format!("only an approved batch is exported; this one is {}", batch.status),
        ));
    };
    let rail = format.rail();
    let total = count_items(conn, batch_id, rail)?;
    if total == 0 {
        return Err(AppError::conflict("nothing_to_export", format!("the batch has no {} items", rail.as_str())));
    }
    let max = if format == Format::PaypalCsv { st.config.payouts.paypal_csv_max_rows } else { total };
    let range = part_range(total, part, max).ok_or(AppError::NotFound)?;
    Ok(Plan { batch_id, format, part, parts: part_count(total, max), range, approved_at })
}

/// Writes the file row by row into `out`; returns the number of items written.
pub fn generate(st: &AppState, conn: &mut DbConn, plan: &Plan, out: &mut dyn Write) -> AppResult<i64> {
    let (batch_id, rail, range) = (plan.batch_id, plan.format.rail(), plan.range);
    match plan.format {
        Format::PaypalCsv => {
            for_rows(st, conn, batch_id, rail, range, |r| out.write_all(paypal_csv_row(batch_id, r).as_bytes()))
        }
        Format::PaypalJson => {
            out.write_all(paypal_json_head(batch_id).as_bytes()).map_err(write_error)?;
            let mut first = true;
            let n = for_rows(st, conn, batch_id, rail, range, |r| {
                let item = paypal_json_item(first, r);
                first = false;
                out.write_all(item.as_bytes())
            })?;
            out.write_all(PAYPAL_JSON_TAIL.as_bytes()).map_err(write_error)?;
            Ok(n)
        }
        Format::WiseCsv => {
            out.write_all(WISE_HEADER.as_bytes()).map_err(write_error)?;
            for_rows(st, conn, batch_id, rail, range, |r| out.write_all(wise_row(r).as_bytes()))
        }
        Format::Nacha => {
            // The approval time dates the file, so a re-export is byte-identical.
            let o = &st.config.payouts.nacha;
            let approved_at = plan.approved_at;
            let (mut w, head) = NachaWriter::start(o, approved_at, nacha::next_business_day(approved_at.date()), 1);
            out.write_all(head.as_bytes()).map_err(write_error)?;
            let n = for_rows(st, conn, batch_id, rail, range, |r| out.write_all(nacha_entry(&mut w, r).as_bytes()))?;
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
    record(st, ctx, finance_id, batch_id, format, part, &sha256, bytes, items)?;
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
        .filter(payout_exports::format.eq(format.as_str()))
        .filter(payout_exports::part.eq(part as i32))
        .select((payout_exports::sha256, payout_exports::byte_count, payout_exports::item_count))
        .first(conn)
        .optional()?)
}

#[allow(clippy::too_many_arguments)]
fn record(
    st: &AppState,
    ctx: &RequestCtx,
    finance_id: i64,
    batch_id: i64,
    format: Format,
    part: i64,
    sha256: &str,
    bytes: i64,
    items: i64,
) -> AppResult<()> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let previous: Option<String> = payout_exports::table
            .filter(payout_exports::batch_id.eq(batch_id))
            .filter(payout_exports::format.eq(format.as_str()))
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
                        format: format.as_str(),
                        part: part as i32,
                        sha256,
                        byte_count: bytes,
                        item_count: items,
                        exported_by: finance_id,
                        exported_at: now,
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
                action: "payout_batch.export_downloaded",
                subject_type: "payout_batch",
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
                    action: "payout_batch.exported",
                    subject_type: "payout_batch",
                    subject_id: Some(batch_id.to_string()),
                    summary: json!({"before": {"status": "approved"}, "after": {"status": "exported"}}),
                },
            )?;
            email_sent(conn, now, batch_id)?;
        }
        Ok(())
    })
}

/// "Your payout is on its way", once per item, when the batch is first exported:
/// rendered a page of items at a time and queued with one multi-row insert per page.
fn email_sent(conn: &mut DbConn, now: NaiveDateTime, batch_id: i64) -> AppResult<()> {
    let mut after = 0;
    loop {
        let rows: Vec<(ItemRow, String, String, String)> = payout_items::table
            .inner_join(payout_methods::table)
            .inner_join(users::table)
            .filter(payout_items::batch_id.eq(batch_id))
            .filter(payout_items::id.gt(after))
            .order(payout_items::id.asc())
            .limit(PAGE)
            .select((ItemRow::as_select(), payout_methods::masked, users::email, users::full_name))
            .load(conn)?;
        let Some(last) = rows.last().map(|r| r.0.id) else { return Ok(()) };
        let emails = rows
            .into_iter()
            .map(|(item, masked, email, full_name)| {
                let key = format!("payout_sent:{}", item.id);
                let body = PayoutSent {
                    full_name,
                    item_id: item.id,
                    gross: amount(item.gross_cents),
                    withheld: amount(item.withheld_cents),
                    net: amount(item.net_cents),
                    destination: masked,
                };
                notifications::render(email, key, &body)
            })
            .collect::<AppResult<Vec<_>>>()?;
        notifications::enqueue_many(conn, now, &emails)?;
        after = last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paypal(item_id: i64) -> Row {
        Row {
            item_id,
            net_cents: 1_000 + item_id,
            name: "Ana".into(),
            destination: Destination::Email { email: format!("p{item_id}@example.com") },
        }
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
        let mut s = paypal_json_head(42);
        s.push_str(&paypal_json_item(true, &paypal(1)));
        s.push_str(&paypal_json_item(false, &paypal(2)));
        s.push_str(PAYPAL_JSON_TAIL);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["sender_batch_header"]["sender_batch_id"], "42");
        assert_eq!(v["items"][1]["sender_item_id"], "2");
        assert_eq!(v["items"][1]["amount"]["value"], "10.02");
        assert_eq!(v["items"][0]["receiver"], "p1@example.com");
    }

    #[test]
    fn wise_rows_quote_and_fill_bank_columns() {
        let r = Row {
            item_id: 5,
            net_cents: 2_550,
            name: "Dee, Jr".into(),
            destination: Destination::Bank(BankAccount {
                holder_name: "Dee, Jr".into(),
                routing_number: "021000021".into(),
                account_number: "123456789".into(),
                account_type: BankAccountType::Savings,
            }),
        };
        assert_eq!(wise_row(&r), "\"Dee, Jr\",,GH5,PRIVATE,target,25.50,USD,USD,021000021,123456789,SAVINGS\n");
        assert_eq!(WISE_HEADER.split(',').count(), 11);
    }
}
