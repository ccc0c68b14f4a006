//! What every console list shares: the query string (`q` search, `sort`/`dir`, filters,
//! `cursor`), sortable column headers, links that keep the filters, and the streamed CSV
//! download of what the filters select.
//!
//! Sorting is a whitelist: each list names its sortable columns ([`SortKey`]) and maps
//! the chosen one to a column in code; a `sort` the list does not know falls back to its
//! default, so no text from the query string ever reaches SQL except as a bound value.
//! Pages are keyset-paginated: the cursor is the last row's id, encoded by `db::page`;
//! the next page starts after that row in the chosen order (its sort value is read back
//! by id), so rows inserted meanwhile neither repeat nor vanish.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use crate::error::{AppError, AppResult};

/// Rows per console page.
pub const PAGE: i64 = 50;
/// Rows per database read while a CSV streams.
const CSV_CHUNK: i64 = 500;

/// The query string of every list; each list uses the fields that apply to it.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct ListQuery {
    /// Search text: name, email, id, task reference (per list).
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    /// `asc` or `desc`; anything else is the list's default direction.
    #[serde(default)]
    pub dir: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub rail: String,
    /// Staff: a role.
    #[serde(default)]
    pub role: String,
    /// First day included (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub from: String,
    /// Last day included (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub to: String,
    /// Review queues: `all`, `unclaimed`, `mine`.
    #[serde(default)]
    pub show: String,
    /// Credentials: a kind ([`crate::credentials::model::CredentialKind`]) and `flagged`
    /// (`true` or `false`); empty is "any".
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub flagged: String,
    #[serde(default)]
    pub cursor: String,
    /// `csv` downloads what the filters select instead of showing a page ([`ListFormat`]).
    #[serde(default)]
    pub format: String,
    pub notice: Option<String>,
}

/// A sortable column of a list: the `sort` value and its header label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub key: &'static str,
    pub label: &'static str,
}

/// The chosen order: one of the list's keys and a direction.
#[derive(Clone, Copy, Debug)]
pub struct Order {
    pub key: &'static str,
    pub desc: bool,
}

/// What a list page shows around its rows: the query (the filters its form keeps), the
/// sortable column headers, and the links to the first page, the next one and the CSV.
pub struct ListNav {
    pub q: ListQuery,
    pub headers: Vec<Header>,
    pub next: Option<String>,
    pub first: Option<String>,
    pub csv: String,
}

/// A column header: a link that sorts by it (or flips the direction when it is the
/// current column), with `aria-sort` on the current one.
pub struct Header {
    pub label: &'static str,
    pub href: String,
    /// `ascending`, `descending` or `none`.
    pub aria_sort: &'static str,
    pub arrow: &'static str,
}

/// What a list answers: its page, or (`format=csv`) every row the filters select.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Page,
    Csv,
}

impl ListFormat {
    /// The `format` of a list's query string: empty is the page, `csv` the download, and
    /// anything else is refused like any other filter ([`filter_choice`]).
    pub fn of(value: &str) -> AppResult<Self> {
        Ok(filter_choice("format", value, |v| (v == "csv").then_some(Self::Csv))?.unwrap_or(Self::Page))
    }
}

/// The `flagged` filter: `true` or `false`; empty is "any", anything else refused.
pub fn flagged_filter(value: &str) -> AppResult<Option<bool>> {
    filter_choice("flagged", value, |v| match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    })
}

impl ListQuery {
    /// Whether the CSV download is asked for; an unknown `format` is a 422.
    pub fn csv(&self) -> AppResult<bool> {
        Ok(ListFormat::of(&self.format)? == ListFormat::Csv)
    }

    /// The link of the CSV download of this list (every filter and the order kept).
    pub fn csv_href(&self, base: &str) -> String {
        self.href(base, &[("format", "csv")])
    }

