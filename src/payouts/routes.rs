//! HTTP handlers for payouts: the contributor's methods and payouts; finance's batches,
//! exports, settlement and late payments.

use crate::db::page::PageQuery;
use std::io::Write;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::exports::{self, Format};
use super::methods::{self, MethodInput, MethodView};
use super::model::{BankAccountType, BatchRow, BatchStatus, Rail};
use super::releases::{self, Release};
use super::service::{
    self, BatchView, BuildRequest, Candidate, ChangeNoticeLine, ChangeNoticeReport, LatePayout, MyPayout,
    SettlementLine, SettlementReport,
};
use super::unclaimed::UnclaimedLine;
use crate::auth::{Applicant, Finance, Staff};
use crate::error::{AppError, AppResult, Problem, ProblemCode};
use crate::idempotency::IdempotencyKey;
use crate::{blocking, AppState};

/// A payout method. PayPal: `email`. Wise: `email`, or the bank fields. ACH: the bank
/// fields. Bank numbers are encrypted at rest and never shown again in full.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodRequest {
    pub rail: Rail,
    #[schema(pattern = "formula_safe")]
    pub email: Option<String>,
    #[schema(pattern = "formula_safe")]
    pub holder_name: Option<String>,
    /// Nine-digit ABA routing number (check digit verified). Read as any JSON value so
    /// a number sent by mistake is refused by our validation, never echoed by serde.
    #[schema(value_type = Option<String>)]
    pub routing_number: Option<serde_json::Value>,
    /// 4 to 17 digits.
    #[schema(value_type = Option<String>)]
    pub account_number: Option<serde_json::Value>,
    pub account_type: Option<BankAccountType>,
}

/// A string as sent, a number as its digits; anything else fails validation later.
fn digits_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Add a payout method; it replaces the current one. A change waits out the change
/// hold before payouts use it and is announced to the account's email address.
#[utoipa::path(
    tag = "payouts",
    request_body = MethodRequest,
    responses(
        (status = 201, body = MethodView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "invalid fields, e.g. `aba_check_digit` on routing_number")
    ),
    security(("bearer" = []))
)]
#[post("/me/payout-methods")]
pub async fn add_method(
    state: web::Data<AppState>,
    me: Applicant,
    body: web::Json<MethodRequest>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let input = MethodInput {
        rail: b.rail,
        email: b.email,
        holder_name: b.holder_name,
        routing_number: b.routing_number.map(digits_text),
        account_number: b.account_number.map(digits_text),
        account_type: b.account_type,
    };
    let view = blocking(move || methods::add_method(&state, &me.ctx, me.id, input)).await?;
    Ok(HttpResponse::Created().json(view))
}

crate::db::page::page_of!(
    /// My payout methods, newest first; the first is the current method unless it was
    /// replaced.
    MethodList,
    MethodView
);

/// My payout methods, masked.
#[utoipa::path(
    tag = "payouts",
    params(PageQuery),
    responses((status = 200, body = MethodList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/payout-methods")]
pub async fn list_methods(
    state: web::Data<AppState>,
    me: Applicant,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: before, limit } = query.into_inner();
    let rows = blocking(move || methods::list_methods(&state, me.id, before, limit)).await?;
    Ok(HttpResponse::Ok().json(MethodList::of(rows, limit, |m| m.id, |m| m)))
}

crate::db::page::page_of!(MyPayouts, MyPayout);

/// My payouts, newest first: status, rail, masked destination, amounts, rail reference.
#[utoipa::path(
    tag = "payouts",
    params(PageQuery),
    responses((status = 200, body = MyPayouts), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/payouts")]
pub async fn my_payouts(
    state: web::Data<AppState>,
    me: Applicant,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: before, limit } = query.into_inner();
    let items = blocking(move || service::my_payouts(&state, me.id, before, limit)).await?;
    let next_cursor =
        (items.len() as i64 == crate::db::page_limit(limit)).then(|| items.last().map(|i| i.item_id)).flatten();
    Ok(HttpResponse::Ok().json(MyPayouts { items, has_more: next_cursor.is_some(), next_cursor }))
}

/// Build a draft batch (finance): every eligible contributor's available balance,
/// reserved in one transaction. `Idempotency-Key` is required: the same key and body
/// answer with the same batch (200); the same key with another body is 422.
#[utoipa::path(
    tag = "payouts",
    request_body = BuildRequest,
    params(("Idempotency-Key" = String, Header, description = "unique per intended batch, 1 to 200 characters")),
    responses(
        (status = 201, body = BatchView, description = "built"),
        (status = 200, body = BatchView, description = "the batch this key already built"),
        (status = 400, body = Problem, description = "`idempotency_key_required`"), (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 409, body = Problem, description = "`nothing_to_pay`, with `skipped` contributors and reasons"),
        (status = 422, body = Problem, description = "`idempotency_key_reused` with another body")
    ),
    security(("bearer" = []))
)]
#[post("/payout-batches")]
pub async fn build_batch(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    key: IdempotencyKey,
    body: crate::wire::Body,
) -> AppResult<HttpResponse> {
    let key = key.0;
    let body: BuildRequest = if body.iter().all(u8::is_ascii_whitespace) {
        BuildRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| crate::error::json_body_error(&e))?
    };
    let (view, created) = blocking(move || service::build_batch(&state, &finance.ctx, finance.id, &key, &body)).await?;
    Ok(if created { HttpResponse::Created().json(view) } else { HttpResponse::Ok().json(view) })
}

