//! The NACHA ACH file layout for credits, as pure functions: 94-character records 1
//! (file header), 5 (batch header), 6 (entry detail), 8 (batch control) and 9 (file
//! control), blocked by ten with lines of nines. A file holds up to two batches: PPD
//! credits to consumers' accounts and CCD credits to businesses' accounts (NACHA
//! Operating Rules, Appendix Three; the standard entry class follows the receiver).

use chrono::{NaiveDate, NaiveDateTime};

use crate::config::NachaOriginator;

pub const RECORD_LEN: usize = 94;
pub const BLOCKING_FACTOR: u64 = 10;
/// Service class 220: credits only.
pub const SERVICE_CLASS_CREDITS: &str = "220";

/// Transaction codes of an automated deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountType {
    Checking,
    Savings,
}

impl AccountType {
    pub fn credit_code(self) -> &'static str {
        match self {
            Self::Checking => "22",
            Self::Savings => "32",
        }
    }
}

/// Standard entry class of a batch: who receives the credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecCode {
    /// Prearranged Payment and Deposit: credits to consumers' accounts.
    Ppd,
    /// Corporate Credit or Debit: credits to businesses' accounts.
    Ccd,
}

impl SecCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ppd => "PPD",
            Self::Ccd => "CCD",
        }
    }
    /// The company entry description configured for this class: `PAYROLL` for PPD
    /// (the rule in force from 2026-03-20), the CCD one for businesses.
    pub fn description(self, o: &NachaOriginator) -> &str {
        match self {
            Self::Ppd => &o.entry_description,
            Self::Ccd => &o.ccd_entry_description,
        }
    }
}

/// Alphanumeric field: transliterated to ASCII (`José Ñúñez` → `JOSE NUNEZ`, never
/// blanked), upper-case, printable, left-justified, space-filled, cut to `len`.
pub fn alpha(value: &str, len: usize) -> String {
    let ascii = deunicode::deunicode_with_tofu(value, "?");
    let mut out: String = ascii
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c.to_ascii_uppercase() } else { ' ' })
        .take(len)
        .collect();
    while out.len() < len {
        out.push(' ');
    }
    out
}

/// Numeric field: right-justified, zero-filled; keeps the low-order digits.
pub fn numeric(value: u64, len: usize) -> String {
    let s = format!("{value:0len$}");
    s[s.len() - len..].to_string()
}

fn yymmdd(d: NaiveDate) -> String {
    d.format("%y%m%d").to_string()
}

/// Record 1.
pub fn file_header(o: &NachaOriginator, created: NaiveDateTime) -> String {
    let r = format!(
        "101 {dest}{origin}{date}{time}A094101{dest_name}{origin_name}{reference}",
        dest = numeric(o.immediate_destination.parse().unwrap_or(0), 9),
        origin = alpha(&o.immediate_origin, 10),
        date = yymmdd(created.date()),
        time = created.format("%H%M"),
        dest_name = alpha(&o.immediate_destination_name, 23),
        origin_name = alpha(&o.immediate_origin_name, 23),
        reference = alpha("", 8),
    );
    debug_assert_eq!(r.len(), RECORD_LEN);
    r
}

/// The ODFI identification: the first eight digits of the immediate destination.
pub fn odfi(o: &NachaOriginator) -> &str {
    &o.immediate_destination[..8]
}

/// Record 5: a batch of credits of one standard entry class.
pub fn batch_header(
    o: &NachaOriginator,
    sec: SecCode,
    descriptive: NaiveDate,
    effective: NaiveDate,
    batch_number: u64,
) -> String {
    let r = format!(
        "5{class}{company}{discretionary}{company_id}{sec}{description}{descriptive}{effective}   1{odfi}{batch}",
        class = SERVICE_CLASS_CREDITS,
        company = alpha(&o.company_name, 16),
        discretionary = alpha("", 20),
        company_id = alpha(&o.company_id, 10),
        sec = sec.as_str(),
        description = alpha(sec.description(o), 10),
        descriptive = yymmdd(descriptive),
        effective = yymmdd(effective),
        odfi = odfi(o),
        batch = numeric(batch_number, 7),
    );
    debug_assert_eq!(r.len(), RECORD_LEN);
    r
}