    pub fn search(&self) -> Option<String> {
        Some(self.q.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// The search as a whole number, when it is one (an id).
    pub fn search_id(&self) -> Option<i64> {
        self.search().and_then(|s| s.trim_start_matches('#').parse().ok())
    }

    /// The order from `sort`/`dir`, among `keys` (the first is the default when `sort`
    /// is empty); a key or a direction outside them is refused like any other filter
    /// ([`filter_choice`]), never read as the default.
    pub fn order(&self, keys: &[SortKey], default_desc: bool) -> AppResult<Order> {
        let key = filter_choice("sort", &self.sort, |v| keys.iter().find(|k| k.key == v).map(|k| k.key))?
            .unwrap_or(keys[0].key);
        let desc = filter_choice("dir", &self.dir, |v| match v {
            "asc" => Some(false),
            "desc" => Some(true),
            _ => None,
        })?
        .unwrap_or(default_desc);
        Ok(Order { key, desc })
    }

    pub fn cursor(&self) -> AppResult<Option<i64>> {
        if self.cursor.is_empty() {
            return Ok(None);
        }
        crate::db::page::decode(&self.cursor)
            .map(Some)
            .ok_or_else(|| AppError::field("cursor", "invalid", "not a cursor of this list"))
    }

    fn date(field: &str, value: &str) -> AppResult<Option<NaiveDate>> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::field(field, "invalid", "a date, YYYY-MM-DD"))
    }

    /// The date range as `[from, to)` instants: `to` is the day after the last one.
    pub fn range(&self) -> AppResult<(Option<NaiveDateTime>, Option<NaiveDateTime>)> {
        let from = Self::date("from", &self.from)?.and_then(|d| d.and_hms_opt(0, 0, 0));
        let to = Self::date("to", &self.to)?.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0));
        Ok((from, to))
    }

    /// The query string of this list with `changes` applied (empty values left out,
    /// the cursor dropped unless set by `changes`).
    pub fn href(&self, base: &str, changes: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("q", self.q.clone()),
            ("sort", self.sort.clone()),
            ("dir", self.dir.clone()),
            ("status", self.status.clone()),
            ("rail", self.rail.clone()),
            ("role", self.role.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
            ("show", self.show.clone()),
            ("kind", self.kind.clone()),
            ("flagged", self.flagged.clone()),
        ];
        for (k, v) in changes {
            match pairs.iter_mut().find(|(key, _)| key == k) {
                Some(pair) => pair.1 = v.to_string(),
                None => pairs.push((k, v.to_string())),
            }
        }
        let kept: Vec<(&str, String)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
        if query.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{query}")
        }
    }

    /// The headers of a list sorted by `order`.
    pub fn headers(&self, base: &str, keys: &[SortKey], order: Order) -> Vec<Header> {
        keys.iter()
            .map(|k| {
                let current = k.key == order.key;
                let next_dir = if current && !order.desc { "desc" } else { "asc" };
                Header {
                    label: k.label,
                    href: self.href(base, &[("sort", k.key), ("dir", next_dir)]),
                    aria_sort: match (current, order.desc) {
                        (false, _) => "none",
                        (true, false) => "ascending",
                        (true, true) => "descending",
                    },
                    arrow: match (current, order.desc) {
                        (false, _) => "",
                        (true, false) => " ▲",
                        (true, true) => " ▼",
                    },
                }
            })
            .collect()
    }

    /// The navigation of this list at `base`, sorted by `order` among `keys`, on a page
    /// followed by the one after row `next` (none on the last page).
    pub fn nav(self, base: &str, keys: &[SortKey], order: Order, next: Option<i64>) -> ListNav {
        ListNav {
            headers: self.headers(base, keys, order),
            next: self.next_href(base, next),
            first: (!self.cursor.is_empty()).then(|| self.href(base, &[])),
            csv: self.csv_href(base),
            q: self,
        }
    }

    /// The link to the page after the one ending at `next`.
    pub fn next_href(&self, base: &str, next: Option<i64>) -> Option<String> {
        next.map(|id| self.href(base, &[("cursor", &crate::db::page::encode(id))]))
    }
}

/// Reads a filter of a closed set (`status`, `rail`, `kind`, `flagged`, `format`): empty
/// is "any", a value the set does not know is refused (a 422 naming the field), never
/// read as "any".
pub fn filter_choice<T>(field: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> AppResult<Option<T>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    parse(value)
        .map(Some)
        .ok_or_else(|| AppError::field(field, "invalid", format!("{value:?} is not a choice of this filter")))
}