#[derive(Serialize, ToSchema)]
pub struct Preview {
    pub minimum_cents: i64,
    /// Would be paid by a batch built now.
    pub eligible: Vec<Candidate>,
    /// Have money available but would be left out, with the reasons.
    pub ineligible: Vec<Candidate>,
}

/// Who a batch built now would pay, and who not and why (finance).
#[utoipa::path(
    tag = "payouts",
    responses((status = 200, body = Preview), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/payout-batches/preview")]
pub async fn preview(state: web::Data<AppState>, _finance: Staff<Finance>) -> AppResult<HttpResponse> {
    let (minimum_cents, all) = blocking(move || service::preview(&state)).await?;
    let (eligible, ineligible) = all.into_iter().partition(|c| c.reasons.is_empty());
    Ok(HttpResponse::Ok().json(Preview { minimum_cents, eligible, ineligible }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchListQuery {
    pub status: Option<BatchStatus>,
    /// Batches created at or after this instant (RFC 3339).
    pub created_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Batches created before this instant (RFC 3339).
    pub created_to: Option<chrono::DateTime<chrono::Utc>>,
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

crate::db::page::page_of!(BatchPage, BatchRow);

/// Payout batches, newest first, by status and creation time (finance).
#[utoipa::path(
    tag = "payouts",
    params(BatchListQuery),
    responses((status = 200, body = BatchPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/payout-batches")]
pub async fn list_batches(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    query: web::Query<BatchListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let filter = service::BatchFilter {
        status: q.status,
        from: q.created_from.map(|t| t.naive_utc()),
        to: q.created_to.map(|t| t.naive_utc()),
        before: q.cursor,
        limit: q.limit,
    };
    let items = state.db.read(move |conn| service::list_batches(conn, &filter)).await?;
    let next_cursor = crate::db::next_cursor(&items, q.limit, |b| b.id);
    Ok(HttpResponse::Ok().json(BatchPage { items, has_more: next_cursor.is_some(), next_cursor }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ItemsQuery {
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A batch with its totals per rail, a page of items and its exports (finance).
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "batch id"), ItemsQuery),
    responses(
        (status = 200, body = BatchView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/payout-batches/{id}")]
pub async fn get_batch(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    path: web::Path<i64>,
    query: web::Query<ItemsQuery>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let ItemsQuery { cursor: after, limit } = query.into_inner();
    Ok(HttpResponse::Ok().json(blocking(move || service::get_batch(&state, id, after, limit)).await?))
}

/// Approve a draft: a finance user other than its builder (maker-checker).
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "batch id")),
    responses(
        (status = 200, body = BatchView),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "the builder cannot approve"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "`batch_not_draft`")
    ),
    security(("bearer" = []))
)]
#[post("/payout-batches/{id}/approve")]
pub async fn approve_batch(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(blocking(move || service::approve_batch(&state, &finance.ctx, finance.id, id)).await?))
}

/// Cancel a draft: its reservations go back to the contributors' available balances.
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "batch id")),
    responses(
        (status = 200, body = BatchView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`batch_not_draft`")
    ),
    security(("bearer" = []))
)]
#[post("/payout-batches/{id}/cancel")]
pub async fn cancel_batch(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(blocking(move || service::cancel_batch(&state, &finance.ctx, finance.id, id)).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    pub format: Format,
    /// The file number, 1 by default (see `X-Export-Parts`): PayPal CSV files of 5,000
    /// rows, PayPal API requests of 15,000 items, Wise files of 1,000 transfers (email
    /// recipients' parts first, then bank accounts'; `X-Export-Template` names it).
    pub part: Option<i64>,
}

/// Download an export of an approved batch. The first export moves the batch to
/// `exported` and emails each contributor; every file's SHA-256 is recorded and a
/// re-export is byte-identical. Headers: `X-Export-Parts`, `X-Export-Part`,
/// `X-Content-SHA256`, and for Wise `X-Export-Template` (`email` or `bank_account`).
/// PayPal API requests carry the batch's `sender_batch_id` followed by `-{part}`.
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "batch id"), ExportQuery),
    responses(
        (status = 200, description = "the file", content_type = "text/plain"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such batch or part"),
        (status = 409, body = Problem, description = "`batch_not_approved` or `nothing_to_export`")
    ),
    security(("bearer" = []))
)]
#[get("/payout-batches/{id}/export")]
pub async fn export(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    path: web::Path<i64>,
    query: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let ExportQuery { format, part } = query.into_inner();
    let st = state.clone();
    let prepared =
        blocking(move || exports::prepare(&st, &finance.ctx, finance.id, id, format, part.unwrap_or(1))).await?;
    stream_export(state, prepared).await
}

