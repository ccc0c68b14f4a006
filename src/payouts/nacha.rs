//! The NACHA ACH file layout for PPD credits, as pure functions: 94-character records
//! 1 (file header), 5 (batch header), 6 (entry detail), 8 (batch control) and 9 (file
//! control), blocked by ten with lines of nines. One batch per file.

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

/// Alphanumeric field: upper-case printable ASCII, left-justified, space-filled, cut.
pub fn alpha(value: &str, len: usize) -> String {
    let mut out: String = value
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

/// Record 5: PPD credits.
pub fn batch_header(o: &NachaOriginator, descriptive: NaiveDate, effective: NaiveDate, batch_number: u64) -> String {
    let r = format!(
        "5{class}{company}{discretionary}{company_id}PPD{description}{descriptive}{effective}   1{odfi}{batch}",
        class = SERVICE_CLASS_CREDITS,
        company = alpha(&o.company_name, 16),
        discretionary = alpha("", 20),
        company_id = alpha(&o.company_id, 10),
        description = alpha(&o.entry_description, 10),
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

/// Running control totals of one batch.
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

/// Records in a one-batch file with `entries` entries: 1, 5, entries, 8, 9.
pub fn record_count(entries: u64) -> u64 {
    entries + 4
}

pub fn block_count(records: u64) -> u64 {
    records.div_ceil(BLOCKING_FACTOR)
}

/// Record 9 for a file of one batch.
pub fn file_control(t: &Totals) -> String {
    let r = format!(
        "9{batches}{blocks}{count}{hash}{debit}{credit}{reserved}",
        batches = numeric(1, 6),
        blocks = numeric(block_count(record_count(t.entry_count)), 6),
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

/// Writes a one-batch PPD credit file record by record, so a caller can stream it:
/// [`NachaWriter::start`], then [`NachaWriter::entry`] per credit, then
/// [`NachaWriter::finish`]. Every record ends with `\n`.
pub struct NachaWriter<'a> {
    o: &'a NachaOriginator,
    totals: Totals,
    batch_number: u64,
}

impl<'a> NachaWriter<'a> {
    /// The writer and the file and batch headers. `created` is fixed by the caller
    /// (the batch's approval time) so a re-export is byte-identical.
    pub fn start(
        o: &'a NachaOriginator,
        created: NaiveDateTime,
        effective: NaiveDate,
        batch_number: u64,
    ) -> (Self, String) {
        let head =
            format!("{}\n{}\n", file_header(o, created), batch_header(o, created.date(), effective, batch_number));
        (Self { o, totals: Totals::default(), batch_number }, head)
    }

    pub fn entry(&mut self, e: &Entry<'_>) -> String {
        self.totals.add(e);
        format!("{}\n", entry(self.o, e, self.totals.entry_count))
    }

    pub fn totals(&self) -> Totals {
        self.totals
    }

    pub fn finish(self) -> String {
        let mut out =
            format!("{}\n{}\n", batch_control(self.o, &self.totals, self.batch_number), file_control(&self.totals));
        for _ in 0..padding(record_count(self.totals.entry_count)) {
            out.push_str(&"9".repeat(RECORD_LEN));
            out.push('\n');
        }
        out
    }
}

/// The effective entry date: the next banking day after `day` (weekends and Federal
/// Reserve holidays skipped; banks settle the file then).
pub fn next_business_day(day: NaiveDate) -> NaiveDate {
    crate::calendar::next_business_day(day)
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
        assert_eq!(alpha("é1", 3), " 1 ");
        assert_eq!(numeric(42, 6), "000042");
        assert_eq!(numeric(12_345_678_901, 10), "2345678901");
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
    fn batch_header_is_ppd_credits() {
        let d = created().date();
        let r = batch_header(&originator(), d, next_business_day(d), 1);
        assert_eq!(r.len(), 94);
        assert_eq!(&r[0..4], "5220");
        assert_eq!(r[4..20].trim_end(), "GATEHOUSE");
        assert_eq!(&r[40..50], "1000000000");
        assert_eq!(&r[50..53], "PPD");
        assert_eq!(r[53..63].trim_end(), "PAYOUT");
        assert_eq!(&r[69..75], "261123", "Friday's file is effective on Monday");
        assert_eq!(&r[78..79], "1");
        assert_eq!(&r[79..87], "02100002");
        assert_eq!(&r[87..94], "0000001");
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
        assert_eq!(r[54..76].trim_end(), "ANA MAR A O'NEIL");
        assert_eq!(&r[78..79], "0");
        assert_eq!(&r[79..94], "021000020000007");
        e.account_type = AccountType::Savings;
        assert_eq!(&entry(&originator(), &e, 1)[1..3], "32");
    }

    #[test]
    fn controls_total_and_hash_the_entries() {
        let o = originator();
        let (mut w, head) = NachaWriter::start(&o, created(), next_business_day(created().date()), 1);
        let mut body = head;
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
    fn blocks_and_padding() {
        assert_eq!(padding(record_count(6)), 0);
        assert_eq!(block_count(record_count(6)), 1);
        assert_eq!(padding(record_count(7)), 9);
        assert_eq!(block_count(record_count(7)), 2);
        assert_eq!(padding(record_count(0)), 6);
    }

    #[test]
    fn entry_hash_keeps_ten_digits() {
        let t = Totals { entry_count: 1, entry_hash: 123_456_789_012, total_credit_cents: 1 };
        assert_eq!(t.hash10(), 3_456_789_012);
    }
}