/// One credit to a receiver's account.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub account_type: AccountType,
    /// Nine digits, ABA-valid.
    pub routing: &'a str,
    pub account: &'a str,
    pub amount_cents: u64,
    pub individual_id: &'a str,
    /// The individual's name (PPD) or the receiving company's name (CCD): the same
    /// positions 55–76.
    pub individual_name: &'a str,
}

/// Record 6, with trace number ODFI + `sequence`.
pub fn entry(o: &NachaOriginator, e: &Entry<'_>, sequence: u64) -> String {
    let r = format!(
        "6{code}{rdfi}{check}{account}{amount}{id}{name}  0{odfi}{seq}",
        code = e.account_type.credit_code(),
        rdfi = &e.routing[..8],
        check = &e.routing[8..9],
        account = alpha(e.account, 17),
        amount = numeric(e.amount_cents, 10),
        id = alpha(e.individual_id, 15),
        name = alpha(e.individual_name, 22),
        odfi = odfi(o),
        seq = numeric(sequence, 7),
    );
    debug_assert_eq!(r.len(), RECORD_LEN);
    r
}

/// Running control totals of a batch or of the whole file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub entry_count: u64,
    /// Sum of the eight-digit RDFI routing numbers (kept to ten digits when written).
    pub entry_hash: u64,
    pub total_credit_cents: u64,
}

impl Totals {
    pub fn add(&mut self, e: &Entry<'_>) {
        self.entry_count += 1;
        self.entry_hash += e.routing[..8].parse::<u64>().unwrap_or(0);
        self.total_credit_cents += e.amount_cents;
    }
    fn merge(&mut self, other: &Totals) {
        self.entry_count += other.entry_count;
        self.entry_hash += other.entry_hash;
        self.total_credit_cents += other.total_credit_cents;
    }
    pub fn hash10(&self) -> u64 {
        self.entry_hash % 10_000_000_000
    }
}

/// Record 8.
pub fn batch_control(o: &NachaOriginator, t: &Totals, batch_number: u64) -> String {
    let r = format!(
        "8{class}{count}{hash}{debit}{credit}{company_id}{mac}{reserved}{odfi}{batch}",
        class = SERVICE_CLASS_CREDITS,
        count = numeric(t.entry_count, 6),
        hash = numeric(t.hash10(), 10),
        debit = numeric(0, 12),
        credit = numeric(t.total_credit_cents, 12),
        company_id = alpha(&o.company_id, 10),
        mac = alpha("", 19),
        reserved = alpha("", 6),
        odfi = odfi(o),
        batch = numeric(batch_number, 7),
    );
    debug_assert_eq!(r.len(), RECORD_LEN);
    r
}

/// Records in a file of `batches` batches holding `entries` entries in all: the file
/// header and control, a header and a control per batch, the entries.
pub fn record_count(batches: u64, entries: u64) -> u64 {
    2 + 2 * batches + entries
}

pub fn block_count(records: u64) -> u64 {
    records.div_ceil(BLOCKING_FACTOR)
}

/// Record 9.
pub fn file_control(batches: u64, t: &Totals) -> String {
    let r = format!(
        "9{batches}{blocks}{count}{hash}{debit}{credit}{reserved}",
        batches = numeric(batches, 6),
        blocks = numeric(block_count(record_count(batches, t.entry_count)), 6),
        count = numeric(t.entry_count, 8),
        hash = numeric(t.hash10(), 10),
        debit = numeric(0, 12),
        credit = numeric(t.total_credit_cents, 12),
        reserved = alpha("", 39),
    );
    debug_assert_eq!(r.len(), RECORD_LEN);
    r
}

/// Lines of nines that fill the last block.
pub fn padding(records: u64) -> u64 {
    block_count(records) * BLOCKING_FACTOR - records
}

/// Writes a credit file record by record, so a caller can stream it:
/// [`NachaWriter::start`], then per batch [`NachaWriter::begin_batch`], an
/// [`NachaWriter::entry`] per credit and [`NachaWriter::end_batch`], then
/// [`NachaWriter::finish`]. Every record ends with `\n`. Trace numbers run through the
/// file, so each is unique in it.
pub struct NachaWriter<'a> {
    o: &'a NachaOriginator,
    created: NaiveDateTime,
    effective: NaiveDate,
    file: Totals,
    batch: Option<Totals>,
    batches: u64,
}