/// Streams an export prepared by [`exports::prepare`], 64 KiB at a time through a
/// small channel, so memory stays constant whatever the batch size: from its spool at
/// the first export, generated again (and hashed as it goes) at a re-export. If the
/// stream fails, or a re-export differs from the hash sent in `X-Content-SHA256`, the
/// response is aborted (no final chunk), so a client never takes a truncated or
/// different file for a complete one. Nothing is answered before the first bytes exist:
/// a failure before them (a lost database, a key that cannot decrypt the bank details)
/// is a problem response, never a 200 with an empty body. The console's download uses
/// it too.
pub async fn stream_export(state: web::Data<AppState>, prepared: exports::Prepared) -> AppResult<HttpResponse> {
    let exports::Prepared { plan, sha256, body } = prepared;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, ExportFailure>>(4);
    let expected = sha256.clone();
    let head = plan.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let failure = match body {
            exports::Body::Spooled(mut spool) => loop {
                match spool.next_chunk() {
                    Ok(Some(chunk)) if chunk.is_empty() => continue,
                    Ok(Some(chunk)) => {
                        if tx.blocking_send(Ok(web::Bytes::from(chunk))).is_err() {
                            return; // the client went away
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        tracing::error!(batch_id = plan.batch_id, error = %e, "export spool unreadable");
                        break AppError::Internal(anyhow::anyhow!("the export could not be read back: {e}"));
                    }
                }
            },
            exports::Body::Regenerate => {
                let mut sink = StreamSink { tx: tx.clone(), hash: exports::HashingSink::default() };
                let result = state.db.read_sync(|conn| {
                    let mut out = std::io::BufWriter::with_capacity(64 * 1024, &mut sink);
                    if let Err(e) = exports::generate(&state, conn, &plan, &mut out) {
                        // Dropping a BufWriter flushes it: what is buffered of a failed
                        // export is thrown away instead, so a failure this early is a
                        // problem response, not the start of a file.
                        drop(out.into_parts());
                        return Err(e);
                    }
                    out.flush().map_err(|e| AppError::Internal(e.into()))
                });
                match result {
                    Err(e) => {
                        tracing::warn!(batch_id = plan.batch_id, error = %e, "export stream stopped");
                        e
                    }
                    Ok(()) if sink.hash.hex() != expected => {
                        tracing::error!(batch_id = plan.batch_id, "streamed export differs from its recorded hash");
                        AppError::Internal(anyhow::anyhow!("the export differs from its recorded hash"))
                    }
                    Ok(()) => return,
                }
            }
        };
        // The client may be gone already; then there is nobody to tell.
        let _ = tx.blocking_send(Err(ExportFailure(failure)));
    });
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(ExportFailure(e))) => return Err(e),
        None => return Err(AppError::Internal(anyhow::anyhow!("the export produced no bytes"))),
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| {
            (chunk.map_err(|ExportFailure(e)| actix_web::Error::from(std::io::Error::other(e.to_string()))), rx)
        })
    });
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, head.format.content_type()))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", head.filename())))
        .insert_header(("X-Export-Parts", head.parts.to_string()))
        .insert_header(("X-Export-Part", head.part.to_string()))
        .insert_header(("X-Content-SHA256", sha256));
    if let Some(template) = head.wise_template {
        response.insert_header(("X-Export-Template", template.as_str()));
    }
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(std::future::ready(Ok::<_, actix_web::Error>(first))),
        rest,
    );
    Ok(response.streaming(body))
}

