//! Benchmark: many slow uploads at once (run it through `tests/bench/trickle.sh`).
//!
//! Against a running `redress` server (its address and process id given), it measures
//! `GET /report` latency on the idle server, then opens N uploads that send a report and
//! then a file at a Tor-like trickle, and while they run measures `GET /report` again
//! and samples the server's resident memory. It prints both latency figures side by
//! side, the server's peak RSS, the memory per upload, and how many uploads the server
//! refused or dropped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Args {
    addr: String,
    pid: u32,
    uploads: usize,
    /// Bytes a second each upload sends.
    rate: u64,
    seconds: u64,
    probes: usize,
}

fn args() -> Args {
    let mut a = Args {
        addr: String::new(),
        pid: 0,
        uploads: 1000,
        rate: 2048,
        seconds: 60,
        probes: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => a.addr = value(),
            "--pid" => a.pid = value().parse().unwrap(),
            "--uploads" => a.uploads = value().parse().unwrap(),
            "--rate" => a.rate = value().parse().unwrap(),
            "--seconds" => a.seconds = value().parse().unwrap(),
            "--probes" => a.probes = value().parse().unwrap(),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        !a.addr.is_empty() && a.pid != 0,
        "--addr HOST:PORT and --pid PID are required"
    );
    a
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `GET /report`, `n` times one after another; returns (p50, p99) in milliseconds.
async fn probe(addr: &str, n: usize) -> (f64, f64) {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/report");
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let res = client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

/// One upload: the API's report part, then a file, sent at `rate` until `until`.
/// Returns true if the server answered (refused or dropped it) before the end.
async fn trickle(addr: String, rate: u64, until: Instant, sent: Arc<AtomicU64>) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else {
        return true;
    };
    let report = r#"{"product":"mobile-implant","targeted":["journalist"],"what_happened":"A slow upload over a slow circuit.","ongoing":"unknown"}"#;
    let head = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 100000000\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"report\"\r\nContent-Type: application/json\r\n\r\n{report}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"evidence\"; filename=\"slow.bin\"\r\n\r\n"
    );
    if s.write_all(head.as_bytes()).await.is_err() {
        return true;
    }
    // Four writes a second, as a circuit delivers cells in bursts.
    let chunk = vec![b'z'; usize::try_from(rate / 4).unwrap().max(1)];
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut answer = [0u8; 512];
    while Instant::now() < until {
        tokio::select! {
            _ = tick.tick() => {
                if s.write_all(&chunk).await.is_err() {
                    return true;
                }
                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            read = s.read(&mut answer) => {
                let _ = read;
                return true; // any answer before the end is a refusal or a drop
            }
        }
    }
    false
}

#[tokio::main]
async fn main() {
    let a = args();
    let idle_rss = status_kib(a.pid, "VmRSS:");
    let (idle_p50, idle_p99) = probe(&a.addr, a.probes).await;

    let start = Instant::now();
    let until = start + Duration::from_secs(a.seconds);
    let sent = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(a.uploads);
    // Open them over the first tenth of the run, as arrivals would.
    let ramp = Duration::from_secs(a.seconds) / 10;
    for i in 0..a.uploads {
        let (addr, sent, refused) = (a.addr.clone(), Arc::clone(&sent), Arc::clone(&refused));
        let delay = ramp.mul_f64(i as f64 / a.uploads as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if trickle(addr, a.rate, until, sent).await {
                refused.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let pid = a.pid;
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        while Instant::now() < until {
            peak = peak.max(status_kib(pid, "VmRSS:"));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        peak
    });
    tokio::time::sleep(ramp + Duration::from_secs(2)).await;
    let (busy_p50, busy_p99) = probe(&a.addr, a.probes).await;
    for t in tasks {
        t.await.unwrap();
    }
    let peak_rss = sampler.await.unwrap();
    let hwm = status_kib(a.pid, "VmHWM:");

    let uploads = a.uploads;
    let refused = refused.load(Ordering::Relaxed);
    let per_upload = (peak_rss.saturating_sub(idle_rss)) as f64 / uploads as f64;
    println!("uploads: {uploads} at {} B/s each for {} s", a.rate, a.seconds);
    println!(
        "  refused or dropped before the end: {refused}; sent {:.1} MiB in all",
        sent.load(Ordering::Relaxed) as f64 / 1048576.0
    );
    println!("GET /report, {} requests each (ms):", a.probes);
    println!("  idle server:           p50 {idle_p50:7.2}  p99 {idle_p99:7.2}");
    println!("  during the uploads:    p50 {busy_p50:7.2}  p99 {busy_p99:7.2}");
    println!("server RSS (MiB):");
    println!(
        "  idle {:.1}, peak while uploading {:.1}, high-water mark {:.1}",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!("  per upload: {per_upload:.0} KiB");
}
