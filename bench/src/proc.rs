//! What `/proc` says of a process: its CPU time.

use std::fs;
use std::io;

/// Linux reports the times of `/proc/<pid>/stat` in `USER_HZ` ticks, which
/// are 1/100 s whatever the kernel's own tick.
const TICKS_PER_SECOND: u64 = 100;

/// CPU time a process has used, its own threads' and its reaped children's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// User time, in microseconds.
    pub user_us: u64,
    /// System time, in microseconds.
    pub system_us: u64,
}

impl CpuTime {
    /// The time used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user_us: self.user_us.saturating_sub(earlier.user_us),
            system_us: self.system_us.saturating_sub(earlier.system_us),
        }
    }
}

/// The CPU time of process `pid` so far: `utime + cutime` and `stime + cstime`
/// of `/proc/<pid>/stat` (children count once reaped, so a forking server's
/// children are in).
///
/// # Errors
///
/// When the file cannot be read (the process is gone) or parsed.
pub fn cpu_time(pid: u32) -> io::Result<CpuTime> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, in parentheses, may hold spaces: the fields that
    // follow its last `)` start with field 3 (the state).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other(format!("cannot parse /proc/{pid}/stat")))?;
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // Fields 14 to 17 (utime, stime, cutime, cstime), counted from field 4.
    let field = |n: usize| fields.get(n - 4).copied().unwrap_or(0);
    let to_us = |ticks: u64| ticks * 1_000_000 / TICKS_PER_SECOND;
    Ok(CpuTime {
        user_us: to_us(field(14) + field(16)),
        system_us: to_us(field(15) + field(17)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu() {
        // At least one tick (10 ms) of work.
        let mut spent = 0u64;
        for i in 0..50_000_000u64 {
            spent = std::hint::black_box(spent.wrapping_add(i * i));
        }
        assert!(spent > 0);
        let time = cpu_time(std::process::id()).unwrap();
        assert!(time.user_us + time.system_us > 0, "{time:?}");
    }
}
