//! Latency figures: samples go into an HDR histogram (microseconds, three significant figures)
//! and come out as percentiles in milliseconds, so every figure in the reports is read the same
//! way and to the same precision.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Recorded durations.
#[derive(Clone)]
pub struct Latencies(Histogram<u64>);

/// The longest duration told apart from longer ones: an hour, in microseconds.
const HIGHEST_US: u64 = 3_600_000_000;

impl Default for Latencies {
    fn default() -> Self {
        Self(
            Histogram::new_with_bounds(1, HIGHEST_US, 3)
                .expect("1 µs to an hour at three significant figures is a valid range"),
        )
    }
}

impl Latencies {
    /// Records one duration (at least a microsecond, at most an hour).
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        self.0.saturating_record(us);
    }

    /// How many durations were recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `p`-th percentile (0..=100) in milliseconds; NaN when empty.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.is_empty() {
            return f64::NAN;
        }
        ms(self.0.value_at_quantile(p / 100.0))
    }

    /// The median in milliseconds; NaN when empty.
    pub fn median(&self) -> f64 {
        self.percentile(50.0)
    }

    /// The largest duration in milliseconds; NaN when empty.
    pub fn max(&self) -> f64 {
        if self.is_empty() {
            return f64::NAN;
        }
        ms(self.0.max())
    }

    /// The smallest duration in milliseconds; NaN when empty.
    pub fn min(&self) -> f64 {
        if self.is_empty() {
            return f64::NAN;
        }
        ms(self.0.min())
    }

    /// Adds another set of durations to this one.
    pub fn merge(&mut self, other: &Latencies) {
        // Both have the same range, so adding cannot run out of it.
        let _ = self.0.add(&other.0);
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b * 0.001
    }

    #[test]
    fn percentiles_are_nearest_rank_to_three_significant_figures() {
        let mut l = Latencies::default();
        for n in 1..=10 {
            l.record(Duration::from_millis(n));
        }
        assert!(close(l.median(), 5.0), "{}", l.median());
        assert!(close(l.percentile(99.0), 10.0), "{}", l.percentile(99.0));
        assert!(close(l.min(), 1.0) && close(l.max(), 10.0));
        assert_eq!(l.len(), 10);
    }

    #[test]
    fn an_empty_set_has_no_percentiles() {
        let l = Latencies::default();
        assert!(l.median().is_nan() && l.max().is_nan() && l.min().is_nan());
    }

    #[test]
    fn merged_sets_count_every_sample() {
        let (mut a, mut b) = (Latencies::default(), Latencies::default());
        a.record(Duration::from_millis(1));
        b.record(Duration::from_secs(40));
        a.merge(&b);
        assert_eq!(a.len(), 2);
        assert!(close(a.max(), 40_000.0), "{}", a.max());
    }
}
