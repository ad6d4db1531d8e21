//! A log-linear latency histogram in the manner of HdrHistogram: fixed
//! memory, no allocation when recording, mergeable across threads.
//!
//! Values (nanoseconds) below 256 have a bucket each; above, every power of two
//! is split into 128 equal buckets, so a bucket is never wider than 1/128 of
//! its lower bound: a percentile is exact to within 0.8 %, over the whole range
//! of `u64`. That is 7,424 buckets (58 KiB) per histogram, allocated once.

/// Bits of linear sub-buckets: values below `1 << SUB_BITS` are exact.
const SUB_BITS: u32 = 8;
/// Values below this have a bucket each.
const SUB: u64 = 1 << SUB_BITS;
/// Buckets per power of two above `SUB`.
const HALF: u64 = SUB / 2;
/// Every `u64` has a bucket.
const BUCKETS: usize = (SUB + (64 - SUB_BITS as u64) * HALF) as usize;

/// Counts of values (nanoseconds of latency) in log-linear buckets.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram (allocates its buckets once, here).
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            max: 0,
        }
    }

    /// Counts `value`; never allocates.
    #[inline]
    pub fn record(&mut self, value: u64) {
        self.counts[index(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    /// Adds every count of `other` to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// How many values were recorded.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether no value was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The largest value recorded (0 if none).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0.5 for the median, 0.999 for p99.9): the
    /// highest value of the bucket that holds the `ceil(q × len)`-th smallest
    /// value, never above the largest recorded (0 if empty).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return highest(i).min(self.max);
            }
        }
        self.max
    }
}

/// The bucket of `value`.
#[inline]
fn index(value: u64) -> usize {
    if value < SUB {
        value as usize
    } else {
        let msb = 63 - value.leading_zeros();
        // `value >> shift` lies in [HALF, SUB).
        let shift = u64::from(msb - (SUB_BITS - 1));
        (SUB + (shift - 1) * HALF + ((value >> shift) - HALF)) as usize
    }
}

/// The highest value that falls in bucket `i`.
fn highest(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        i
    } else {
        let k = i - SUB;
        let shift = k / HALF + 1;
        let sub = k % HALF + HALF;
        (sub << shift) + ((1 << shift) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_u64() {
        assert_eq!(index(0), 0);
        assert_eq!(index(255), 255);
        assert_eq!(index(256), 256);
        assert_eq!(index(u64::MAX), BUCKETS - 1);
        assert_eq!(highest(BUCKETS - 1), u64::MAX);
        for i in 0..BUCKETS - 1 {
            let top = highest(i);
            assert_eq!(index(top), i, "top of bucket {i}");
            assert_eq!(index(top + 1), i + 1, "above bucket {i}");
        }
    }

    #[test]
    fn error_is_below_one_percent() {
        for value in [300_u64, 1_000, 25_123, 999_999, 12_345_678_901] {
            let top = highest(index(value));
            assert!(top >= value && (top - value) as f64 / value as f64 <= 1.0 / 128.0);
        }
    }

    #[test]
    fn quantiles_and_merge() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        for v in 1..=500 {
            a.record(v * 1_000);
        }
        for v in 501..=1_000 {
            b.record(v * 1_000);
        }
        a.merge(&b);
        assert_eq!(a.len(), 1_000);
        assert_eq!(a.max(), 1_000_000);
        let near = |got: u64, want: u64| got >= want && got - want <= want / 128;
        assert!(near(a.quantile(0.5), 500_000), "{}", a.quantile(0.5));
        assert!(near(a.quantile(0.99), 990_000), "{}", a.quantile(0.99));
        assert_eq!(a.quantile(1.0), 1_000_000);
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }
}
