//! An encrypted scratch file: written once, read back once, gone when dropped.
//!
//! For output that must be complete before it is sent, such as an export file whose
//! hash goes out in a header ahead of its body: written while it is generated, then
//! streamed back, in constant memory. The file is anonymous (`O_TMPFILE` where the
//! filesystem offers it, otherwise created and unlinked at once), so nothing is left
//! on disk after a crash, and it is encrypted with AES-256-GCM under a key that only
//! this process holds in memory, so what reaches the disk (bank details, for one) is
//! unreadable. Chunks of 64 KiB are sealed one by one, each with its number and a
//! last-chunk flag in the nonce, so a reordered, truncated or altered file fails to
//! read instead of yielding other bytes.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

fn nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_be_bytes());
    n[8] = u8::from(last);
    n
}

fn sealing_failed(_: aes_gcm::Error) -> io::Error {
    io::Error::other("spool: a chunk failed to seal or open (corrupted scratch file?)")
}

/// The writing end: plaintext in, sealed chunks out to the scratch file.
pub struct SpoolWriter {
    cipher: Aes256Gcm,
    file: BufWriter<File>,
    plain: Vec<u8>,
    counter: u64,
}

impl SpoolWriter {
    /// A new, empty spool in `dir` (which must exist) under a fresh random key.
    pub fn create(dir: &Path) -> io::Result<Self> {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Ok(Self {
            cipher: Aes256Gcm::new(&key.into()),
            file: BufWriter::with_capacity(CHUNK + TAG + 4, tempfile::tempfile_in(dir)?),
            plain: Vec::with_capacity(CHUNK),
            counter: 0,
        })
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce(self.counter, last)), self.plain.as_slice())
            .map_err(sealing_failed)?;
        self.file.write_all(&(sealed.len() as u32).to_be_bytes())?;
        self.file.write_all(&sealed)?;
        self.plain.clear();
        self.counter += 1;
        Ok(())
    }

    /// Seals the last chunk and turns the spool around for reading from the start.
    pub fn finish(mut self) -> io::Result<SpoolReader> {
        self.seal(true)?;
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(SpoolReader {
            cipher: self.cipher,
            file: BufReader::with_capacity(CHUNK + TAG + 4, file),
            counter: 0,
            done: false,
        })
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(CHUNK - self.plain.len());
        self.plain.extend_from_slice(&buf[..n]);
        if self.plain.len() == CHUNK {
            self.seal(false)?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reading end: the plaintext back, a chunk at a time, checked.
pub struct SpoolReader {
    cipher: Aes256Gcm,
    file: BufReader<File>,
    counter: u64,
    done: bool,
}

impl SpoolReader {
    /// The next chunk of plaintext (at most 64 KiB; the last one may be empty), or
    /// `None` after the last chunk. A missing last chunk is an error, not an end.
    pub fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut len = [0u8; 4];
        self.file.read_exact(&mut len)?;
        let len = u32::from_be_bytes(len) as usize;
        if !(TAG..=CHUNK + TAG).contains(&len) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "spool: bad chunk length"));
        }
        let mut sealed = vec![0u8; len];
        self.file.read_exact(&mut sealed)?;
        // The last chunk is the one that opens with the last-chunk flag set.
        let plain = match self.cipher.decrypt(Nonce::from_slice(&nonce(self.counter, false)), sealed.as_slice()) {
            Ok(p) => p,
            Err(_) => {
                let p = self
                    .cipher
                    .decrypt(Nonce::from_slice(&nonce(self.counter, true)), sealed.as_slice())
                    .map_err(sealing_failed)?;
                self.done = true;
                p
            }
        };
        self.counter += 1;
        Ok(Some(plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(data: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SpoolWriter::create(dir.path()).unwrap();
        // Odd write sizes, across chunk boundaries.
        for piece in data.chunks(7_777) {
            w.write_all(piece).unwrap();
        }
        let mut r = w.finish().unwrap();
        let mut out = Vec::new();
        while let Some(chunk) = r.next_chunk().unwrap() {
            out.extend_from_slice(&chunk);
        }
        assert!(r.next_chunk().unwrap().is_none());
        // Anonymous: nothing was left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        out
    }

    #[test]
    fn gives_back_what_was_written() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
        assert_eq!(roundtrip(&data), data);
        assert_eq!(roundtrip(&data[..CHUNK]), &data[..CHUNK]);
        assert_eq!(roundtrip(b""), b"");
    }

    #[test]
    fn the_disk_holds_ciphertext_only_and_a_truncated_spool_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SpoolWriter::create(dir.path()).unwrap();
        let secret = b"routing 021000021 account 123456789 ".repeat(4_000);
        w.write_all(&secret).unwrap();
        let r = w.finish().unwrap();
        let mut file = r.file.into_inner();
        let mut on_disk = Vec::new();
        file.read_to_end(&mut on_disk).unwrap();
        assert!(!on_disk.windows(9).any(|w| w == b"123456789"));

        // Drop the last chunk: reading must fail, not end early.
        let dir = tempfile::tempdir().unwrap();
        let mut w = SpoolWriter::create(dir.path()).unwrap();
        w.write_all(&secret).unwrap();
        let mut r = w.finish().unwrap();
        let full = r.file.get_ref().metadata().unwrap().len();
        let last_len = {
            let mut sizes = Vec::new();
            while let Some(c) = r.next_chunk().unwrap() {
                sizes.push(c.len());
            }
            sizes.last().copied().unwrap() as u64 + TAG as u64 + 4
        };
        let file = r.file.into_inner();
        file.set_len(full - last_len).unwrap();
        let mut file = file;
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut r = SpoolReader { cipher: r.cipher, file: BufReader::new(file), counter: 0, done: false };
        let mut failed = false;
        loop {
            match r.next_chunk() {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "a spool without its last chunk must not read as complete");
    }
}