/// The cursor after a read of `limit` rows: the last id when the read was full. (Not
/// `db::next_cursor`, which clamps the limit to the API's page size: a CSV chunk is
/// larger.)
pub fn next_of<T>(rows: &[T], limit: i64, id: impl Fn(&T) -> i64) -> Option<i64> {
    (rows.len() as i64 == limit).then(|| rows.last().map(id)).flatten()
}

/// A page of rows a service computes whole (late payments, who a batch would leave
/// out), already filtered and in their order: up to `limit` rows after the cursor's row
/// (by id; a row gone since starts the list over), and the next cursor.
pub fn page_in_memory<T>(
    rows: Vec<T>,
    cursor: Option<i64>,
    limit: i64,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<i64>) {
    let start = cursor.and_then(|c| rows.iter().position(|r| id(r) == c)).map_or(0, |i| i + 1);
    let rest = rows.len().saturating_sub(start);
    let page: Vec<T> = rows.into_iter().skip(start).take(limit as usize).collect();
    let next = (rest > page.len()).then(|| page.last().map(&id)).flatten();
    (page, next)
}

pub use crate::db::like::{contains_pattern, lower};

/// Adds a keyset condition and the order to a boxed query: rows after `(value, id)` in
/// the order of `$col` then `$id`, ascending or descending.
#[macro_export]
macro_rules! keyset_order {
    ($query:ident, $col:expr, $id:expr, $after:expr, $desc:expr) => {{
        use diesel::prelude::*;
        match ($after, $desc) {
            (Some((value, after)), false) => {
                $query = $query.filter($col.gt(value.clone()).or($col.eq(value).and($id.gt(after))))
            }
            (Some((value, after)), true) => {
                $query = $query.filter($col.lt(value.clone()).or($col.eq(value).and($id.lt(after))))
            }
            (None, _) => {}
        }
        $query = if $desc { $query.order(($col.desc(), $id.desc())) } else { $query.order(($col.asc(), $id.asc())) };
    }};
}

/// [`keyset_order!`] after row `$after` (an id), its sort value read back by id from
/// `$source` (a table, or a join when the column is another table's) as `$ty`.
#[macro_export]
macro_rules! keyset_after {
    ($query:ident, $conn:expr, $source:expr, $col:expr, $id:expr, $ty:ty, $after:expr, $desc:expr) => {{
        use diesel::prelude::*;
        let at: Option<($ty, i64)> = match $after {
            Some(a) => Some(($source.filter($id.eq(a)).select($col).first::<$ty>($conn)?, a)),
            None => None,
        };
        $crate::keyset_order!($query, $col, $id, at, $desc);
    }};
}

/// One CSV line, every cell neutralized against formula injection exactly as the payout
/// and tax exports do ([`crate::text::neutralize`]).
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(fields.iter().map(|f| crate::text::neutralize(f.as_ref()).into_owned()));
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A page of CSV rows and the cursor of the next one.
pub type CsvChunk = (Vec<Vec<String>>, Option<i64>);

/// Streams a CSV download: the header, then chunk after chunk read by `fetch(cursor)`
/// (keyset, [`CSV_CHUNK`] rows each) until a chunk comes back without a next cursor. The
/// first chunk is read before anything is answered, so a failure then is an error page;
/// a later failure aborts the stream (no final chunk), so a truncated file is never
/// taken for a complete one.
pub async fn stream_csv<F>(filename: &str, header_row: &[&str], fetch: F) -> AppResult<HttpResponse>
where
    F: Fn(Option<i64>, i64) -> AppResult<CsvChunk> + Send + Sync + 'static,
{
    let fetch = std::sync::Arc::new(fetch);
    let first_fetch = fetch.clone();
    let (rows, next) = crate::blocking(move || first_fetch(None, CSV_CHUNK)).await?;
    let mut first = csv_line(header_row);
    for row in &rows {
        first.push_str(&csv_line(row));
    }
    let rest = futures_util::stream::unfold(next, move |cursor| {
        let fetch = fetch.clone();
        async move {
            let cursor = cursor?;
            match crate::blocking(move || fetch(Some(cursor), CSV_CHUNK)).await {
                Ok((rows, next)) => {
                    let text: String = rows.iter().map(|r| csv_line(r)).collect();
                    Some((Ok::<_, actix_web::Error>(web::Bytes::from(text)), next))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "console CSV stream stopped");
                    Some((Err(actix_web::Error::from(std::io::Error::other(e.to_string()))), None))
                }
            }
        }
    });
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(std::future::ready(Ok::<_, actix_web::Error>(web::Bytes::from(first)))),
        rest,
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .streaming(body))
}

