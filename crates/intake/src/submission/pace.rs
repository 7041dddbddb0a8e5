//! How fast an upload must keep coming.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::SubmitError;

/// Keeps an upload moving, so a slow or stalled client cannot hold a place in the door
/// for long: no gap longer than `idle`; at least `min_rate` bytes a second in every
/// `window` (measured per window, so a fast start cannot buy a long trickle); and the
/// whole upload done within `max_duration`.
pub(super) struct Pace {
    started: Instant,
    window_start: Instant,
    window_bytes: u64,
    idle: Duration,
    min_rate: u64,
    window: Duration,
    max_duration: Duration,
}

impl Pace {
    pub(super) fn new(l: &crate::IntakeLimits) -> Self {
        let now = Instant::now();
        Self {
            started: now,
            window_start: now,
            window_bytes: 0,
            idle: l.idle_timeout,
            min_rate: l.min_rate_bytes_per_sec,
            window: l.min_rate_window,
            max_duration: l.max_upload_duration,
        }
    }

    pub(super) fn count(&mut self, bytes: usize) {
        self.window_bytes += bytes as u64;
    }

    /// The stream's next item, or `TooSlow` if the client broke the pace.
    pub(super) async fn next<S, T, E>(&mut self, stream: &mut S) -> Result<Option<Result<T, E>>, SubmitError>
    where
        S: futures_util::Stream<Item = Result<T, E>> + Unpin,
    {
        let item = tokio::time::timeout(self.idle, stream.next())
            .await
            .map_err(|_| SubmitError::TooSlow)?;
        let now = Instant::now();
        if now.duration_since(self.started) > self.max_duration {
            return Err(SubmitError::TooSlow);
        }
        let in_window = now.duration_since(self.window_start);
        if in_window >= self.window {
            if self.window_bytes < self.min_rate.saturating_mul(in_window.as_secs()) {
                return Err(SubmitError::TooSlow);
            }
            self.window_start = now;
            self.window_bytes = 0;
        }
        Ok(item)
    }
}
