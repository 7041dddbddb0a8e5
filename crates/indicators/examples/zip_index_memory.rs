//! Peak memory of scanning an archive of a million empty entries the way the triage worker
//! does (`IndicatorSet::scan_file` with `ScanLimits::default()`). Linux only: it reads
//! `VmRSS` and `VmHWM` from `/proc/self/status`.
//!
//! ```text
//! cargo run --release -p redress-indicators --example zip_index_memory
//! ```

use std::error::Error;
use std::time::Instant;

use redress_indicators::{IndicatorSet, ScanLimits};

// The tests use the record offsets too; this program needs only the bytes.
#[allow(dead_code)]
#[path = "../tests/indicators/synthetic_zip.rs"]
mod synthetic_zip;

const ENTRIES: u32 = 1_000_000;
const BUNDLE: &[u8] = include_bytes!("../tests/fixtures/synthetic-bundle.json");

fn main() -> Result<(), Box<dyn Error>> {
    let now = time::OffsetDateTime::from_unix_timestamp(1_740_000_000)?;
    let (set, _) = IndicatorSet::from_bundles(&[BUNDLE], now)?;
    let archive = synthetic_zip::empty_entries(ENTRIES, false).bytes;
    let before = status_kib("VmRSS")?;

    let started = Instant::now();
    let scan = set.scan_file("million.zip", &archive, &ScanLimits::default());
    let elapsed = started.elapsed();

    let peak = status_kib("VmHWM")?;
    println!("archive: {ENTRIES} empty entries, {} bytes", archive.len());
    println!(
        "scan: {:.2?}, {} parts scanned, {} skipped",
        elapsed,
        scan.scanned.len(),
        scan.skipped.len()
    );
    for skipped in scan.skipped.iter().filter(|s| s.path.len() == 1) {
        println!("  {}: {}", skipped.path.join(" / "), skipped.reason);
    }
    println!("RSS before the scan (archive built): {} MiB", before / 1024);
    println!("peak RSS (VmHWM):                    {} MiB", peak / 1024);
    Ok(())
}

/// A `/proc/self/status` field given in kB.
fn status_kib(field: &str) -> Result<u64, Box<dyn Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .ok_or_else(|| format!("no {field} in /proc/self/status"))?;
    let kib = line.trim().trim_end_matches("kB").trim().parse()?;
    Ok(kib)
}
