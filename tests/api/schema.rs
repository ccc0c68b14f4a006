//! The two migration folders stay in step, and both backends produce the schema that
//! `src/db/schema.rs` declares.

use std::collections::BTreeMap;

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use gatehouse::db::DbConn;

use crate::both_backends;
use crate::support::{Backend, TestApp};

both_backends!(migrated_database_matches_schema_rs);

#[test]
fn migration_folders_list_the_same_versions() {
    let list = |backend: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .inspect(|e| {
                for f in ["up.sql", "down.sql"] {
                    assert!(e.path().join(f).is_file(), "{} lacks {f}", e.path().display());
                }
            })
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    };
    let sqlite = list("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, list("postgresql"));
}

/// (column type, nullable) per column, per table.
type Shape = BTreeMap<String, BTreeMap<String, (String, bool)>>;

/// Reads `table!` blocks of schema.rs: table names, column names, types, nullability.
fn declared() -> Shape {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs")).unwrap();
    let mut shape = Shape::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.ends_with('{') && line.contains('(') && !line.starts_with("diesel::") {
            current = Some(line.split('(').next().unwrap().trim().to_string());
            shape.insert(current.clone().unwrap(), BTreeMap::new());
        } else if let (Some(table), Some((col, ty))) = (&current, line.split_once("->")) {
            let ty = ty.trim().trim_end_matches(',');
            let (ty, nullable) = match ty.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>'), true),
                None => (ty, false),
            };
            shape.get_mut(table).unwrap().insert(col.trim().to_string(), (ty.to_string(), nullable));
        } else if line == "}" {
            current = None;
        }
    }
    shape
}

fn type_family(db_type: &str) -> String {
    match db_type.to_ascii_lowercase().as_str() {
        "bigint" | "int8" => "BigInt",
        "integer" | "int4" => "Integer",
        "text" => "Text",
        "timestamp" | "timestamp without time zone" => "Timestamp",
        "boolean" => "Bool",
        "date" => "Date",
        "bytea" | "blob" => "Binary",
        other => return format!("unknown({other})"),
    }
    .to_string()
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    type_: String,
    #[diesel(sql_type = BigInt)]
    notnull: i64,
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

fn actual(conn: &mut DbConn) -> Shape {
    let mut shape = Shape::new();
    match conn {
        DbConn::Postgresql(pg) => {
            let cols: Vec<PgColumn> = diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                 data_type::text AS data_type, is_nullable::text AS is_nullable \
                 FROM information_schema.columns WHERE table_schema = 'public' \
                 AND table_name <> '__diesel_schema_migrations'",
            )
            .load(pg)
            .unwrap();
            for c in cols {
                shape
                    .entry(c.table_name)
                    .or_default()
                    .insert(c.column_name, (type_family(&c.data_type), c.is_nullable == "YES"));
            }
        }
        DbConn::Sqlite(lite) => {
            let cols: Vec<SqliteColumn> = diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS name, p.type AS type_, p.\"notnull\" AS \"notnull\", p.pk AS pk \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
            )
            .load(lite)
            .unwrap();
            for c in cols {
                // SQLite's INTEGER PRIMARY KEY is the 64-bit rowid.
                let family =
                    if c.pk == 1 && c.type_ == "INTEGER" { "BigInt".to_string() } else { type_family(&c.type_) };
                shape.entry(c.table_name).or_default().insert(c.name, (family, c.notnull == 0 && c.pk == 0));
            }
        }
    }
    shape
}

async fn migrated_database_matches_schema_rs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let state = app.state.clone();
    let found = actix_web::web::block(move || {
        let mut conn = state.db.get().unwrap();
        actual(&mut conn)
    })
    .await
    .unwrap();
    let declared = declared();
    assert!(declared.len() >= 6, "schema.rs parsed: {declared:?}");
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "tables differ between {backend:?} and schema.rs"
    );
    for (table, columns) in &declared {
        assert_eq!(&found[table], columns, "table {table} differs between {backend:?} and schema.rs");
    }
}

/// A CHECK: (columns referenced, literals), sorted; and its name on PostgreSQL.
type Check = (Vec<String>, Vec<String>, String);