/// Why an export stream stopped (carried through the channel to the response).
struct ExportFailure(AppError);

/// Sends written bytes to the response stream (and hashes them, to check the stream
/// against the recorded hash). A closed channel means the client went away.
struct StreamSink {
    tx: tokio::sync::mpsc::Sender<Result<web::Bytes, ExportFailure>>,
    hash: exports::HashingSink,
}

impl std::io::Write for StreamSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.hash.write_all(buf)?;
        self.tx
            .blocking_send(Ok(web::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettlementRequest {
    #[schema(min_items = 1)]
    pub items: Vec<SettlementLine>,
}

/// The columns of a settlement CSV: `item_id` and `status` are required, the others
/// optional, in any order; an unknown column is refused.
const SETTLEMENT_COLUMNS: [&str; 6] = ["item_id", "status", "rail_reference", "reason", "return_code", "paid_on"];

/// Settlement lines from a CSV file with the header `item_id,status,rail_reference,reason`
/// and optionally `return_code` (the NACHA code of an ACH return).
pub fn parse_csv(body: &[u8]) -> AppResult<Vec<SettlementLine>> {
    // No text field accepts U+0000 (crate::wire, "No NUL in text").
    if body.contains(&0) {
        return Err(AppError::field("body", "nul_character", "the CSV holds the NUL character (U+0000)"));
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(body);
    let headers =
        reader.headers().map_err(|e| AppError::invalid(ProblemCode::MalformedCsv, format!("the CSV header: {e}")))?;
    // `return_reason_code` and `reason_code` name the same column as `return_code`.
    let columns: Vec<String> = headers
        .iter()
        .map(|c| match c {
            "return_reason_code" | "reason_code" => "return_code",
            "payment_date" => "paid_on",
            c => c,
        })
        .map(str::to_string)
        .collect();
    let bad_header = || {
        AppError::invalid(
            ProblemCode::MalformedCsv,
            "the header is item_id,status,rail_reference,reason with optional return_code and paid_on columns",
        )
    };
    let mut seen = std::collections::BTreeSet::new();
    if columns.iter().any(|c| !SETTLEMENT_COLUMNS.contains(&c.as_str()) || !seen.insert(c.as_str())) {
        return Err(bad_header());
    }
    let at = |name: &str| columns.iter().position(|c| c == name);
    let (Some(id_at), Some(status_at)) = (at("item_id"), at("status")) else {
        return Err(bad_header());
    };
    let (reference_at, reason_at, code_at, paid_at) =
        (at("rail_reference"), at("reason"), at("return_code"), at("paid_on"));
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let r = record.map_err(|e| AppError::invalid(ProblemCode::MalformedCsv, format!("line {}: {e}", n + 2)))?;
        let item_id = r.get(id_at).and_then(|v| v.parse().ok()).ok_or_else(|| {
            AppError::invalid(ProblemCode::MalformedCsv, format!("line {}: item_id is a number", n + 2))
        })?;
        let text = |i: Option<usize>| i.and_then(|i| r.get(i)).map(str::to_string).filter(|s: &String| !s.is_empty());
        out.push(SettlementLine {
            item_id,
            status: r.get(status_at).unwrap_or_default().to_string(),
            rail_reference: text(reference_at),
            reason: text(reason_at),
            return_code: text(code_at),
            paid_on: text(paid_at),
        });
    }
    Ok(out)
}

/// Import settlement results: JSON `{"items": [...]}` or CSV
/// (`item_id,status,rail_reference,reason[,return_code]`) by Content-Type. Idempotent
/// per item. An ACH return carries its NACHA code (R01…), which decides whether the
/// method needs an update; a return after the item was paid is booked as a reversal.
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "batch id")),
    request_body(content = SettlementRequest, description = "or text/csv with the header item_id,status,rail_reference,reason and optional return_code and paid_on columns"),
    responses(
        (status = 200, body = SettlementReport),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "`batch_not_exported`"),
        (status = 413, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/payout-batches/{id}/settlement")]
pub async fn settlement(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    path: web::Path<i64>,
    req: HttpRequest,
    body: crate::wire::Body,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let lines = if content_type.starts_with("text/csv") {
        parse_csv(&body)?
    } else if content_type.starts_with("application/json") {
        serde_json::from_slice::<SettlementRequest>(&body).map_err(|e| crate::error::json_body_error(&e))?.items
    } else {
        return Err(AppError::invalid(ProblemCode::UnsupportedMediaType, "send application/json or text/csv"));
    };
    let report = blocking(move || service::settle(&state, &finance.ctx, finance.id, id, lines)).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeNoticeRequest {
    #[schema(min_items = 1)]
    pub items: Vec<ChangeNoticeLine>,
}

/// Apply ACH notifications of change (NOC, NACHA Appendix Five) received for a batch's
/// items: the corrected account replaces the method at once, without a new change hold,
/// and the contributor is told by email (finance).
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "batch id")),
    request_body = ChangeNoticeRequest,
    responses(
        (status = 200, body = ChangeNoticeReport),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "`batch_not_exported`"),
        (status = 413, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/payout-batches/{id}/notifications-of-change")]
pub async fn change_notices(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    path: web::Path<i64>,
    body: web::Json<ChangeNoticeRequest>,
) -> AppResult<HttpResponse> {
    let (id, lines) = (path.into_inner(), body.into_inner().items);
    let report = blocking(move || service::apply_change_notices(&state, &finance.ctx, finance.id, id, lines)).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Serialize, ToSchema)]