/// Streams rows already in memory as a CSV download (lists computed whole by a service,
/// such as late payments), in chunks as [`stream_csv`] does.
pub async fn stream_rows(filename: &str, header_row: &[&str], rows: Vec<Vec<String>>) -> AppResult<HttpResponse> {
    let rows = std::sync::Arc::new(rows);
    stream_csv(filename, header_row, move |after, limit| {
        let start = after.map(|a| a as usize).unwrap_or(0).min(rows.len());
        let end = (start + limit as usize).min(rows.len());
        Ok((rows[start..end].to_vec(), (end < rows.len()).then_some(end as i64)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [SortKey; 2] = [SortKey { key: "id", label: "#" }, SortKey { key: "name", label: "Name" }];

    #[test]
    fn an_unknown_sort_or_direction_is_refused_and_none_is_the_default() {
        let q = ListQuery { sort: "name; drop table users".into(), ..Default::default() };
        assert!(q.order(&KEYS, true).is_err());
        let q = ListQuery { sort: "name".into(), dir: "sideways".into(), ..Default::default() };
        assert!(q.order(&KEYS, true).is_err());
        let o = ListQuery::default().order(&KEYS, true).unwrap();
        assert_eq!((o.key, o.desc), ("id", true));
        let q = ListQuery { sort: "name".into(), dir: "asc".into(), ..Default::default() };
        let o = q.order(&KEYS, true).unwrap();
        assert_eq!((o.key, o.desc), ("name", false));
    }

    #[test]
    fn links_keep_filters_and_drop_the_cursor() {
        let q = ListQuery { q: "ana b".into(), status: "active".into(), cursor: "c9".into(), ..Default::default() };
        assert_eq!(q.href("/x", &[("sort", "name")]), "/x?q=ana+b&sort=name&status=active");
        assert_eq!(q.next_href("/x", Some(12)).unwrap(), "/x?q=ana+b&status=active&cursor=c12");
    }

    #[test]
    fn pages_in_memory_go_on_after_the_cursor() {
        let rows: Vec<i64> = (1..=5).collect();
        assert_eq!(page_in_memory(rows.clone(), None, 2, |r| *r), (vec![1, 2], Some(2)));
        assert_eq!(page_in_memory(rows.clone(), Some(2), 2, |r| *r), (vec![3, 4], Some(4)));
        assert_eq!(page_in_memory(rows.clone(), Some(4), 2, |r| *r), (vec![5], None));
        assert_eq!(page_in_memory(rows, Some(3), 2, |r| *r), (vec![4, 5], None), "a full last page has no next");
    }

    #[test]
    fn format_and_flagged_are_closed_sets() {
        let q = |format: &str| ListQuery { format: format.into(), ..Default::default() };
        assert!(!q("").csv().unwrap());
        assert!(q("csv").csv().unwrap());
        for bad in ["CSV", "xlsx", "csv;"] {
            let err = q(bad).csv().unwrap_err();
            assert!(format!("{err:?}").contains("format"), "{bad}: {err:?}");
        }
        assert_eq!(flagged_filter(" ").unwrap(), None);
        assert_eq!(flagged_filter("true").unwrap(), Some(true));
        assert_eq!(flagged_filter("false").unwrap(), Some(false));
        assert!(flagged_filter("yes").is_err());
    }

    #[test]
    fn csv_cells_are_neutralized() {
        assert_eq!(csv_line(&["=1+1", "a,b", "x"]), "'=1+1,\"a,b\",x\n");
    }
}