/// What one migrated database declares beyond columns, in a form both backends share.
#[derive(Debug, Default)]
struct Constraints {
    /// CHECKs per table: (columns referenced, string and number literals), sorted; and
    /// PostgreSQL's constraint name (SQLite's are mostly unnamed).
    checks: BTreeMap<String, Vec<Check>>,
    /// UNIQUE constraints per table: their columns (names differ: PostgreSQL names them
    /// `<table>_<cols>_key`, SQLite `sqlite_autoindex_…`).
    uniques: BTreeMap<String, Vec<Vec<String>>>,
    /// Indexes created by name: (table, columns or expressions, unique, partial).
    indexes: BTreeMap<String, (String, Vec<String>, bool, bool)>,
    /// Trigger names (SQLite enforces with a trigger what PostgreSQL adds as a CHECK by
    /// ALTER TABLE; the trigger then bears the constraint's name).
    triggers: std::collections::BTreeSet<String>,
}

/// Column names of `table` referenced in `expr`, and its literals: quoted strings and
/// integers, outside identifiers; `::type` casts (PostgreSQL's rendering) skipped.
fn check_terms(expr: &str, columns: &[String]) -> (Vec<String>, Vec<String>) {
    let chars: Vec<char> = expr.chars().collect();
    let (mut cols, mut literals) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' && chars.get(i + 1) == Some(&'\'') {
                    s.push('\'');
                    i += 2;
                } else if chars[i] == '\'' {
                    break;
                } else {
                    s.push(chars[i]);
                    i += 1;
                }
            }
            literals.push(s);
            i += 1;
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            i += 2;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' || c == '"' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '"') {
                i += 1;
            }
            let word: String = chars[start..i].iter().filter(|c| **c != '"').collect();
            if columns.contains(&word) && !cols.contains(&word) {
                cols.push(word);
            }
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            literals.push(chars[start..i].iter().collect());
        } else {
            i += 1;
        }
    }
    cols.sort();
    literals.sort();
    (cols, literals)
}

/// The `CHECK (…)` expressions in a SQLite `CREATE TABLE` statement.
fn sqlite_checks(sql: &str) -> Vec<String> {
    let upper = sql.to_ascii_uppercase();
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let start = from + at;
        from = start + 5;
        let before = start.checked_sub(1).map(|i| bytes[i] as char);
        if before.is_some_and(|b| b.is_alphanumeric() || b == '_') {
            continue;
        }
        let rest = sql[from..].trim_start();
        if !rest.starts_with('(') {
            continue;
        }
        let open = sql.len() - rest.len();
        let (mut depth, mut quoted, mut end) = (0, false, open);
        for (k, ch) in sql[open..].char_indices() {
            match ch {
                '\'' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(sql[open + 1..end].to_string());
        from = end;
    }
    out
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = BigInt)]
    is_unique: i64,
    #[diesel(sql_type = BigInt)]
    partial: i64,
    #[diesel(sql_type = Text)]
    columns: String,
}