pub struct LateList {
    pub payment_promise_days: i64,
    /// By contributor id.
    pub items: Vec<LatePayout>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Send it back as `cursor` for the next page; null on the last one.
    #[serde(serialize_with = "crate::db::page::next")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<i64>,
}

/// Approved earnings past the payment promise and not paid, per contributor (finance).
#[utoipa::path(
    tag = "payouts",
    params(PageQuery),
    responses((status = 200, body = LateList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/payouts/late")]
pub async fn late(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let (payment_promise_days, items) = blocking(move || {
        let items = service::late_payouts(&state, after, crate::db::page_limit(limit))?;
        Ok((state.settings()?.payment_promise().num_days(), items))
    })
    .await?;
    let next_cursor = crate::db::next_cursor(&items, limit, |l| l.contributor_id);
    Ok(HttpResponse::Ok().json(LateList { payment_promise_days, items, has_more: next_cursor.is_some(), next_cursor }))
}

#[derive(Serialize, ToSchema)]
pub struct UnclaimedList {
    /// The dormancy period applied (`GATEHOUSE_UNCLAIMED_DORMANCY_DAYS`).
    pub dormancy_days: i64,
    /// By contributor id; each line says when it becomes reportable.
    pub items: Vec<UnclaimedLine>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Send it back as `cursor` for the next page; null on the last one.
    #[serde(serialize_with = "crate::db::page::next")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<i64>,
}

/// Unclaimed property: money available to contributors that no payout is delivering
/// (payments failing, no method, a removed account, below the minimum), with the dates
/// of the owner notice and of the report to the owner's state (finance).
#[utoipa::path(
    tag = "payouts",
    params(PageQuery),
    responses((status = 200, body = UnclaimedList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/payouts/unclaimed")]
pub async fn unclaimed(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let dormancy_days = state.config.payouts.unclaimed_dormancy.num_days();
    let items = blocking(move || super::unclaimed::unclaimed(&state, after, crate::db::page_limit(limit))).await?;
    let next_cursor = crate::db::next_cursor(&items, limit, |l| l.contributor_id);
    Ok(HttpResponse::Ok().json(UnclaimedList { dormancy_days, items, has_more: next_cursor.is_some(), next_cursor }))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Why the earned money is released (kept on the decision the contributor sees).
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

/// Request the release of a removed contributor's earned money (finance, first
/// signature). A different finance user approves it.
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "contributor (user) id")),
    request_body = ReleaseRequest,
    responses(
        (status = 201, body = Release),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not_removed or release_exists"), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/contributors/{id}/payout-release")]
pub async fn request_release(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    id: web::Path<i64>,
    body: web::Json<ReleaseRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = id.into_inner();
    let release = blocking(move || releases::request(&state, &finance.ctx, finance.id, id, &body.note)).await?;
    Ok(HttpResponse::Created().json(release))
}

/// Approve the release (finance, second signature, not the requester): the removed
/// contributor's earned money is paid with the next batch, below the minimum too.
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "contributor (user) id")),
    responses(
        (status = 200, body = Release),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "the requester cannot approve"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "already_approved")
    ),
    security(("bearer" = []))
)]
#[post("/contributors/{id}/payout-release/approve")]
pub async fn approve_release(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let release = blocking(move || releases::approve(&state, &finance.ctx, finance.id, id)).await?;
    Ok(HttpResponse::Ok().json(release))
}