impl<'a> NachaWriter<'a> {
    /// The writer and the file header. `created` and `effective` are fixed by the
    /// caller (the first export's time and the banking day after it) so a re-export is
    /// byte-identical.
    pub fn start(o: &'a NachaOriginator, created: NaiveDateTime, effective: NaiveDate) -> (Self, String) {
        let head = format!("{}\n", file_header(o, created));
        (Self { o, created, effective, file: Totals::default(), batch: None, batches: 0 }, head)
    }

    /// Opens the next batch (closing any open one first).
    pub fn begin_batch(&mut self, sec: SecCode) -> String {
        let mut out = self.end_batch();
        self.batches += 1;
        self.batch = Some(Totals::default());
        out.push_str(&batch_header(self.o, sec, self.created.date(), self.effective, self.batches));
        out.push('\n');
        out
    }

    /// One entry of the open batch (a batch of PPD is opened if none is).
    pub fn entry(&mut self, e: &Entry<'_>) -> String {
        let mut out = if self.batch.is_none() { self.begin_batch(SecCode::Ppd) } else { String::new() };
        if let Some(t) = self.batch.as_mut() {
            t.add(e);
        }
        out.push_str(&entry(self.o, e, self.file.entry_count + self.batch.map_or(0, |t| t.entry_count)));
        out.push('\n');
        out
    }

    /// Closes the open batch with its control record; nothing if none is open.
    pub fn end_batch(&mut self) -> String {
        let Some(t) = self.batch.take() else { return String::new() };
        self.file.merge(&t);
        format!("{}\n", batch_control(self.o, &t, self.batches))
    }

    /// Totals of the entries written so far, all batches.
    pub fn totals(&self) -> Totals {
        let mut t = self.file;
        if let Some(b) = &self.batch {
            t.merge(b);
        }
        t
    }

    pub fn finish(mut self) -> String {
        let mut out = self.end_batch();
        out.push_str(&file_control(self.batches, &self.file));
        out.push('\n');
        for _ in 0..padding(record_count(self.batches, self.file.entry_count)) {
            out.push_str(&"9".repeat(RECORD_LEN));
            out.push('\n');
        }
        out
    }
}