fn constraints(conn: &mut DbConn) -> Constraints {
    let mut out = Constraints::default();
    // Columns per table, for finding the ones a CHECK references.
    let columns: BTreeMap<String, Vec<String>> =
        actual(conn).into_iter().map(|(t, cols)| (t, cols.into_keys().collect())).collect();
    let (checks, indexes, triggers): (Vec<Named>, Vec<IndexRow>, Vec<Named>) = match conn {
        DbConn::Postgresql(pg) => (
            diesel::sql_query(
                "SELECT t.relname::text AS table_name, c.conname::text AS name, pg_get_constraintdef(c.oid) AS detail \
                 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = 'public' AND c.contype = 'c'",
            )
            .load(pg)
            .unwrap(),
            diesel::sql_query(
                "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
                 COALESCE((SELECT CASE c.contype WHEN 'p' THEN 'pk' ELSE 'u' END FROM pg_constraint c \
                   WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u') LIMIT 1), 'c') AS origin, \
                 CAST(ix.indisunique AS INT)::BIGINT AS is_unique, CAST(ix.indpred IS NOT NULL AS INT)::BIGINT AS partial, \
                 array_to_string(ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true) \
                   FROM generate_series(1, ix.indnkeyatts) k ORDER BY k), ',') AS columns \
                 FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = 'public' AND t.relname <> '__diesel_schema_migrations'",
            )
            .load(pg)
            .unwrap(),
            diesel::sql_query(
                "SELECT c.relname::text AS table_name, g.tgname::text AS name, '' AS detail FROM pg_trigger g \
                 JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND NOT g.tgisinternal",
            )
            .load(pg)
            .unwrap(),
        ),
        DbConn::Sqlite(lite) => {
            let tables: Vec<Named> = diesel::sql_query(
                "SELECT name AS table_name, name, sql AS detail FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
            )
            .load(lite)
            .unwrap();
            let checks = tables
                .iter()
                .flat_map(|t| {
                    sqlite_checks(&t.detail).into_iter().map(|expr| Named {
                        table_name: t.table_name.clone(),
                        name: String::new(),
                        detail: expr,
                    })
                })
                .collect();
            (
                checks,
                diesel::sql_query(
                    "SELECT m.name AS table_name, l.name AS index_name, l.origin AS origin, \
                     CAST(l.\"unique\" AS BIGINT) AS is_unique, CAST(l.partial AS BIGINT) AS partial, \
                     (SELECT group_concat(COALESCE(ii.name, '<expr>'), ',') FROM \
                       (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno) ii) AS columns \
                     FROM sqlite_master m JOIN pragma_index_list(m.name) l \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
                )
                .load(lite)
                .unwrap(),
                diesel::sql_query(
                    "SELECT tbl_name AS table_name, name, '' AS detail FROM sqlite_master WHERE type = 'trigger'",
                )
                .load(lite)
                .unwrap(),
            )
        }
    };
    for c in checks {
        let cols = columns.get(&c.table_name).cloned().unwrap_or_default();
        let expr = c.detail.trim().strip_prefix("CHECK").unwrap_or(&c.detail);
        let (refs, literals) = check_terms(expr, &cols);
        out.checks.entry(c.table_name).or_default().push((refs, literals, c.name));
    }
    for list in out.checks.values_mut() {
        list.sort();
    }
    for i in indexes {
        let cols: Vec<String> = i
            .columns
            .split(',')
            .map(|c| {
                let c = c.trim().trim_matches('"');
                if c.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
                    c.to_string()
                } else {
                    "<expr>".to_string()
                }
            })
            .collect();
        match i.origin.as_str() {
            "u" => out.uniques.entry(i.table_name).or_default().push(cols),
            "c" => {
                out.indexes.insert(i.index_name, (i.table_name, cols, i.is_unique == 1, i.partial == 1));
            }
            _ => {}
        }
    }
    for list in out.uniques.values_mut() {
        list.sort();
    }
    out.triggers = triggers.into_iter().map(|t| t.name).collect();
    out
}

/// Issue 17: the two migration folders declare the same CHECKs (columns and values),
/// UNIQUE constraints (columns) and indexes (names, columns, uniqueness, partiality).
/// A CHECK PostgreSQL adds with `ALTER TABLE … ADD CONSTRAINT` (which SQLite cannot) is
/// enforced on SQLite by a trigger bearing the constraint's name.
#[actix_web::test]
async fn both_folders_declare_the_same_checks_uniques_and_indexes() {
    if !crate::support::postgres_available() {
        return;
    }
    let mut found = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn(backend).await;
        let state = app.state.clone();
        found.push(
            actix_web::web::block(move || {
                let mut conn = state.db.get().unwrap();
                constraints(&mut conn)
            })
            .await
            .unwrap(),
        );
    }
    let (lite, pg) = (&found[0], &found[1]);
    assert!(lite.indexes.len() >= 20 && lite.checks.len() >= 10, "{lite:?}");
    assert_eq!(lite.indexes, pg.indexes, "indexes differ (SQLite left, PostgreSQL right)");
    assert_eq!(lite.uniques, pg.uniques, "UNIQUE constraints differ (SQLite left, PostgreSQL right)");
    let tables: std::collections::BTreeSet<&String> = lite.checks.keys().chain(pg.checks.keys()).collect();
    let mut problems = Vec::new();
    for table in tables {
        let mut sqlite_only: Vec<(Vec<String>, Vec<String>)> =
            lite.checks.get(table).into_iter().flatten().map(|(c, l, _)| (c.clone(), l.clone())).collect();
        for (cols, literals, name) in pg.checks.get(table).into_iter().flatten() {
            if let Some(at) = sqlite_only.iter().position(|(c, l)| c == cols && l == literals) {
                sqlite_only.remove(at);
            } else if !lite.triggers.contains(name) {
                problems.push(format!(
                    "{table}: PostgreSQL CHECK {name} ({cols:?}, {literals:?}) has no SQLite CHECK or trigger"
                ));
            }
        }
        for (cols, literals) in sqlite_only {
            problems.push(format!("{table}: SQLite CHECK ({cols:?}, {literals:?}) is not in PostgreSQL"));
        }
    }
    assert!(problems.is_empty(), "CHECKs differ:\n{}", problems.join("\n"));
}