/// The release of a removed contributor's earned money, if one was requested.
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "contributor (user) id")),
    responses(
        (status = 200, body = Release),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/contributors/{id}/payout-release")]
pub async fn get_release(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(blocking(move || releases::get(&state, id)).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TraceQuery {
    /// The task reference of a work record.
    pub task_ref: String,
}

/// Follow a task to the payout item, batch, export file and settlement that paid it
/// (finance). A task paid in part by two items has two portions; items that failed or
/// were returned before are listed in `reopened_by`.
#[utoipa::path(
    tag = "payouts",
    params(TraceQuery),
    responses(
        (status = 200, body = super::trace::TaskTrace),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/payouts/trace")]
pub async fn trace_task(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    query: web::Query<TraceQuery>,
) -> AppResult<HttpResponse> {
    let task_ref = query.into_inner().task_ref;
    let trace = blocking(move || super::trace::trace_task(&state, &task_ref)).await?;
    Ok(HttpResponse::Ok().json(trace))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CursorQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Page size, 50 by default, at most 200.
    pub limit: Option<i64>,
}

/// The tasks (and stipends, bonuses, adjustments) a payout item pays, oldest first,
/// through the refunds of earlier items that failed (finance).
#[utoipa::path(
    tag = "payouts",
    params(("id" = i64, Path, description = "payout item id"), CursorQuery),
    responses(
        (status = 200, body = super::trace::ItemTasks),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/payout-items/{id}/tasks")]
pub async fn item_tasks(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    path: web::Path<i64>,
    query: web::Query<CursorQuery>,
) -> AppResult<HttpResponse> {
    let (id, CursorQuery { cursor, limit }) = (path.into_inner(), query.into_inner());
    let page = blocking(move || super::trace::item_tasks(&state, id, cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(page))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // `preview` before `{id}` so the literal path wins.
    cfg.service(add_method)
        .service(list_methods)
        .service(my_payouts)
        .service(build_batch)
        .service(list_batches)
        .service(preview)
        .service(get_batch)
        .service(approve_batch)
        .service(cancel_batch)
        .service(export)
        .service(settlement)
        .service(trace_task)
        .service(item_tasks)
        .service(change_notices)
        .service(unclaimed)
        .service(late)
        .service(request_release)
        .service(approve_release)
        .service(get_release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settlement_csv_columns_by_name() {
        let lines = parse_csv(b"item_id,status,rail_reference,reason\n7,returned,T-1,account closed\n").unwrap();
        assert_eq!(
            (lines[0].item_id, lines[0].reason.as_deref(), lines[0].return_code.as_deref()),
            (7, Some("account closed"), None)
        );
        let lines = parse_csv(b"status,item_id,return_code\nreturned,8,R02\n").unwrap();
        assert_eq!((lines[0].item_id, lines[0].return_code.as_deref()), (8, Some("R02")));
        let lines = parse_csv(b"item_id,status,reason_code\n9,returned,R03\n").unwrap();
        assert_eq!(lines[0].return_code.as_deref(), Some("R03"));
        assert!(parse_csv(b"item_id,status,payment_day\n1,paid,x\n").is_err(), "an unknown column");
        assert!(parse_csv(b"item_id,status,reason,reason\n1,paid,a,b\n").is_err(), "a repeated column");
        assert!(parse_csv(b"item_id,rail_reference\n1,x\n").is_err(), "no status");
        assert!(parse_csv(b"item_id,status\nabc,paid\n").is_err(), "item_id is a number");
    }
}