/// The effective entry date of a file exported on `export_day`: the next banking day
/// after it (weekends and Federal Reserve holidays skipped, `src/calendar.rs`), so it is
/// never the export day itself nor a day before it.
pub fn effective_entry_date(export_day: NaiveDate) -> NaiveDate {
    crate::calendar::next_business_day(export_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn originator() -> NachaOriginator {
        NachaOriginator::default()
    }

    fn created() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap().and_hms_opt(9, 5, 0).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn credit<'a>(routing: &'a str, cents: u64) -> Entry<'a> {
        Entry {
            account_type: AccountType::Checking,
            routing,
            account: "000123456789",
            amount_cents: cents,
            individual_id: "42",
            individual_name: "Ana María O'Neil",
        }
    }

    #[test]
    fn fields_are_justified_and_cut() {
        assert_eq!(alpha("abc", 5), "ABC  ");
        assert_eq!(alpha("abcdef", 3), "ABC");
        assert_eq!(numeric(42, 6), "000042");
        assert_eq!(numeric(12_345_678_901, 10), "2345678901");
    }

    #[test]
    fn names_are_transliterated_never_blanked() {
        // The example: banks expect JOSE NUNEZ, not JOS  U EZ.
        assert_eq!(alpha("José Ñúñez", 22).trim_end(), "JOSE NUNEZ");
        assert_eq!(alpha("Ana María O'Neil", 22).trim_end(), "ANA MARIA O'NEIL");
        assert_eq!(alpha("Jürgen Straße", 22).trim_end(), "JURGEN STRASSE");
        assert_eq!(alpha("Łukasz Żółć", 22).trim_end(), "LUKASZ ZOLC");
        assert_eq!(alpha("Ærøskøbing", 10), "AEROSKOBIN", "expansions are cut to the field");
        assert_eq!(alpha("é1", 3), "E1 ");
        assert!(alpha("李小龍", 22).trim().chars().all(|c| c.is_ascii_uppercase() || c == ' '));
        assert!(!alpha("李小龍", 22).trim().is_empty());
        for name in ["José Ñúñez", "Zoë 🙂 Smith", "\u{0}tab\there"] {
            let a = alpha(name, 22);
            assert_eq!(a.len(), 22);
            assert!(a.bytes().all(|b| (0x20..0x7f).contains(&b)), "{a:?}");
        }
    }

    #[test]
    fn file_header_layout() {
        let r = file_header(&originator(), created());
        assert_eq!(r.len(), 94);
        assert_eq!(&r[0..3], "101");
        assert_eq!(&r[3..13], " 021000021");
        assert_eq!(&r[13..23], "1000000000");
        assert_eq!(&r[23..29], "261120");
        assert_eq!(&r[29..33], "0905");
        assert_eq!(&r[33..40], "A094101");
        assert_eq!(r[40..63].trim_end(), "ODFI BANK");
        assert_eq!(r[63..86].trim_end(), "GATEHOUSE");
    }

    #[test]
    fn batch_headers_carry_the_class_and_its_description() {
        let day = created().date();
        let r = batch_header(&originator(), SecCode::Ppd, day, effective_entry_date(day), 1);
        assert_eq!(r.len(), 94);
        assert_eq!(&r[0..4], "5220");
        assert_eq!(r[4..20].trim_end(), "GATEHOUSE");
        assert_eq!(&r[40..50], "1000000000");
        assert_eq!(&r[50..53], "PPD");
        assert_eq!(r[53..63].trim_end(), "PAYROLL", "NACHA: PPD credits of compensation say PAYROLL");
        assert_eq!(&r[63..69], "261120");
        assert_eq!(&r[69..75], "261123", "Friday's file is effective on Monday");
        assert_eq!(&r[78..79], "1");
        assert_eq!(&r[79..87], "02100002");
        assert_eq!(&r[87..94], "0000001");
        let c = batch_header(&originator(), SecCode::Ccd, day, effective_entry_date(day), 2);
        assert_eq!(&c[50..53], "CCD");
        assert_eq!(c[53..63].trim_end(), "PAYOUT");
        assert_eq!(&c[87..94], "0000002");
    }

    #[test]
    fn effective_date_is_the_next_banking_day_after_the_export_day() {
        assert_eq!(effective_entry_date(d(2026, 11, 20)), d(2026, 11, 23), "Friday → Monday");
        assert_eq!(effective_entry_date(d(2026, 11, 21)), d(2026, 11, 23), "Saturday → Monday");
        assert_eq!(effective_entry_date(d(2026, 11, 25)), d(2026, 11, 27), "Thanksgiving skipped");
        assert_eq!(effective_entry_date(d(2026, 12, 24)), d(2026, 12, 28), "Christmas, then the weekend");
        assert_eq!(effective_entry_date(d(2026, 12, 31)), d(2027, 1, 4), "New Year's Day, then the weekend");
        let mut day = d(2026, 1, 1);
        while day < d(2027, 1, 1) {
            let e = effective_entry_date(day);
            assert!(e > day, "never the export day or earlier: {day}");
            assert!(crate::calendar::is_business_day(e), "{e}");
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn entry_layout() {
        let mut e = credit("121000248", 123_456);
        let r = entry(&originator(), &e, 7);
        assert_eq!(r.len(), 94);
        assert_eq!(&r[0..3], "622");
        assert_eq!(&r[3..11], "12100024");
        assert_eq!(&r[11..12], "8");
        assert_eq!(r[12..29].trim_end(), "000123456789");
        assert_eq!(&r[29..39], "0000123456");
        assert_eq!(r[39..54].trim_end(), "42");
        assert_eq!(r[54..76].trim_end(), "ANA MARIA O'NEIL");
        assert_eq!(&r[78..79], "0");
        assert_eq!(&r[79..94], "021000020000007");
        e.account_type = AccountType::Savings;
        assert_eq!(&entry(&originator(), &e, 1)[1..3], "32");
    }

    #[test]
    fn controls_total_and_hash_the_entries() {
        let o = originator();
        let (mut w, mut body) = NachaWriter::start(&o, created(), effective_entry_date(created().date()));
        body.push_str(&w.begin_batch(SecCode::Ppd));
        body.push_str(&w.entry(&credit("121000248", 1_000)));
        body.push_str(&w.entry(&credit("021000021", 2_550)));
        body.push_str(&w.entry(&credit("026009593", 99)));
        let totals = w.totals();
        body.push_str(&w.finish());
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 10, "7 records padded to one block");
        assert!(lines.iter().all(|l| l.len() == 94));
        assert_eq!(totals.entry_count, 3);
        assert_eq!(totals.entry_hash, 12_100_024 + 2_100_002 + 2_600_959);
        let batch_control = lines[5];
        assert_eq!(&batch_control[0..4], "8220");
        assert_eq!(&batch_control[4..10], "000003");
        assert_eq!(&batch_control[10..20], "0016800985");
        assert_eq!(&batch_control[20..32], "000000000000");
        assert_eq!(&batch_control[32..44], "000000003649");
        let file_control = lines[6];
        assert_eq!(&file_control[0..7], "9000001");
        assert_eq!(&file_control[7..13], "000001");
        assert_eq!(&file_control[13..21], "00000003");
        assert_eq!(&file_control[21..31], "0016800985");
        assert_eq!(&file_control[43..55], "000000003649");
        assert_eq!(lines[7], "9".repeat(94));
        assert_eq!(lines[9], "9".repeat(94));
    }

    #[test]
    fn a_ppd_and_a_ccd_batch_in_one_file() {
        let o = originator();
        let (mut w, mut body) = NachaWriter::start(&o, created(), effective_entry_date(created().date()));
        body.push_str(&w.begin_batch(SecCode::Ppd));
        body.push_str(&w.entry(&credit("121000248", 1_000)));
        body.push_str(&w.entry(&credit("021000021", 2_000)));
        body.push_str(&w.begin_batch(SecCode::Ccd));
        body.push_str(&w.entry(&credit("026009593", 500)));
        body.push_str(&w.finish());
        let lines: Vec<&str> = body.lines().collect();
        let kinds: String = lines.iter().map(|l| &l[0..1]).collect();
        assert_eq!(kinds, "1566856899", "file, PPD batch, CCD batch, file control, padding");
        assert_eq!(&lines[1][50..53], "PPD");
        assert_eq!(&lines[5][50..53], "CCD");
        assert_eq!((&lines[4][4..10], &lines[4][87..94]), ("000002", "0000001"));
        assert_eq!((&lines[7][4..10], &lines[7][32..44], &lines[7][87..94]), ("000001", "000000000500", "0000002"));
        // Trace numbers run through the file.
        let traces: Vec<&str> = lines.iter().filter(|l| l.starts_with('6')).map(|l| &l[87..94]).collect();
        assert_eq!(traces, ["0000001", "0000002", "0000003"]);
        let fc = lines[8];
        assert_eq!(&fc[1..7], "000002", "two batches");
        assert_eq!(&fc[7..13], "000001", "nine records, one block");
        assert_eq!(&fc[13..21], "00000003");
        assert_eq!(&fc[21..31], "0016800985");
        assert_eq!(&fc[43..55], "000000003500");
    }

    #[test]
    fn blocks_and_padding() {
        assert_eq!(record_count(1, 6), 10);
        assert_eq!(padding(record_count(1, 6)), 0);
        assert_eq!(block_count(record_count(1, 6)), 1);
        assert_eq!(padding(record_count(1, 7)), 9);
        assert_eq!(block_count(record_count(1, 7)), 2);
        assert_eq!(record_count(2, 4), 10);
        assert_eq!(padding(record_count(0, 0)), 8);
    }

    #[test]
    fn entry_hash_keeps_ten_digits() {
        let t = Totals { entry_count: 1, entry_hash: 123_456_789_012, total_credit_cents: 1 };
        assert_eq!(t.hash10(), 3_456_789_012);
    }
}