#[test]
fn check_terms_read_both_renderings() {
    let cols = vec!["status".to_string(), "amount_cents".to_string()];
    let sqlite = check_terms("status IN ('a', 'b''c') AND amount_cents <> 0", &cols);
    let pg = check_terms("((status = ANY (ARRAY['a'::text, 'b''c'::text])) AND (amount_cents <> 0))", &cols);
    assert_eq!(sqlite, pg);
    assert_eq!(sqlite, (vec!["amount_cents".into(), "status".into()], vec!["0".into(), "a".into(), "b'c".into()]));
    assert_eq!(
        sqlite_checks("CREATE TABLE t (x TEXT CHECK (x IN ('(', ')')), checked_at TEXT, CHECK (length(x) > 1))"),
        ["x IN ('(', ')')", "length(x) > 1"]
    );
}

/// Issue 17: every unique constraint `error::codes` maps to a specific problem code
/// exists under the name it is mapped by: PostgreSQL's constraint or index name, SQLite's
/// `table.column, …` of a UNIQUE index (a renamed constraint would otherwise answer the
/// generic `already_exists`).
#[actix_web::test]
async fn every_mapped_unique_constraint_exists_on_both_backends() {
    let mut backends = vec![Backend::Sqlite];
    if crate::support::postgres_available() {
        backends.push(Backend::Postgres);
    }
    for backend in backends {
        let app = TestApp::spawn(backend).await;
        let state = app.state.clone();
        let missing = actix_web::web::block(move || {
            let mut conn = state.db.get().unwrap();
            let c = constraints(&mut conn);
            let mut missing = Vec::new();
            for (postgres, sqlite, code) in gatehouse::error::unique_rules() {
                let found = match &mut *conn {
                    DbConn::Postgresql(pg) => {
                        #[derive(QueryableByName)]
                        struct N {
                            #[diesel(sql_type = BigInt)]
                            n: i64,
                        }
                        let rows: Vec<N> = diesel::sql_query(format!(
                            "SELECT COUNT(*) AS n FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid \
                             WHERE x.indisunique AND i.relname = '{postgres}'"
                        ))
                        .load(pg)
                        .unwrap();
                        rows[0].n == 1
                    }
                    DbConn::Sqlite(_) => {
                        let (table, columns): (Vec<&str>, Vec<&str>) =
                            sqlite.split(", ").map(|tc| tc.split_once('.').unwrap()).unzip();
                        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
                        table.iter().all(|t| *t == table[0])
                            && (c.uniques.get(table[0]).is_some_and(|u| u.contains(&columns))
                                || c.indexes
                                    .values()
                                    .any(|(t, cols, unique, _)| *unique && t == table[0] && *cols == columns))
                    }
                };
                if !found {
                    missing.push(format!("{code}: {postgres} / {sqlite}"));
                }
            }
            missing
        })
        .await
        .unwrap();
        assert!(missing.is_empty(), "{backend:?}: mapped unique constraints missing: {missing:?}");
    }
}
